"""Speech to text with faster-whisper: the model is loaded once, then fed float32 16 kHz arrays.

Silence must give nothing, never an invented "Thank you.": the bundled Silero VAD drops
non-speech before Whisper sees it, and Whisper's own no-speech and log-probability thresholds
drop what slips through.

Two ways to decode, and the :class:`Transcriber` chooses between them.
:meth:`Transcriber.transcribe` is faster-whisper's own batch path, for files and for
``streaming: false``. :meth:`Transcriber.decode` decodes one stretch of speech for the
streaming path in a window cut to its length (dictad.short_window) when that can be trusted,
else in faster-whisper's full windows, so its answer is never worse than the batch path's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dictad.config import TranscriptionConfig
from dictad.short_window import LOW_LOG_PROBABILITY, NO_SPEECH_PROBABILITY, ShortWindowDecoder
from dictad.vad import SpeechDetector
from dictad.whisper_model import load_whisper_model

SAMPLE_RATE = 16000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    text: str
    audio_seconds: float
    language: str | None
    from_draft: bool = False
    """The text was decoded while recording: nothing was left to decode at release."""
    pieces: int = 1
    """Stretches of speech decoded apart: where drafts decode slowly, a long dictation is committed
    in pieces while recording (dictad.streaming), so that release decodes only the last one."""


def _always() -> bool:
    return True


class Transcriber:
    """One loaded Whisper model and the options every dictation is decoded with."""

    def __init__(self, config: TranscriptionConfig, vocabulary: list[str] | None = None):
        from faster_whisper.vad import get_vad_model

        self.config = config
        self.vocabulary = list(vocabulary or [])
        self.model = load_whisper_model(config)
        self.short_window = ShortWindowDecoder(self.model, config, self._hotwords())
        self._vad = get_vad_model()

    def warm_up(self) -> None:
        """Run every model once, so the first dictation does not pay for first-call set-up."""
        second = np.zeros(SAMPLE_RATE, np.float32)
        self.speech_detector().update(second)
        self.short_window.decode(second)
        self.decode_in_full_windows(second)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Text of ``audio`` (float32, mono, 16 kHz); empty when there is no speech."""
        audio_seconds = len(audio) / SAMPLE_RATE
        if len(audio) == 0:
            return Transcript("", 0.0, self.config.language)
        started = time.perf_counter()
        text, language = self._transcribe_in_windows(audio)
        log.debug("decoded %.2f s of audio in %.3f s", audio_seconds, time.perf_counter() - started)
        return Transcript(text, audio_seconds, language)

    def speech_detector(self) -> SpeechDetector:
        """A fresh voice activity detector for one growing recording."""
        return SpeechDetector(self._vad)

    def decode(self, audio: np.ndarray, full_windows_if: Callable[[], bool] = _always) -> str | None:
        """Text of one stretch of speech (float32, 16 kHz) that begins with a little silence: in a
        window cut to its length when that can be trusted, else in faster-whisper's full windows.
        None only when the short window was not trusted and ``full_windows_if()`` says the full
        windows are no longer worth decoding (a draft whose dictation has been released: release
        decodes what it needs itself, and a needless decode would take cores from it)."""
        text = self.short_window.decode(audio)
        if text is None and full_windows_if():
            return self.decode_in_full_windows(audio)
        return text

    def decode_in_full_windows(self, audio: np.ndarray) -> str:
        return self._transcribe_in_windows(audio)[0]

    def _transcribe_in_windows(self, audio: np.ndarray) -> tuple[str, str]:
        """faster-whisper's own path: VAD, then 30-second windows, however short the audio."""
        segments, info = self.model.transcribe(audio, **self.decode_options())
        return " ".join(segment.text.strip() for segment in segments).strip(), info.language

    def _hotwords(self) -> str | None:
        # Ending the hint as a sentence keeps Whisper punctuating the dictation itself.
        return ", ".join(self.vocabulary) + "." if self.vocabulary else None

    def decode_options(self) -> dict:
        """faster-whisper's ``transcribe`` options for a short dictation."""
        return {
            "language": self.config.language,
            "beam_size": self.config.beam_size,
            "vad_filter": True,
            "condition_on_previous_text": False,
            "no_speech_threshold": NO_SPEECH_PROBABILITY,
            "log_prob_threshold": LOW_LOG_PROBABILITY,
            "hotwords": self._hotwords(),
        }
