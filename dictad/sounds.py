"""Start and stop cues: short chirps made with numpy, played without blocking the caller.

A cue played while the microphone is open reaches the recording (through the speakers, or on the
test rig through the virtual sink that feeds the virtual microphone). Stream timestamps cannot say
where: through PulseAudio's ALSA plugin they were off by 50 to 100 ms. So every play returns a
:class:`Playback`, and :func:`erase_sound` finds the cue in the recording by its shape (a chirp
correlates sharply with itself and poorly with speech) and silences only those few milliseconds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sounddevice as sd

from dictad.portaudio import close_stream, open_stream

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
CUE_SECONDS = 0.09
CUE_VOLUME = 0.3
FADE_SECONDS = 0.01
# The PulseAudio ALSA plugin starts playing only once its buffer has filled and drops what is
# still queued when the stream stops: silence after the cue makes sure all of the cue is heard.
TRAILING_SILENCE_SECONDS = 0.3
# How much normalised correlation with the played sound counts as hearing it: the rig's loopback
# hears the cue far above it, speech alone stays far below (bench/README.md).
HEARD_CORRELATION = 0.5
# Room echo and speaker ring-down after the cue itself ends.
ECHO_SECONDS = 0.05

Cue = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class Playback:
    """A sound this machine played: what it sounds like at 16 kHz, and when it was asked for."""

    sound: np.ndarray
    requested_at: float
    finished: threading.Event = field(default_factory=threading.Event, compare=False)


def chirp(rate: int, start_hz: float, end_hz: float) -> np.ndarray:
    """A short gliding tone with soft edges (no clicks), float32 mono at ``rate``."""
    t = np.arange(int(rate * CUE_SECONDS)) / rate
    phase = 2 * np.pi * (start_hz * t + (end_hz - start_hz) * t**2 / (2 * CUE_SECONDS))
    fade = np.minimum(1.0, np.minimum(t, CUE_SECONDS - t) / FADE_SECONDS)
    return (CUE_VOLUME * fade * np.sin(phase)).astype(np.float32)


def start_cue(rate: int) -> np.ndarray:
    """Rising: the microphone is listening."""
    return chirp(rate, 660, 990)


def stop_cue(rate: int) -> np.ndarray:
    """Falling: the microphone has stopped listening."""
    return chirp(rate, 990, 660)


def nothing_recorded_cue(rate: int) -> np.ndarray:
    """Low and falling: a press that records nothing (no microphone)."""
    return chirp(rate, 330, 220)


def play(cue: Cue) -> Playback:
    """Play ``cue`` on the default output device in a background thread; returns at once.

    A machine without an output device only logs a warning: dictation works without cues.
    """
    playback = Playback(sound=cue(SAMPLE_RATE), requested_at=time.monotonic())
    threading.Thread(target=_play_blocking, args=(cue, playback.finished), name="dictad-cue", daemon=True).start()
    return playback


def _play_blocking(cue: Cue, finished: threading.Event) -> None:
    try:
        stream = open_stream(_output_stream)
        try:
            stream.start()
            rate = int(stream.samplerate)
            stream.write(np.concatenate([cue(rate), np.zeros(int(rate * TRAILING_SILENCE_SECONDS), np.float32)]))
        finally:
            close_stream(stream)
    except sd.PortAudioError as error:
        log.warning("cannot play a cue sound: %s", error)
    finally:
        finished.set()


def _output_stream() -> sd.OutputStream:
    rate = int(sd.query_devices(kind="output")["default_samplerate"])
    return sd.OutputStream(samplerate=rate, channels=1, dtype="float32", latency="low")


def erase_sound(recording: np.ndarray, sound: np.ndarray, start: int, end: int, growing: bool) -> bool:
    """Silence, in place, where ``sound`` is heard within ``recording[start:end]``; True if it was.

    Both are 16 kHz. The sound may be quieter than it was played and mixed with speech. In a
    ``growing`` recording (the recording so far) it is erased only once its echo has been
    recorded after it. That also keeps a sound cut off by the end of the recording so far from
    being erased in the wrong place: a cut chirp fits best a period or so before where it is
    (its autocorrelation has side lobes of up to 0.95 within 2 ms), never 50 ms before (under
    0.06 beyond 10 ms).
    """
    start, end = max(start, 0), min(end, len(recording))
    if end - start < len(sound):
        return False
    offset, correlation = _best_match(recording[start:end], sound)
    begin = start + offset
    echo_ends = begin + len(sound) + int(SAMPLE_RATE * ECHO_SECONDS)
    if correlation < HEARD_CORRELATION or (growing and echo_ends > len(recording)):
        return False
    recording[begin:echo_ends] = 0.0
    return True


def _best_match(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, float]:
    """Offset in ``haystack`` where ``needle`` fits best, and their normalised correlation there."""
    size = 1 << int(np.ceil(np.log2(len(haystack) + len(needle))))
    spectrum = np.fft.rfft(haystack, size) * np.conj(np.fft.rfft(needle, size))
    products = np.fft.irfft(spectrum, size)[: len(haystack) - len(needle) + 1]
    energy = np.concatenate([[0.0], np.cumsum(haystack.astype(np.float64) ** 2)])
    window_energy = energy[len(needle) :] - energy[: -len(needle)]
    correlation = products / (np.linalg.norm(needle) * np.sqrt(np.maximum(window_energy, 1e-12)))
    best = int(np.argmax(correlation))
    return best, float(correlation[best])
