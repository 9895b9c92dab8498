"""Audio files: decoding for ``dictad transcribe`` (a thin edge over faster-whisper's PyAV decoder)
and writing dictations as WAV for ``dictad run --keep-audio``."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from dictad.transcriber import SAMPLE_RATE


class AudioFileError(Exception):
    """A file that cannot be read as audio; the message names the file and the reason."""


def read_audio_file(path: Path) -> np.ndarray:
    """Float32 mono 16 kHz samples of any format and rate PyAV reads (WAV, FLAC, MP3, OGG, M4A...)."""
    from faster_whisper import decode_audio

    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    if path.is_file() and path.stat().st_size == 0:  # a pipe (/dev/stdin) has no size
        raise AudioFileError(f"{path}: the file is empty")
    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as error:
        raise AudioFileError(f"{path}: not a readable audio file ({_reason(error)})") from error
    if audio.size == 0:
        raise AudioFileError(f"{path}: holds no audio samples")
    return audio


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Save float32 16 kHz mono samples as a 16-bit PCM WAV; it appears whole or not at all."""
    samples = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    partial = path.with_name(path.name + ".partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    partial.replace(path)


def _reason(error: Exception) -> str:
    return str(error).strip() or type(error).__name__
