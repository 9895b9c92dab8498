"""``dictad doctor``: every part dictad needs, checked, with exactly what to do about each problem."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dictad.autostart import dictad_command
from dictad.config import Config
from dictad.desktop import survey_all
from dictad.desktop.bindings import HOLD_COMPOSITORS, binding_lines
from dictad.desktop.choosing import Choice, forcing_variable
from dictad.desktop.session import NO_SESSION_FIX, Session, current_session
from dictad.keyspec import parse_hotkey

NEEDED = ("hotkey", "keyboard", "clipboard")
"""Without these dictation is crippled; without the others dictad works, and says what is missing."""
WITHOUT = {
    "focus": "every window gets output.paste_keys (terminals are not told apart)",
    "notify": "messages only go to the log",
    "tray": "dictad runs without a tray icon",
}
TYPE_EVERYWHERE = ("sudo apt install wtype   (sway, Hyprland, river, niri); on KDE and GNOME allow dictad's "
                   "remote control once when the desktop asks")
FIXES = {
    ("keyboard", "wayland"): f"{TYPE_EVERYWHERE}. Until then each text is left on the clipboard, and a "
                             "notification says which keys paste it",
    ("clipboard", "x11"): "sudo apt install xclip   (or set output.method: type)",
    ("clipboard", "wayland"): "sudo apt install wl-clipboard   (or set output.method: type)",
}

LIMITED = {
    ("keyboard", "xwayland"): ("keys reach only X11 (XWayland) windows: for a Wayland window the text is left on "
                               "the clipboard, and a notification says which keys paste it", TYPE_EVERYWHERE),
    ("focus", "xwayland"): ("only X11 (XWayland) windows are told apart: a Wayland terminal gets output.paste_keys",
                            "set output.method: type, or use the terminal's paste keys yourself"),
}
"""Backends that work, but not for every window: what they leave out, and how to have it all."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(config: Config) -> list[Check]:
    session = current_session()
    desktop = [check_session(session), *(check_concern(choice, session, config) for choice in survey_all(session))]
    return [check_model(config), check_audio_input(config), *desktop, check_ollama(config)]


def print_report(checks: list[Check]) -> None:
    for check in checks:
        print(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
        if check.fix:
            print(f"     fix: {check.fix}")


def check_model(config: Config) -> Check:
    from dictad.whisper_model import BUNDLED_MODELS, ModelLoadError, load_whisper_model, where_it_runs

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


def check_session(session: Session) -> Check:
    if session.kind == "none":
        return Check("session", False, session.describe(), NO_SESSION_FIX)
    return Check("session", True, session.describe())


def check_concern(choice: Choice, session: Session, config: Config) -> Check:
    """One concern's backend (hotkey, keyboard, ...), as its chooser would pick it, from cheap checks
    only: doctor grabs no keys and opens no windows."""
    concern, detail = choice.concern, choice.describe()
    if choice.chosen is not None:
        left_out, fix = LIMITED.get((concern, choice.chosen), ("", ""))
        return Check(concern, True, f"{detail}; {left_out}" if left_out else detail, fix)
    if concern == "clipboard" and config.output.method == "type":
        return Check(concern, True, f"{detail}; none needed: output.method is type")
    if concern not in NEEDED:
        return Check(concern, True, f"{detail}; {WITHOUT[concern]}")
    return Check(concern, False, detail, _fix(choice, session, config))


def _fix(choice: Choice, session: Session, config: Config) -> str:
    if choice.forced_by:
        return f"unset {forcing_variable(choice.concern)}, or set it to a backend that works here"
    if session.kind == "none":
        return NO_SESSION_FIX
    if (choice.concern, session.kind) == ("hotkey", "wayland"):
        return _bindings_fix(session, config)
    return FIXES.get((choice.concern, session.kind), "")


def _bindings_fix(session: Session, config: Config) -> str:
    """The compositor's own key bindings run `dictad start` and `dictad stop`: the lines to add."""
    lines = binding_lines(session.desktop, parse_hotkey(config.hotkey), dictad_command())
    if session.desktop not in HOLD_COMPOSITORS:
        return lines
    indented = "".join(f"\n       {line}" for line in lines.splitlines())
    return f"add these lines to your {session.desktop} config (`dictad bindings` prints them):{indented}"


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
