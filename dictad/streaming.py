"""Transcribing a dictation while it is recorded, so the text is ready when the key comes up.

Speech usually ends a moment before the key comes up. Each time the speaker pauses, the speech
so far is decoded ahead: a *draft*. When the key comes up during that pause, the draft is the
answer (if it is still being decoded, release waits for it rather than starting again). Where
drafts decode too slowly for that (see SLOW_DRAFT_S), a long draft is *committed* when the speaker
goes on after a pause long enough to cut at: later drafts decode only the audio after it, so what
is left to decode at release is at most the last phrase.

A draft is used only when its audio is identical to what release would decode, so a draft
changes when the text is ready, never what it is. Committing does change it: Whisper hears a
phrase cut off from what went before a little worse (see COMMIT_AFTER_S). Since whether a draft
commits depends on how long it took to decode, the same recording can come out committed on a
busy or slow machine and whole on a fast one. Drafts are decoded outside the lock: release never
waits for a draft of audio it does not need, though it may wait for the model to finish decoding
one (the model's decoders all hear each window at once: short_window.PHASES).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from dictad.transcriber import SAMPLE_RATE, Transcript
from dictad.vad import VAD_WINDOW

log = logging.getLogger(__name__)

SPEECH_THRESHOLD = 0.5
"""Silero VAD's usual threshold: a window above it is speech."""
TRAILING_SILENCE_S = 0.1
"""Kept after the last speech; decoding stops there, so a draft starts this long after the
speech ends. As accurate as 0.2 s (``python bench/window.py``)."""
LEADING_SILENCE_S = 0.4
"""Kept before the speech; decoding starts there, as faster-whisper's own VAD does. 0.3 s and
0.5 s both heard worse (``python bench/window.py --leading 0.3,0.4,0.5``)."""
COMMIT_AFTER_S = 8.0
COMMIT_PAUSE_S = 0.2
"""A draft of at least COMMIT_AFTER_S that was slow to decode (SLOW_DRAFT_S) is committed when the
speech resumes at least COMMIT_PAUSE_S after its end (a pause of 0.3 s with the trailing silence).
Shorter drafts are decoded again with what follows: Whisper hears a phrase cut off from what went
before it worse than the whole, so every commit costs a little accuracy, the more the earlier it
comes; shorter pauses cut too often. Re-measure with ``python bench/window.py`` and
``python bench/replay.py RUN.json --commit always|never``."""
SLOW_DRAFT_S = 0.3
"""A draft is committed only if decoding it took at least this long. People let go of the key
0.3 s or more after they stop speaking, and the last draft starts 0.1 s after the speech ends:
a dictation a third longer than a draft that took 0.3 s decodes in about 0.4 s, in time. Where
drafts decode faster, a long dictation is decoded whole, as accurately as batch; where slower,
committing keeps release fast (``python bench/replay.py RUN.json --min-seconds 12``)."""


class GrowingSpeechDetector(Protocol):
    def update(self, audio: np.ndarray, final: bool = False) -> np.ndarray: ...


class SpeechDecoder(Protocol):
    """The speech model, as dictad.transcriber.Transcriber offers it."""

    def speech_detector(self) -> GrowingSpeechDetector: ...
    def decode(self, audio: np.ndarray, full_windows_if: Callable[[], bool] = ...) -> str | None: ...
    def decode_in_full_windows(self, audio: np.ndarray) -> str: ...


