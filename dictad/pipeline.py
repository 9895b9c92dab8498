"""One dictation's trip, from its audio to the window: transcript, replacements and cleanup,
delivery, history.

:func:`take_trip` is the whole trip in one function. The daemon's worker calls it for one
dictation at a time; a test calls it with no thread at all. It emits each stage's event as
the stage ends (``transcribed``, ``cleaned``, ``injected``, or ``discarded``), so that the
event log times every stage, and returns a :class:`Trip` that says what happened. It leaves
the daemon's state alone: the daemon reads the trip (an undelivered text shows as an error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from dictad.cleanup import Cleaner
from dictad.replacements import Replacer
from dictad.transcriber import Transcript

if TYPE_CHECKING:
    from dictad.inject import Delivery

log = logging.getLogger(__name__)

Outcome = Literal["no_speech", "nothing_left", "delivered", "undelivered"]


@dataclass(frozen=True)
class Dictation:
    raw: str
    """The transcript as the recogniser heard it."""
    text: str
    """What the user gets: replacements applied, then cleaned."""
    cleaner: str
    fallback_reason: str | None = None


def finish_transcript(raw: str, replace_words: Replacer, cleaner: Cleaner) -> Dictation:
    """Replacements, then cleanup: what ``dictad transcribe``, ``dictad clean`` and every dictation do."""
    if not raw.strip():
        return Dictation(raw, "", cleaner.name)
    cleaned = cleaner.clean(replace_words(raw))
    return Dictation(raw, cleaned.text, cleaned.cleaner, cleaned.fallback_reason)


class SpeechToText(Protocol):
    def transcribe(self, audio: np.ndarray) -> Transcript: ...


class Drafts(Protocol):
    """A transcription begun while the dictation was recorded (dictad.streaming)."""

    def finish(self, audio: np.ndarray) -> Transcript: ...


@dataclass(frozen=True)
class Stages:
    """What a trip passes through: the daemon builds it over the live settings and the desktop."""

    transcriber: SpeechToText
    finish: Callable[[str], Dictation]
    """Replacements and cleanup."""
    deliver: Callable[[str], Delivery]
    """Into the focused window; never raises (a failure is in the Delivery)."""
    remember: Callable[[Trip], str | None]
    """Keeps the trip in the history; returns why it could not, if it could not."""
    emit: Callable[..., None]
    """An event for the event log: ``emit(name, **fields)``."""


@dataclass(frozen=True)
class Trip:
    """What happened to one dictation."""

    audio_seconds: float
    raw: str = ""
    text: str = ""
    cleaner: str = ""
    fallback_reason: str | None = None
    """Why the configured cleaner's text was not used, when it was not."""
    delivery: Delivery | None = None
    """How the text went in, or why not; None when there was nothing to deliver."""
    from_draft: bool = False
    """The text was ready at release: decoded while the dictation was recorded."""
    transcribe_s: float = 0.0
    clean_s: float = 0.0
    deliver_s: float = 0.0
    """Includes waiting for the hotkey to come up."""
    not_kept: str | None = None
    """Why the history could not keep it, when it could not."""

    @property
    def outcome(self) -> Outcome:
        if not self.raw:
            return "no_speech"
        if self.delivery is None:
            return "nothing_left"
        return "delivered" if self.delivery.delivered else "undelivered"


def take_trip(audio: np.ndarray, stages: Stages, drafts: Drafts | None = None) -> Trip:
    """Take one recorded dictation (float32, 16 kHz) all the way: ``drafts`` is what was decoded
    while it was recorded, if anything."""
    started = time.perf_counter()
    transcript = transcribe(audio, stages.transcriber, drafts)
    trip = Trip(transcript.audio_seconds, raw=transcript.text, from_draft=transcript.from_draft,
                transcribe_s=_since(started))
    stages.emit("transcribed", seconds=round(trip.transcribe_s, 3), chars=len(transcript.text),
                from_draft=transcript.from_draft, pieces=transcript.pieces)
    log.debug("transcript: %r", transcript.text)
    if not transcript.text:
        stages.emit("discarded", reason="no_speech")
        return trip
    started = time.perf_counter()
    dictation = stages.finish(transcript.text)
    trip = replace(trip, text=dictation.text, cleaner=dictation.cleaner, fallback_reason=dictation.fallback_reason,
                   clean_s=_since(started))
    stages.emit("cleaned", cleaner=dictation.cleaner, fallback_reason=dictation.fallback_reason,
                chars=len(dictation.text))
    if not dictation.text:
        return trip
    started = time.perf_counter()
    delivery = stages.deliver(dictation.text)
    trip = replace(trip, delivery=delivery, deliver_s=_since(started))
    trip = replace(trip, not_kept=stages.remember(trip))
    if delivery.delivered:
        stages.emit("injected", method=delivery.method, chars=len(dictation.text))
    return trip


def transcribe(audio: np.ndarray, transcriber: SpeechToText, drafts: Drafts | None) -> Transcript:
    """The text of ``audio``: from the drafts when there are any, else decoded whole. Drafts are
    speculative work: when they fail, the whole recording is decoded instead."""
    if drafts is not None:
        try:
            return drafts.finish(audio)
        except Exception:
            log.exception("transcribing while recording failed at release; transcribing the whole recording")
    return transcriber.transcribe(audio)


def _since(started: float) -> float:
    return time.perf_counter() - started

