"""Text delivery on Wayland, for real: a headless sway (tests/rig/wayland.py), wtype's virtual keyboard,
wl-clipboard, and a GTK 3 window and foot as targets, as ../shared/wayland-test-rig.md describes.
A compositor without a virtual keyboard is weston, headless."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dictad.desktop import Desktop
from dictad.desktop.bindings import binding_lines
from dictad.desktop.session import current_session
from dictad.inject import deliver
from dictad.keyspec import parse_hotkey
from Xlib import error as xlib_error
from Xlib.protocol import event as xlib_event
from Xlib.protocol.display import Display as XlibConnection

from tests.rig.daemon import DaemonProcess, daemons
from tests.rig.speech import wav_seconds, word_errors
from tests.rig.waiting import wait_until
from tests.rig.wayland import SwaySession, running_sway, running_weston, sway  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

UNICODE = "Café — naïve ✓ straße"


def wl_paste(*args: str) -> bytes:
    return subprocess.run(["wl-paste", "--no-newline", *args], capture_output=True, timeout=10).stdout


def clipboard_tools_only(folder: Path) -> str:
    """A PATH with wl-clipboard and nothing that types (no wtype)."""
    tools = folder / "bin"
    tools.mkdir()
    for tool in ("wl-copy", "wl-paste", "cat"):  # wl-copy runs cat to serve the text
        (tools / tool).symlink_to(shutil.which(tool))
    return str(tools)


def output(default_config, **changes):
    return dataclasses.replace(default_config.output, **changes)


def test_the_session_is_sway_and_its_backends_are_chosen(sway: SwaySession) -> None:
    desktop = Desktop(current_session())
    target = sway.open_gtk_window("dictad-choice")
    assert (current_session().kind, current_session().desktop) == ("wayland", "sway")
    assert desktop.focus().focused_app() == "dictad-choice"
    assert type(desktop.keyboard()).__name__ == "WtypeKeyboard"
    target.process.terminate()


@pytest.mark.parametrize("method", ["paste", "type", "auto"])
def test_unicode_lands_exactly_in_a_gtk3_window(sway: SwaySession, default_config, method: str) -> None:
    target = sway.open_gtk_window(f"dictad-{method}")
    subprocess.run(["wl-copy", "what the user had"], check=True, timeout=10)
    delivery = deliver(UNICODE, output(default_config, method=method), Desktop(current_session()))
    assert delivery.delivered, delivery.reason
    assert delivery.method == ("type" if method == "type" else "paste")
    assert delivery.target == f"dictad-{method}"
    assert target.wait_for_text(UNICODE) == UNICODE + " "  # output.append: a space
    assert wl_paste().decode() == "what the user had"  # given back after the paste
    target.process.terminate()


def test_foot_gets_its_terminal_paste_keys_and_no_control_byte(sway: SwaySession, default_config) -> None:
    terminal = sway.open_foot()
    delivery = deliver("echo héllo ✓", default_config.output, Desktop(current_session()))
    assert (delivery.delivered, delivery.method, delivery.target) == (True, "paste", "foot")
    text = terminal.wait_for_text("echo héllo ✓")
    assert text == "echo héllo ✓ "
    assert not [char for char in text if ord(char) < 0x20]  # no ^V (0x16) reached the program
    terminal.process.terminate()


def test_an_image_on_the_clipboard_is_still_there_after_a_paste(sway: SwaySession, default_config,
                                                                tmp_path: Path) -> None:
    image = tmp_path / "copied.png"
    subprocess.run(["convert", "-size", "8x8", "xc:red", str(image)], check=True, timeout=30)
    subprocess.run(["wl-copy", "--type", "image/png"], stdin=image.open("rb"), check=True, timeout=10)
    target = sway.open_gtk_window("dictad-image")
    delivery = deliver("Over an image.", output(default_config, method="paste"), Desktop(current_session()))
    assert delivery.delivered, delivery.reason
    target.wait_for_text("Over an image.")
    assert wl_paste("--list-types").split() == [b"image/png"]
    assert hashlib.sha256(wl_paste("--type", "image/png")).digest() == hashlib.sha256(image.read_bytes()).digest()
    target.process.terminate()


def test_without_a_way_to_send_keys_the_text_waits_on_the_clipboard(
        sway: SwaySession, default_config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No wtype (the way KDE or GNOME refuse it), no portal, no XWayland: the clipboard holds the text."""
    target = sway.open_gtk_window("dictad-nokeys")
    monkeypatch.setenv("PATH", clipboard_tools_only(tmp_path))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    delivery = deliver("Paste me yourself.", default_config.output, Desktop(current_session()))
    assert (delivery.delivered, delivery.method) == (False, "clipboard"), delivery.reason
    assert delivery.reason.startswith("it is on the clipboard: press Ctrl+V to paste it; no keys can be sent here")
    assert "wtype not found on PATH" in delivery.reason
    assert wl_paste().decode() == "Paste me yourself. "
    assert target.text() == ""
    target.process.terminate()