class GrowingRecording(Protocol):
    def wait_for_audio(self) -> bool: ...
    def snapshot(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Span:
    """The part of the recording to decode (samples): its speech, with a little silence around it."""

    start: int
    end: int
    complete: bool
    """All the trailing silence has been heard: the speech has ended, unless it starts again."""


@dataclass
class Draft:
    """One decode started while recording."""

    span: Span
    audio: np.ndarray
    """Exactly the audio decoded."""
    decoded: threading.Event = field(default_factory=threading.Event)
    decode_s: float = 0.0
    """Once ``decoded``: how long decoding it took."""
    text: str | None = None
    """Once ``decoded``: the text, or None when the short window could not be trusted and the
    recording ended before the full windows were decoded."""


def speech_span(probabilities: np.ndarray, after: int = 0) -> Span | None:
    """Where the speech is after sample ``after`` (``probabilities`` per VAD window); None if none."""
    scored = len(probabilities) * VAD_WINDOW
    first_window = -(-after // VAD_WINDOW)
    speech = np.flatnonzero(probabilities[first_window:] > SPEECH_THRESHOLD) + first_window
    if len(speech) == 0:
        return None
    start = max(after, int(speech[0]) * VAD_WINDOW - int(LEADING_SILENCE_S * SAMPLE_RATE))
    end = (int(speech[-1]) + 1) * VAD_WINDOW + int(TRAILING_SILENCE_S * SAMPLE_RATE)
    return Span(start, min(end, scored), complete=end <= scored)


def speech_resumes_at(probabilities: np.ndarray, after: int) -> int | None:
    """The first sample of the first speech window at or after sample ``after``."""
    speech = np.flatnonzero(probabilities > SPEECH_THRESHOLD) * VAD_WINDOW
    speech = speech[speech >= after]
    return None if len(speech) == 0 else int(speech[0])


class StreamingTranscription:
    """One dictation, transcribed as it grows: :meth:`update` while recording, :meth:`finish` once.

    ``update`` is called from one thread (the streaming thread); ``speech_continues`` and
    ``finish`` from others, while an ``update`` may be decoding.
    """

    def __init__(self, decoder: SpeechDecoder, language: str | None = None):
        self._decoder = decoder
        self._language = language
        self._lock = threading.Lock()
        self._detector = decoder.speech_detector()
        self._committed: list[str] = []
        self._committed_end = 0
        self._draft: Draft | None = None
        self._recording = True

    def update(self, audio: np.ndarray) -> None:
        """Decode ahead if the speaker has paused since the last draft. ``audio`` is the recording
        so far; each call's audio begins with the previous call's."""
        with self._lock:
            if not self._recording:
                return
            span = self._uncommitted_span(audio)
            if span is None or not span.complete or (self._draft is not None and self._draft.span == span):
                return
            draft = self._draft = Draft(span, audio[span.start : span.end].copy())
        self._decode(draft)

    def _decode(self, draft: Draft) -> None:
        started = time.perf_counter()
        try:
            draft.text = self._decoder.decode(draft.audio, full_windows_if=lambda: self._recording)
        finally:
            draft.decode_s = time.perf_counter() - started
            draft.decoded.set()
        log.debug("drafted %.2f s of speech in %.3f s", len(draft.audio) / SAMPLE_RATE, draft.decode_s)

    @property
    def recording(self) -> bool:
        return self._recording

    def recording_ended(self) -> None:
        """No more drafts: the dictation was released or cancelled. The streaming thread stops at
        its next look, before the recorder has moved on to the next dictation's audio."""
        with self._lock:
            self._recording = False

    def speech_continues(self, audio: np.ndarray) -> bool:
        """Whether the recording ends in speech (or too soon after it to be sure it has ended)."""
        with self._lock:
            span = speech_span(self._probabilities(audio), after=self._committed_end)
        return span is not None and not span.complete

    def finish(self, audio: np.ndarray) -> Transcript:
        """The text of the whole recording, as a fresh decode of ``audio`` would give it."""
        with self._lock:
            self._recording = False
            span = self._uncommitted_span(audio, final=True)
            committed, draft = list(self._committed), self._draft
        tail, from_draft = "", False
        if span is not None:
            speech = audio[span.start : min(span.end, len(audio))]
            tail, from_draft = self._decode_at_release(speech, draft)
        text = " ".join(part for part in [*committed, tail] if part)
        return Transcript(text, len(audio) / SAMPLE_RATE, self._language, from_draft=from_draft,
                          pieces=len(committed) + 1)

    def _decode_at_release(self, speech: np.ndarray, draft: Draft | None) -> tuple[str, bool]:
        """The text of the last stretch of speech, and whether a draft had it (or was decoding it)."""
        if draft is not None and np.array_equal(draft.audio, speech):
            draft.decoded.wait()
            if draft.text is not None:
                return draft.text, True
            return self._decoder.decode_in_full_windows(speech), False  # its short window was not trusted
        return self._decoder.decode(speech), False

    def _uncommitted_span(self, audio: np.ndarray, final: bool = False) -> Span | None:
        """The speech after the committed part; commits the draft first when it was slow to decode
        and the speaker went on after a pause long enough to cut at."""
        probabilities = self._probabilities(audio, final)
        if self._draft_can_be_committed(audio, probabilities):
            draft = self._draft
            self._committed.append(draft.text)
            self._committed_end = draft.span.end
            self._draft = None
            log.debug("committed up to %.2f s: %r", draft.span.end / SAMPLE_RATE, draft.text)
        return speech_span(probabilities, after=self._committed_end)

    def _probabilities(self, audio: np.ndarray, final: bool = False) -> np.ndarray:
        """Speech probabilities of ``audio``'s windows; ``final`` scores a partial last window too.
        A snapshot older than one already scored gets only its own windows."""
        return self._detector.update(audio, final)[: -(-len(audio) // VAD_WINDOW)]

    def _draft_can_be_committed(self, audio: np.ndarray, probabilities: np.ndarray) -> bool:
        draft = self._draft
        if draft is None or not draft.decoded.is_set() or draft.text is None or draft.decode_s < SLOW_DRAFT_S \
                or draft.span.end - self._committed_end < COMMIT_AFTER_S * SAMPLE_RATE:
            return False
        resumed_at = speech_resumes_at(probabilities, after=draft.span.end)
        return (resumed_at is not None
                and resumed_at - draft.span.end >= COMMIT_PAUSE_S * SAMPLE_RATE
                and np.array_equal(draft.audio, audio[draft.span.start : draft.span.end]))


def transcribe_while_recording(recording: GrowingRecording, stream: StreamingTranscription) -> None:
    """The streaming thread's loop: look again at each block of new audio until the dictation ends.

    The recorder's audio is always the current dictation's; a draft still decoding when the key
    comes up and goes down again must not carry this stream on into the next dictation, so the
    stream's own end is checked too. Speculative work must never cost the dictation: on a failure
    it stops, and release decodes.
    """
    try:
        while stream.recording and recording.wait_for_audio():
            stream.update(recording.snapshot())
    except Exception:
        log.exception("transcribing while recording failed; the dictation is transcribed at release")
