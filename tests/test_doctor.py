"""``dictad doctor`` as a user runs it: each part checked, and the exact fix for what is wrong.

Ollama cannot run here, so the fake in tests/ollama_server.py stands in for it, speaking
Ollama's real REST API over real HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dictad.whisper_model import DECODERS
from tests.ollama_server import FakeOllama, Reply
from tests.rig.daemon import auto_device

pytestmark = pytest.mark.slow


def doctor(tmp_path, config_text: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "dictad", "doctor", "--config", str(config)],
                          capture_output=True, text=True, env=environment, timeout=120)


@pytest.fixture
def ollama():
    server = FakeOllama(lambda request: Reply("I want to get into AI engineering.")).start()
    yield server
    server.stop()


def test_doctor_reports_ollama_version_model_and_round_trip(tmp_path, ollama):
    result = doctor(tmp_path, f"cleanup:\n  mode: llm\n  ollama:\n    host: {ollama.url}\n")
    line = next(line for line in result.stdout.splitlines() if "ollama:" in line)
    assert line.startswith("[ok] ollama: Ollama 0.12.6")
    assert "model qwen2.5:1.5b present" in line and "round trip" in line
    assert f"[ok] speech model: tiny.en (bundled) on {auto_device()} (int8" in result.stdout


def test_doctor_names_the_pull_command_for_a_missing_model(tmp_path, ollama):
    result = doctor(tmp_path, f"cleanup:\n  mode: llm\n  ollama:\n    host: {ollama.url}\n    model: llama3.2:3b\n")
    assert result.returncode == 1
    assert "[!!] ollama: model llama3.2:3b not found: run `ollama pull llama3.2:3b`" in result.stdout


def test_doctor_tells_wayland_users_to_bind_the_toggle_command(tmp_path):
    result = doctor(tmp_path, "mode: hold\n", WAYLAND_DISPLAY="wayland-0", XDG_SESSION_TYPE="wayland",
                    DBUS_SESSION_BUS_ADDRESS="", XDG_RUNTIME_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "[ok] session: Wayland" in result.stdout
    assert "[!!] hotkey: no backend: xorg: Wayland session" in result.stdout
    assert "runs a shortcut's command on the press only: bind `" in result.stdout
    assert "dictad toggle` to a custom shortcut" in result.stdout


def test_doctor_gives_sway_users_the_lines_for_their_config(tmp_path):
    result = doctor(tmp_path, "hotkey: <cmd>+d\n", WAYLAND_DISPLAY="wayland-0", SWAYSOCK=str(tmp_path / "ipc.sock"))
    assert "[ok] session: Wayland (sway) on wayland-0" in result.stdout
    assert "portal: sway's portal has no global shortcuts" in result.stdout
    assert "add these lines to your sway config (`dictad bindings` prints them):" in result.stdout
    assert "bindsym --no-repeat Mod4+d exec " in result.stdout and "dictad start\n" in result.stdout
    assert "bindsym --release Mod4+d exec " in result.stdout


def test_doctor_says_what_typing_through_xwayland_leaves_out_and_how_to_type_everywhere(tmp_path):
    """GNOME with no wtype and no portal: XWayland's X11 windows are reachable, the Wayland ones are not."""
    result = doctor(tmp_path, "", WAYLAND_DISPLAY="wayland-0", XDG_CURRENT_DESKTOP="GNOME", DISPLAY=":0",
                    PATH=str(tmp_path), DBUS_SESSION_BUS_ADDRESS="", XDG_RUNTIME_DIR=str(tmp_path))
    keyboard = result.stdout.split("[ok] keyboard: xwayland; skipped wtype: wtype not found on PATH")[1]
    assert keyboard.split("\n")[0].endswith("; keys reach only X11 (XWayland) windows: for a Wayland window the "
                                            "text is left on the clipboard, and a notification says which keys "
                                            "paste it")
    assert keyboard.split("\n")[1] == ("     fix: sudo apt install wtype   (sway, Hyprland, river, niri); on KDE "
                                       "and GNOME allow dictad's remote control once when the desktop asks")