def test_a_compositor_without_a_virtual_keyboard_is_named_and_the_text_kept(default_config, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with running_weston(tmp_path):
        delivery = deliver("Kept for later.", default_config.output, Desktop(current_session()))
    assert not delivery.delivered
    assert delivery.text == "Kept for later. "
    assert "wtype cannot type here: Compositor does not support the virtual keyboard protocol" in delivery.reason
    assert "nor could it go on the clipboard" in delivery.reason  # headless weston has no seat for wl-copy either


@pytest.fixture(scope="module")
def sway_with_xwayland(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwaySession]:
    with running_sway(tmp_path_factory.mktemp("sway-xwayland"), xwayland=True) as session:
        yield session


def fresh_xlib_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-xlib keeps its extension tables (opcodes, event and error numbers) in class attributes shared
    by every connection of a process. This test process spoke to Xvfb before, whose extensions are
    numbered otherwise than XWayland's, so these tests start python-xlib with fresh ones (the daemon
    talks to one X server only)."""
    monkeypatch.setattr(XlibConnection, "extension_major_opcodes", {})
    monkeypatch.setattr(XlibConnection, "event_classes", xlib_event.event_class.copy())
    monkeypatch.setattr(XlibConnection, "error_classes", xlib_error.xerror_class.copy())


def nothing_types_but_xtest(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """No wtype and no portal (GNOME or KDE with remote control refused): only XWayland's XTEST is left."""
    monkeypatch.setenv("PATH", clipboard_tools_only(folder))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    fresh_xlib_tables(monkeypatch)


@pytest.mark.parametrize("method", ["paste", "type"])
def test_an_x11_window_under_xwayland_gets_the_text_through_xtest(
        sway_with_xwayland: SwaySession, default_config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        method: str) -> None:
    target = sway_with_xwayland.open_gtk_window(f"dictad-x11-{method}", backend="x11")
    subprocess.run(["wl-copy", "what the user had"], check=True, timeout=10)
    nothing_types_but_xtest(monkeypatch, tmp_path)
    desktop = Desktop(current_session())
    delivery = deliver(UNICODE, output(default_config, method=method), desktop)
    assert type(desktop.keyboard()).__name__ == "XWaylandKeyboard"
    assert (delivery.delivered, delivery.method) == (True, method), delivery.reason
    assert delivery.target.split("/")[0] == f"dictad-x11-{method}"  # sway names an X11 window by its WM_CLASS
    assert target.wait_for_text(UNICODE) == UNICODE + " "
    assert wl_paste().decode() == "what the user had"
    target.process.terminate()


