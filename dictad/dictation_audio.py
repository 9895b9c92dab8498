"""The audio of one dictation while it is recorded: the pre-roll it starts with, its blocks at the
microphone's rate, converted to 16 kHz mono float32 when asked for, and the cue sounds erased from it.

Threads: PortAudio's callback only appends blocks (:meth:`DictationAudio.add`) under the recorder's
lock; conversion runs on the thread that asks for audio, which takes that lock only to take the
pending blocks (:meth:`DictationAudio.convert_pending`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import av
import numpy as np

from dictad.sounds import Playback, erase_sound

SAMPLE_RATE = 16000
# Where a played sound can show up in the recording, relative to when it was asked for: block
# arrival times stand in for capture times (up to a buffer late) and output adds its own latency.
SOUND_SEARCH_BEFORE_SECONDS = 0.3
SOUND_SEARCH_AFTER_SECONDS = 1.0


class PrerollRing:
    """The latest few hundred milliseconds of audio, overwritten in place (no allocation per block)."""

    def __init__(self, frames: int):
        self._buffer = np.zeros(frames, np.float32)
        self._written = 0

    def write(self, block: np.ndarray) -> None:
        capacity = len(self._buffer)
        if capacity == 0:
            return
        block = block[-capacity:]
        position = self._written % capacity
        first = min(len(block), capacity - position)
        self._buffer[position : position + first] = block[:first]
        self._buffer[: len(block) - first] = block[first:]
        self._written += len(block)

    def latest(self) -> np.ndarray:
        """A copy, oldest sample first."""
        capacity = len(self._buffer)
        filled = min(self._written, capacity)
        if filled == 0:
            return np.zeros(0, np.float32)
        return np.roll(self._buffer, -(self._written % capacity))[capacity - filled :]


class To16k:
    """Streams float32 mono audio from the capture rate to 16 kHz (PyAV's libswresample)."""

    def __init__(self, rate: int):
        self._rate = rate
        self._resampler = (None if rate == SAMPLE_RATE
                           else av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE))

    def convert(self, samples: np.ndarray) -> np.ndarray:
        if self._resampler is None or len(samples) == 0:
            return samples
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self._rate
        return self._join(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._join(self._resampler.resample(None))

    @staticmethod
    def _join(frames: list[av.AudioFrame]) -> np.ndarray:
        return np.concatenate([np.zeros(0, np.float32)] + [frame.to_ndarray()[0] for frame in frames])


@dataclass
class DictationAudio:
    started_at: float
    """About when (time.monotonic()) its first, oldest pre-roll sample was captured."""
    converter: To16k
    pending: list[np.ndarray]
    """Blocks at the capture rate not yet converted; the audio callback appends to it."""
    captured_frames: int
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sounds: list[Playback] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def add(self, block: np.ndarray) -> None:
        """PortAudio's thread, under the recorder's lock: keep a copy of the block."""
        self.pending.append(block.copy())
        self.captured_frames += len(block)

    def convert_pending(self, pending_lock: threading.Lock, final: bool) -> None:
        """Convert the blocks that came since the last call onto ``audio``; ``final`` flushes the
        converter. ``pending_lock`` is the lock held around :meth:`add`."""
        with pending_lock:
            blocks, self.pending = self.pending, []
        converted = [self.converter.convert(np.concatenate(blocks))] if blocks else []
        if final:
            converted.append(self.converter.flush())
        self.audio = np.concatenate([self.audio, *converted])
        self._erase_sounds(final)

    def _erase_sounds(self, final: bool) -> None:
        """Erase each excluded sound as soon as the recording holds it, so that a snapshot (what a
        draft decodes) is already the beginning of the finished recording; forget a sound once
        the recording covers everywhere it could be heard."""
        for playback in list(self.sounds):
            heard_from = playback.requested_at - self.started_at - SOUND_SEARCH_BEFORE_SECONDS
            heard_until = playback.requested_at - self.started_at + SOUND_SEARCH_AFTER_SECONDS
            end = int(heard_until * SAMPLE_RATE) + len(playback.sound)
            erased = erase_sound(self.audio, playback.sound, int(heard_from * SAMPLE_RATE), end, growing=not final)
            if erased or final or end <= len(self.audio):
                self.sounds.remove(playback)
