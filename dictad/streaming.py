"""Transcribing a dictation while it is recorded, so the text is ready when the key comes up.

Speech usually ends a moment before the key comes up. Each time the speaker pauses, the speech
so far is decoded: a *draft*. When the key comes up during that pause, the draft is the answer
and nothing is left to decode. When the speaker goes on after a pause long enough to cut at, a
draft of a few seconds is *committed*: later passes decode only the audio after it, so what
is left to decode at release is at most the last phrase.

A draft is used only when its audio is identical to what release would decode, so streaming
changes when the text is ready, never what it is.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dictad.transcriber import SAMPLE_RATE, VAD_WINDOW, Transcript

log = logging.getLogger(__name__)

SPEECH_THRESHOLD = 0.5
"""Silero VAD's usual threshold: a window above it is speech."""
TRAILING_SILENCE_S = 0.2
"""Kept after the last speech; decoding stops there. bench/window.py: WER as for the whole clip."""
LEADING_SILENCE_S = 0.3
"""Kept before the first speech; decoding starts there. Longer silence before a phrase made
tiny.en mishear it, and a dictation is only cut in a pause that leaves this much before the next."""
COMMIT_AFTER_S = 6.0
"""Shorter drafts are decoded again with what follows: they are cheap to decode, and Whisper
heard short phrases cut off from what followed them worse than the whole (bench/streaming.py)."""


class SpeechDecoder(Protocol):
    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray: ...
    def decode(self, audio: np.ndarray) -> str: ...


class GrowingRecording(Protocol):
    def wait_for_audio(self) -> bool: ...
    def snapshot(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Span:
    """The part of the audio to decode: its speech, with a little silence around it."""

    start: int
    end: int
    complete: bool
    """All the trailing silence is there: the speech has ended, unless it starts again."""


@dataclass(frozen=True)
class Draft:
    span: Span
    audio: np.ndarray
    """Exactly the audio that was decoded."""
    text: str


def speech_span(probabilities: np.ndarray, length: int) -> Span | None:
    """Where the speech in ``length`` samples is (``probabilities`` per VAD window); None if none."""
    speech = np.flatnonzero(probabilities > SPEECH_THRESHOLD)
    if len(speech) == 0:
        return None
    end = (int(speech[-1]) + 1) * VAD_WINDOW + int(TRAILING_SILENCE_S * SAMPLE_RATE)
    return Span(max(0, int(speech[0]) * VAD_WINDOW - int(LEADING_SILENCE_S * SAMPLE_RATE)), min(end, length),
                complete=end <= length)


def speech_resumes_at(probabilities: np.ndarray, after: int) -> int | None:
    """The first sample of the first speech at or after sample ``after``."""
    speech = np.flatnonzero(probabilities > SPEECH_THRESHOLD)
    speech = speech[speech * VAD_WINDOW >= after]
    return None if len(speech) == 0 else int(speech[0]) * VAD_WINDOW


class StreamingTranscription:
    """One dictation, transcribed as it grows: :meth:`update` while recording, :meth:`finish` once."""

    def __init__(self, decoder: SpeechDecoder, language: str | None = None):
        self._decoder = decoder
        self._language = language
        self._lock = threading.Lock()
        self._committed: list[str] = []
        self._committed_samples = 0
        self._draft: Draft | None = None

    def update(self, audio: np.ndarray) -> None:
        """Decode ahead if the speaker has paused since the last draft. ``audio`` is the recording
        so far; each call's audio begins with the previous call's."""
        with self._lock:
            region, span = self._uncommitted(audio)
            if span is None or not span.complete or (self._draft is not None and self._draft.span == span):
                return
            speech = region[span.start : span.end].copy()
            self._draft = Draft(span, speech, self._decoder.decode(speech))

    def speech_continues(self, audio: np.ndarray) -> bool:
        """Whether the recording ends in speech (or too soon after it to be sure it has ended)."""
        region = audio[self._committed_samples :]
        span = speech_span(self._decoder.speech_probabilities(region), len(region))
        return span is not None and not span.complete

    def finish(self, audio: np.ndarray) -> Transcript:
        """The text of the whole recording, as a fresh decode of ``audio`` would give it."""
        with self._lock:
            region, span = self._uncommitted(audio)
            tail, from_draft = "", False
            if span is not None:
                speech = region[span.start : span.end]
                from_draft = self._draft is not None and np.array_equal(self._draft.audio, speech)
                tail = self._draft.text if from_draft else self._decoder.decode(speech)
            text = " ".join(part for part in [*self._committed, tail] if part)
            return Transcript(text, len(audio) / SAMPLE_RATE, self._language, from_draft=from_draft)

    def _uncommitted(self, audio: np.ndarray) -> tuple[np.ndarray, Span | None]:
        """The audio after the committed part and its speech; commits the draft first when the
        speaker went on after a pause long enough to cut at."""
        region = audio[self._committed_samples :]
        probabilities = self._decoder.speech_probabilities(region)
        if self._draft_can_be_committed(region, probabilities):
            self._committed.append(self._draft.text)
            self._committed_samples += self._draft.span.end
            log.debug("committed %.2f s: %r", self._draft.span.end / SAMPLE_RATE, self._draft.text)
            self._draft = None
            region = audio[self._committed_samples :]
            probabilities = self._decoder.speech_probabilities(region)
        return region, speech_span(probabilities, len(region))

    def _draft_can_be_committed(self, region: np.ndarray, probabilities: np.ndarray) -> bool:
        draft = self._draft
        if draft is None or draft.span.end < COMMIT_AFTER_S * SAMPLE_RATE:
            return False
        resumed_at = speech_resumes_at(probabilities, after=draft.span.end)
        return (resumed_at is not None
                and resumed_at - draft.span.end >= LEADING_SILENCE_S * SAMPLE_RATE
                and np.array_equal(draft.audio, region[draft.span.start : draft.span.end]))


def transcribe_while_recording(recording: GrowingRecording, stream: StreamingTranscription) -> None:
    """The streaming thread's loop: look again at each block of new audio until the dictation ends.

    Speculative work must never cost the dictation: on a failure it stops, and release decodes.
    """
    try:
        while recording.wait_for_audio():
            stream.update(recording.snapshot())
    except Exception:
        log.exception("transcribing while recording failed; the dictation is transcribed at release")