@pytest.mark.parametrize(("device", "verdict"), [
    (None, "[ok] microphone: input devices:"),
    ("nothing-like-it", "[!!] microphone: no input device matches 'nothing-like-it'"),
])
def test_doctor_checks_the_configured_microphone_is_there(tmp_path, audio_rig, device, verdict):
    result = doctor(tmp_path, "audio:\n  device: nothing-like-it\n" if device else "")
    assert verdict in result.stdout, result.stdout


def test_doctor_points_at_the_model_setting_when_the_model_is_missing(tmp_path):
    result = doctor(tmp_path, f"transcription:\n  model: {tmp_path / 'gone'}\n")
    assert "[!!] speech model:" in result.stdout and "does not exist" in result.stdout
    assert "fix: set transcription.model to a bundled model (tiny.en)" in result.stdout


def test_doctor_names_the_decoders_and_their_cpu_threads(tmp_path):
    result = doctor(tmp_path, "transcription:\n  device: cpu\n  cpu_threads: 3\n")
    assert f"[ok] speech model: tiny.en (bundled) on cpu (int8_float32, {DECODERS} decoders of 3 threads)" \
        in result.stdout, result.stdout


def test_doctor_names_the_session_and_the_backend_of_each_desktop_part(
        tmp_path, x_display, session_bus, tray_host, audio_rig):
    result = doctor(tmp_path, "")
    lines = result.stdout.splitlines()
    assert f"[ok] session: X11 display {x_display}" in lines
    for line in ("[ok] hotkey: xorg", "[ok] keyboard: xorg; skipped wtype: not a Wayland session; portal: not a "
                 "Wayland session", "[ok] focus: xorg; skipped sway: not a sway session",
                 "[ok] clipboard: xclip; skipped wl-clipboard: no Wayland display",
                 "[ok] notify: dbus", "[ok] tray: gtk"):
        assert any(shown.startswith(line) for shown in lines), result.stdout
    assert result.returncode == 0, result.stdout


def test_doctor_says_which_clipboard_tools_are_missing_and_how_to_get_one(tmp_path, x_display):
    result = doctor(tmp_path, "", PATH=str(tmp_path))
    assert result.returncode == 1
    assert ("[!!] clipboard: no backend: wl-clipboard: no Wayland display; "
            "xclip: xclip not found on PATH; xsel: xsel not found on PATH; "
            "klipper: klipper and qdbus not found on PATH") in result.stdout
    assert "fix: sudo apt install xclip   (or set output.method: type)" in result.stdout
    typing = doctor(tmp_path, "output:\n  method: type\n", PATH=str(tmp_path))
    assert "none needed: output.method is type" in typing.stdout
    assert "[!!] clipboard" not in typing.stdout


def test_doctor_shows_a_forced_backend_and_refuses_an_unknown_one(tmp_path, x_display):
    result = doctor(tmp_path, "", DICTAD_CLIPBOARD_BACKEND="xclip", DICTAD_HOTKEY_BACKEND="xorgg")
    assert "[ok] clipboard: xclip (forced by DICTAD_CLIPBOARD_BACKEND=xclip)" in result.stdout
    assert ("[!!] hotkey: no backend (forced by DICTAD_HOTKEY_BACKEND=xorgg): xorgg: not a hotkey backend "
            "(DICTAD_HOTKEY_BACKEND); choose one of: xorg") in result.stdout
    assert "fix: unset DICTAD_HOTKEY_BACKEND" in result.stdout


def test_doctor_without_a_tray_or_notification_service_is_still_ok_about_them(tmp_path, x_display):
    result = doctor(tmp_path, "", DBUS_SESSION_BUS_ADDRESS="", XDG_RUNTIME_DIR=str(tmp_path))
    assert (f"[ok] tray: no backend: gtk: no system tray on display {x_display} (no panel with a notification "
            "area is running); appindicator: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); dictad "
            "runs without a tray icon") in result.stdout
    assert "[ok] notify: log; skipped dbus: no D-Bus session bus" in result.stdout
