"""``dictad doctor``: every part dictad needs, checked, with exactly what to do about each problem."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from dictad.config import Config


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(config: Config) -> list[Check]:
    checks: list[Callable[[Config], Check]] = [
        check_model, check_audio_input, check_display, check_clipboard, check_ollama,
    ]
    return [check(config) for check in checks]


def print_report(checks: list[Check]) -> None:
    for check in checks:
        print(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
        if check.fix:
            print(f"     fix: {check.fix}")


def check_model(config: Config) -> Check:
    from dictad.transcriber import BUNDLED_MODELS, ModelLoadError, load_whisper_model, where_it_runs

    name = config.transcription.model
    started = time.perf_counter()
    try:
        model = load_whisper_model(config.transcription)
    except ModelLoadError as error:
        return Check("speech model", False, str(error),
                     f"set transcription.model to a bundled model ({', '.join(BUNDLED_MODELS)}) "
                     f"or a model directory, or connect once to download {name}")
    kind = "bundled" if name in BUNDLED_MODELS else "loaded"
    return Check("speech model", True, f"{name} ({kind}) on {where_it_runs(model, config.transcription)}, "
                 f"loaded in {time.perf_counter() - started:.1f} s")


def check_audio_input(config: Config) -> Check:
    try:
        import sounddevice
    except OSError as error:
        return Check("microphone", False, f"PortAudio is missing: {error}",
                     "install PortAudio: sudo apt install libportaudio2 (Debian/Ubuntu)")
    from dictad.microphones import RecorderError, find_input_device, input_devices

    inputs = input_devices()
    if not inputs:
        return Check("microphone", False, "no audio input device found",
                     "connect a microphone, and check it is not muted in the sound settings")
    listing = "; ".join(f"{index}: {name}" for index, name in inputs)
    wanted = config.audio.device
    try:
        using = sounddevice.query_devices(find_input_device(wanted))["name"]
    except RecorderError as error:
        return Check("microphone", False, str(error),
                     "set audio.device to one of the input devices listed, or to null for the system default")
    return Check("microphone", True, f"input devices: {listing} (using: {using}"
                                     f"{'' if wanted is not None else ', the system default'})")


def check_display(config: Config) -> Check:
    session = os.environ.get("XDG_SESSION_TYPE", "")
    if os.environ.get("WAYLAND_DISPLAY") or session == "wayland":
        return Check("display", False,
                     "Wayland session: global hotkeys cannot be grabbed, and dictad cannot put text into other apps' windows",
                     "bind `dictad toggle` (or `dictad start` / `dictad stop`) to a shortcut in your "
                     "compositor's keyboard settings; dictad listens on its control socket")
    if os.environ.get("DISPLAY"):
        return Check("display", True, f"X11 display {os.environ['DISPLAY']} (session type: {session or 'unknown'})")
    return Check("display", False, "no display: DISPLAY is not set",
                 "run dictad inside your desktop session (DISPLAY must be set for the hotkey, tray and typing)")


def check_clipboard(config: Config) -> Check:
    tools = [tool for tool in ("xclip", "xsel") if shutil.which(tool)]  # what pyperclip uses on X11
    if tools:
        return Check("clipboard", True, f"clipboard tool found: {', '.join(tools)}")
    if config.output.method == "type":
        return Check("clipboard", True, "no clipboard tool, and none needed: output.method is type")
    return Check("clipboard", False, "no clipboard tool (xclip or xsel): pasting falls back to typing",
                 "sudo apt install xclip   (or set output.method: type)")


def check_ollama(config: Config) -> Check:
    from dictad.cleanup.llm import probe_ollama

    ollama = config.cleanup.ollama
    needed = config.cleanup.mode == "llm"
    probe = probe_ollama(ollama)
    if probe.problem:
        if not needed:
            return Check("ollama", True, f"not in use (cleanup.mode is {config.cleanup.mode}); {probe.problem}")
        return Check("ollama", False, probe.problem)
    detail = (f"Ollama {probe.version} at {ollama.host}, model {ollama.model} present, "
              f"round trip {probe.round_trip_s:.2f} s")
    return Check("ollama", True, detail if needed else f"{detail} (not in use: cleanup.mode is {config.cleanup.mode})")