def test_xterm_under_xwayland_gets_the_words_typed_and_no_control_byte(
        sway_with_xwayland: SwaySession, default_config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    terminal = sway_with_xwayland.open_xterm()
    nothing_types_but_xtest(monkeypatch, tmp_path)
    delivery = deliver("echo héllo ✓", default_config.output, Desktop(current_session()))
    assert (delivery.delivered, delivery.method, delivery.target) == (True, "type", "xterm/xterm")
    text = terminal.wait_for_text("echo héllo ✓")
    assert text == "echo héllo ✓ "
    assert not [char for char in text if ord(char) < 0x20]
    terminal.process.terminate()


def test_the_xwayland_focus_backend_names_x11_windows_and_not_wayland_ones(
        sway_with_xwayland: SwaySession, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the compositor cannot be asked (GNOME, KDE), XWayland still names its own windows."""
    monkeypatch.setenv("DICTAD_FOCUS_BACKEND", "xwayland")
    fresh_xlib_tables(monkeypatch)
    focus = Desktop(current_session()).focus()
    x11_window = sway_with_xwayland.open_gtk_window("dictad-x11-named", backend="x11")
    assert focus.focused_app().split("/")[0] == "dictad-x11-named"
    wayland_window = sway_with_xwayland.open_gtk_window("dictad-wayland-unnamed")
    assert focus.focused_app() == ""
    x11_window.process.terminate()
    wayland_window.process.terminate()


def test_a_wayland_window_out_of_xtests_reach_gets_the_text_on_the_clipboard(
        sway_with_xwayland: SwaySession, default_config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = sway_with_xwayland.open_gtk_window("dictad-beyond-xtest")
    nothing_types_but_xtest(monkeypatch, tmp_path)
    delivery = deliver("Paste me here.", default_config.output, Desktop(current_session()))
    assert (delivery.delivered, delivery.method) == (False, "clipboard"), delivery.reason
    assert delivery.reason.startswith("it is on the clipboard: press Ctrl+V to paste it; the focused window is a "
                                      "Wayland window")
    assert wl_paste().decode() == "Paste me here. "
    assert target.text() == ""
    target.process.terminate()


SPOKEN = "The kitchen needs new lights before the party on Saturday."
HOLD_KEYS = ("-M", "ctrl", "-M", "alt")
LET_GO = ("-m", "alt", "-m", "ctrl")


@pytest.fixture
def sway_with_bindings(tmp_path: Path, default_config) -> Iterator[SwaySession]:
    """sway whose config has exactly the lines `dictad bindings` prints for the default hotkey."""
    lines = binding_lines("sway", parse_hotkey(default_config.hotkey), [sys.executable, "-m", "dictad"])
    with running_sway(tmp_path / "sway", extra_config=lines + "\n") as session:
        yield session


@pytest.fixture
def wayland_daemon(sway_with_bindings: SwaySession, audio_rig, tmp_path: Path) -> Iterator[Callable[[str], DaemonProcess]]:
    with daemons(tmp_path) as start:
        yield start


def test_holding_the_hotkey_through_sways_bindings_dictates_into_the_focused_window(
        sway_with_bindings: SwaySession, wayland_daemon, audio_rig, make_clip) -> None:
    daemon = wayland_daemon()
    target = sway_with_bindings.open_gtk_window("dictad-held")
    clip = make_clip(SPOKEN)
    hold_ms = int(1000 * (wav_seconds(clip) + 2.5))
    # the bound keys go down; sway runs `dictad start`, and `dictad stop` when space comes up
    holding = subprocess.Popen(["wtype", *HOLD_KEYS, "-P", "space", "-s", str(hold_ms), "-p", "space", *LET_GO])
    wait_until(lambda: daemon.event("recording_started"), 10, f"recording to start; log:\n{daemon.log()}")
    audio_rig.play(clip).wait()
    holding.wait(timeout=30)
    injected = wait_until(lambda: daemon.event("injected"), 60, f"the text to be delivered; log:\n{daemon.log()}")
    assert injected["method"] == "paste"
    text = target.wait_for_text("Saturday", timeout=10)
    errors, total = word_errors(SPOKEN, text)
    assert errors / total <= 0.35, text


def test_a_release_that_never_comes_does_not_leave_the_recording_running(
        sway_with_bindings: SwaySession, wayland_daemon) -> None:
    """sway drops a --release binding when another key is pressed during the hold."""
    daemon = wayland_daemon("mode: hold\naudio:\n  max_duration_s: 3\n")
    sway_with_bindings.open_gtk_window("dictad-stuck")
    sway_with_bindings.wtype(*HOLD_KEYS, "-P", "space", "-s", "300", "-k", "a", "-s", "300", "-p", "space", *LET_GO)
    wait_until(lambda: daemon.event("recording_started"), 10, f"recording to start; log:\n{daemon.log()}")
    status = subprocess.run([sys.executable, "-m", "dictad", "status"], capture_output=True, text=True, timeout=10)
    assert status.stdout.startswith("state: recording"), status.stdout + status.stderr
    stopped = wait_until(lambda: daemon.event("recording_stopped"), 15, "the recording to end at max_duration_s")
    assert stopped["held_s"] >= 2.9
    wait_until(lambda: daemon.events_named("state")[-1]["state"] != "recording", 5, "the tray's state to leave recording")
    assert "recording stopped at audio.max_duration_s" in daemon.log()


def test_with_no_way_to_send_keys_the_daemon_leaves_the_text_on_the_clipboard_and_says_so(
        sway_with_bindings: SwaySession, wayland_daemon, audio_rig, make_clip, notifications_sent,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The daemon finds no wtype (GNOME and KDE refuse wtype's virtual keyboard the same way) and no
    portal: the words wait on the clipboard, a notification says "press Ctrl+V", and `dictad recent` has them."""
    with monkeypatch.context() as only_clipboard_tools:
        only_clipboard_tools.setenv("PATH", clipboard_tools_only(tmp_path))
        daemon = wayland_daemon()
    target = sway_with_bindings.open_gtk_window("dictad-keyless")
    clip = make_clip(SPOKEN)
    holding = subprocess.Popen(["wtype", *HOLD_KEYS, "-P", "space", "-s", str(int(1000 * (wav_seconds(clip) + 2.5))),
                                "-p", "space", *LET_GO])
    wait_until(lambda: daemon.event("recording_started"), 10, f"recording to start; log:\n{daemon.log()}")
    audio_rig.play(clip).wait()
    holding.wait(timeout=30)
    error = wait_until(lambda: daemon.event("error"), 60, f"the undelivered text to be reported; log:\n{daemon.log()}")
    assert "it is on the clipboard: press Ctrl+V to paste it" in error["message"]
    assert "wtype not found on PATH" in error["message"]
    assert "Saturday" in wl_paste().decode()
    wait_until(lambda: "press Ctrl+V to paste it" in notifications_sent(), 10, "the notification")
    recent = subprocess.run([sys.executable, "-m", "dictad", "recent"], capture_output=True, text=True, timeout=30)
    assert "Saturday" in recent.stdout, recent.stdout + recent.stderr
    assert target.text() == ""
    assert not daemon.events_named("injected")
