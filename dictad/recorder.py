"""The microphone: an input stream kept open, so a dictation starts with the audio from just before
the key press and never waits for a stream to open; delivered as 16 kHz mono float32.

Threads: PortAudio's callback only copies each block into the pre-roll ring (and, while a dictation
runs, onto the dictation). The caller's thread converts to 16 kHz when it asks for audio
(:meth:`Recorder.snapshot`, :meth:`Recorder.stop`). While a dictation runs, a watchdog thread checks
that blocks keep coming: when a PulseAudio source vanishes, PortAudio raises nothing and calls
nothing, the blocks just stop (and ``stream.stop()`` hangs, so streams are always aborted).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np
import sounddevice as sd

from dictad.dictation_audio import DictationAudio, PrerollRing, To16k
from dictad.microphones import BLOCK_SECONDS, LATENCY_SECONDS, RecorderError, open_microphone
from dictad.portaudio import close_stream, list_devices_again
from dictad.sounds import Playback

# A PulseAudio null sink that has been idle takes up to 2 s to deliver its first block.
FIRST_AUDIO_TIMEOUT_SECONDS = 5.0
# Blocks arrive every 100 ms; this long without one means the microphone is gone.
STALL_SECONDS = 1.0


class Recorder:
    """One microphone, opened once and kept open; dictations are slices of its audio.

    ``on_error`` is called (from a watchdog thread) when the microphone stops delivering audio
    mid-dictation; the audio so far is kept and :meth:`stop` still returns it. The next
    :meth:`start` reopens the microphone, so dictation resumes once the device is back, even one
    first plugged in after dictad started (see dictad.portaudio). ``on_open`` is called with the
    device's name each time a microphone opens.
    """

    def __init__(self, device: str | int | None = None, preroll_ms: int = 300,
                 on_error: Callable[[str], None] | None = None, on_open: Callable[[str], None] | None = None):
        self._device = device
        self._preroll_seconds = preroll_ms / 1000
        self._on_error = on_error or (lambda message: None)
        self._on_open = on_open or (lambda name: None)
        self._lock = threading.Lock()
        self._audio_arrived = threading.Condition(self._lock)
        self._convert_lock = threading.Lock()
        self._switching = threading.RLock()
        """Held while the microphone is opened, closed or switched: one of these at a time."""
        self._switch_at_start = False
        self._stream: sd.InputStream | None = None
        self._device_name = ""
        self._rate = 0
        self._latency = LATENCY_SECONDS
        self._ring = PrerollRing(0)
        self._blocks = 0
        self._last_block_at = float("-inf")
        self._heard_until = float("-inf")
        """PortAudio's stream time at which the audio delivered so far was captured."""
        self._dictation: DictationAudio | None = None

    @property
    def device_name(self) -> str:
        """The name of the microphone in use (empty before the first open)."""
        return self._device_name

    @property
    def capture_rate(self) -> int:
        """The rate the microphone records at, before conversion to 16 kHz (0 before the first open)."""
        return self._rate

    @property
    def seconds_recorded(self) -> float:
        """Length of the current dictation so far, pre-roll included (0 when not recording)."""
        dictation = self._dictation
        return dictation.captured_frames / self._rate if dictation else 0.0

    def open(self) -> None:
        """Open the microphone and wait for its first audio. Does nothing if it is open.

        Raises RecorderError when the device is unknown, cannot be opened, or delivers nothing.
        """
        with self._switching:
            if self._stream is not None:
                return
            try:
                stream = self._open_stream()
            except RecorderError:
                # Not there, or listed under what it was before it was unplugged: list them again.
                if not list_devices_again():
                    raise
                stream = self._open_stream()
            with self._audio_arrived:
                self._stream = stream
                delivering = self._audio_arrived.wait_for(lambda: self._blocks > 0, FIRST_AUDIO_TIMEOUT_SECONDS)
            if not delivering:
                self.close()
                raise RecorderError(f"the microphone {self._device_name!r} opened but delivered no audio "
                                    f"within {FIRST_AUDIO_TIMEOUT_SECONDS:g} s")
        self._on_open(self._device_name)

    def use(self, device: str | int | None, preroll_ms: int) -> None:
        """Record from ``device`` with ``preroll_ms`` of pre-roll: switched to now, or, while a
        dictation is being recorded, when the next one starts.

        Raises RecorderError when the new microphone cannot be opened; the next :meth:`start`
        tries it again (it may be plugged in by then).
        """
        with self._switching:
            self._device, self._preroll_seconds = device, preroll_ms / 1000
            if self._dictation is not None:
                self._switch_at_start = True
                return
            self.close()
            self.open()

    def _open_stream(self) -> sd.InputStream:
        stream, name, rate = open_microphone(self._device, self._on_audio)
        with self._lock:
            self._device_name, self._rate, self._latency = name, rate, stream.latency
            self._ring = PrerollRing(int(rate * self._preroll_seconds))
            self._blocks = 0
        try:
            stream.start()
        except sd.PortAudioError as error:
            close_stream(stream)
            raise RecorderError(f"cannot start the microphone {name!r}: {error}") from error
        return stream

    def _on_audio(self, indata: np.ndarray, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        """PortAudio's thread: copy the block, nothing else."""
        block = indata[:, 0]
        with self._audio_arrived:
            self._last_block_at = time.monotonic()
            # Some host APIs leave the capture time at 0: the block's arrival then stands in for it.
            captured_at = time_info.inputBufferAdcTime or time_info.currentTime - frames / self._rate
            self._heard_until = captured_at + frames / self._rate
            self._blocks += 1
            self._ring.write(block)
            if self._dictation is not None:
                self._dictation.add(block)
            self._audio_arrived.notify_all()

    def start(self) -> None:
        """Begin a dictation with the pre-roll, reopening the microphone if it stopped delivering.

        Returns once the microphone delivers audio, so a start cue played after this is never
        spoken into a stream that is not open yet. Raises RecorderError if it cannot.
        """
        if self._dictation is not None:
            raise RuntimeError("a dictation is already being recorded")
        with self._switching:
            if self._switch_at_start or not self.delivering:
                self._switch_at_start = False
                self.close()
                self.open()
            with self._lock:
                preroll = self._ring.latest()
                dictation = self._dictation = DictationAudio(
                    started_at=self._last_block_at - len(preroll) / self._rate, converter=To16k(self._rate),
                    pending=[preroll], captured_frames=len(preroll))
        threading.Thread(target=self._watch, args=(dictation,), name="dictad-mic-watchdog", daemon=True).start()

    @property
    def delivering(self) -> bool:
        """The microphone is open and its audio keeps coming."""
        return self._stream is not None and time.monotonic() - self._last_block_at < STALL_SECONDS

    def exclude_sound(self, playback: Playback) -> None:
        """Keep a sound this machine played (the start cue) out of the current dictation."""
        with self._convert_lock:
            if self._dictation is not None:
                self._dictation.sounds.append(playback)

    def snapshot(self) -> np.ndarray:
        """The current dictation so far, 16 kHz mono float32 (empty when not recording).

        Cheap: converts only what arrived since the last call. Each snapshot is the beginning of
        the next one and of what :meth:`stop` returns, except that an excluded sound is audible in
        a snapshot that ends before the sound's echo does (the cue's 90 ms and 50 ms after it).
        """
        return self.audio_since(0)

    def audio_since(self, offset: int) -> np.ndarray:
        """The current dictation from sample ``offset`` on (16 kHz), for a journal that has the rest."""
        with self._convert_lock:
            dictation = self._dictation
            if dictation is None:
                return np.zeros(0, np.float32)
            dictation.convert_pending(self._lock, final=False)
            return dictation.audio[offset:].copy()

    def wait_for_audio(self) -> bool:
        """Block until the current dictation has new audio; False once it has ended (or none runs)."""
        with self._audio_arrived:
            dictation = self._dictation
            if dictation is None:
                return False
            seen = dictation.captured_frames
            self._audio_arrived.wait_for(lambda: dictation.captured_frames > seen or self._dictation is not dictation,
                                         timeout=STALL_SECONDS)
            return self._dictation is dictation

    def stop(self, wait_for_buffered: bool = True) -> np.ndarray:
        """End the dictation and return all of it, 16 kHz mono float32 (empty when not recording).

        With ``wait_for_buffered`` it first waits for the audio captured up to this moment that is
        still on its way from the device (at most a block, 0.1 s, by PortAudio's capture times),
        so a last word is kept whole; the caller can skip that when the audio so far ends in
        silence. A stop cue played after this returns is never part of it.
        """
        with self._audio_arrived:
            dictation = self._dictation
            if dictation is None:
                return np.zeros(0, np.float32)
            if wait_for_buffered:
                self._wait_for_audio_until_now()
            self._dictation = None
            self._audio_arrived.notify_all()
        dictation.ended.set()
        with self._convert_lock:
            dictation.convert_pending(self._lock, final=True)
        return dictation.audio

    def _wait_for_audio_until_now(self) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            now = stream.time
        except sd.PortAudioError:
            now = self._heard_until + self._latency
        # Bounded by the stream's latency and a block, should a host API's clock be off.
        self._audio_arrived.wait_for(lambda: self._heard_until >= now or self._stream is None,
                                     timeout=self._latency + BLOCK_SECONDS)

    def close(self) -> None:
        """Release the microphone. A running dictation keeps what it has; :meth:`stop` returns it."""
        with self._switching, self._audio_arrived:
            stream, self._stream = self._stream, None
            self._audio_arrived.notify_all()
        if stream is not None:
            close_stream(stream)

    def _watch(self, dictation: DictationAudio) -> None:
        """Report a microphone that stops delivering mid-dictation, once, and release it."""
        while not dictation.ended.wait(STALL_SECONDS / 4):
            if self._stream is None:
                return
            if time.monotonic() - self._last_block_at > STALL_SECONDS:
                self.close()
                self._on_error(f"the microphone {self._device_name!r} stopped delivering audio "
                               "(disconnected?); what was said so far is kept")
                return
