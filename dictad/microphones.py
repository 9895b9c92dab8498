"""Which microphone, and how its stream opens: PortAudio's input devices, the one the config names,
and the rate it records at.

``audio.device`` names a device by index, by name or by part of a name; when none or several
match, the error lists every input device, so the user can copy one into the config.
"""

from __future__ import annotations

from typing import Any, Callable

import sounddevice as sd

from dictad.dictation_audio import SAMPLE_RATE
from dictad.portaudio import open_stream

# One callback per 100 ms: a fraction of PortAudio's default block size's idle CPU through
# PulseAudio (bench/latency.py's idle CPU row; bench/README.md).
BLOCK_SECONDS = 0.1
LATENCY_SECONDS = 0.2


class RecorderError(Exception):
    """The microphone cannot be found, opened, or does not deliver audio; the message says why."""


def input_devices() -> list[tuple[int, str]]:
    """(index, name) of every device PortAudio can record from."""
    devices = enumerate(sd.query_devices())
    return [(index, info["name"]) for index, info in devices if info["max_input_channels"] > 0]


def find_input_device(device: str | int | None) -> int:
    """The PortAudio index for a configured device: None (the system default), an index, or a name
    or part of one (case-insensitive; an exact name wins over partial matches)."""
    devices = input_devices()
    if device is None:
        try:
            return int(sd.query_devices(kind="input")["index"])
        except sd.PortAudioError:
            raise RecorderError(_no_match_message("there is no default input device", devices)) from None
    if isinstance(device, int):
        if any(index == device for index, _ in devices):
            return device
        raise RecorderError(_no_match_message(f"no input device has index {device}", devices))
    wanted = device.lower()
    exact = [index for index, name in devices if name.lower() == wanted]
    partial = [index for index, name in devices if wanted in name.lower()]
    if exact or len(partial) == 1:
        return (exact or partial)[0]
    if partial:
        several = [(index, name) for index, name in devices if index in partial]
        raise RecorderError(_no_match_message(f"several input devices match {device!r}", several))
    raise RecorderError(_no_match_message(f"no input device matches {device!r}", devices))


def _no_match_message(problem: str, devices: list[tuple[int, str]]) -> str:
    if not devices:
        return f"{problem}: no input devices found (is a microphone connected, PulseAudio or PipeWire running?)"
    listing = "\n".join(f"  {index}: {name}" for index, name in devices)
    return f"{problem}; set audio.device to one of these names or indexes:\n{listing}"


def open_microphone(device: str | int | None, callback: Callable[..., Any]) -> tuple[sd.InputStream, str, int]:
    """A mono float32 input stream on the configured device, opened but not started, with the
    device's name and the rate it records at; ``callback`` gets each block."""
    index = find_input_device(device)
    name = sd.query_devices(index)["name"]
    rate = _capture_rate(index)
    try:
        stream = open_stream(lambda: sd.InputStream(
            device=index, samplerate=rate, channels=1, dtype="float32", blocksize=int(rate * BLOCK_SECONDS),
            latency=LATENCY_SECONDS, callback=callback))
    except sd.PortAudioError as error:
        raise RecorderError(f"cannot open the microphone {name!r}: {error}") from error
    return stream, name, rate


def _capture_rate(index: int) -> int:
    """16 kHz when the device records at it, else the device's own default rate (then resampled)."""
    try:
        sd.check_input_settings(device=index, samplerate=SAMPLE_RATE, channels=1, dtype="float32")
        return SAMPLE_RATE
    except sd.PortAudioError:
        return int(sd.query_devices(index)["default_samplerate"])
