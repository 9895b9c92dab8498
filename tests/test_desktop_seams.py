"""The desktop seams: the session detected from the environment, the generic chooser, and each
concern's choice on real sessions (the rig's X display, bus and tray) and on a Wayland session's
environment (nothing Wayland runs here, and the X11 backends must refuse it by its variables).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictad.desktop import Desktop, survey_all
from dictad.desktop.choosing import Backend, Choice, Unavailable, choose, survey
from dictad.desktop.clipboard import ClipboardUnavailable, choose_clipboard
from dictad.desktop.focus import FocusUnavailable, choose_focus
from dictad.desktop.hotkey import HotkeyUnavailable, choose_hotkey
from dictad.desktop.notify import choose_notifier
from dictad.desktop.session import Session, current_session, detect_session
from dictad.keyspec import parse_keys
from tests.rig.display import TargetWindow


@pytest.mark.parametrize("environ, session", [
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11", "XDG_CURRENT_DESKTOP": "XFCE"},
     Session("x11", "xfce", x_display=":0")),
    ({"DISPLAY": ":1"}, Session("x11", x_display=":1")),
    ({"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/run/user/1000/sway-ipc.1000.7.sock"},
     Session("wayland", "sway", wayland_display="wayland-1", compositor_ipc="/run/user/1000/sway-ipc.1000.7.sock")),
    ({"WAYLAND_DISPLAY": "wayland-1", "HYPRLAND_INSTANCE_SIGNATURE": "abc_123", "XDG_CURRENT_DESKTOP": "Hyprland",
      "DISPLAY": ":0"},
     Session("wayland", "hyprland", x_display=":0", wayland_display="wayland-1", compositor_ipc="abc_123")),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":1", "XDG_SESSION_TYPE": "wayland",
      "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"},
     Session("wayland", "kde", x_display=":1", wayland_display="wayland-0", session_bus="unix:path=/run/user/1000/bus")),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "DISPLAY": ":0"},
     Session("wayland", "gnome", x_display=":0", wayland_display="wayland-0")),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "labwc:wlroots"},
     Session("wayland", "labwc", wayland_display="wayland-0")),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "river"}, Session("wayland", "river", wayland_display="wayland-0")),
    # a systemd user service may lack WAYLAND_DISPLAY in a Wayland session: still Wayland, never X11
    ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, Session("wayland", x_display=":0")),
    ({}, Session("none")),
    ({"XDG_CURRENT_DESKTOP": "GNOME"}, Session("none")),
])
def test_the_session_is_read_from_the_environment(environ: dict[str, str], session: Session) -> None:
    assert detect_session(environ, platform="linux") == session


def test_outside_linux_there_is_no_x11_or_wayland_session_even_with_a_display() -> None:
    session = detect_session({"DISPLAY": ":0"}, platform="darwin")
    assert (session.kind, session.platform) == ("none", "darwin")
    with pytest.raises(HotkeyUnavailable, match="no global hotkey backend for darwin yet"):
        choose_hotkey(session, ("<f9>",), print, print, print)


@pytest.mark.parametrize("environ, described", [
    ({"DISPLAY": ":99"}, "X11 display :99"),
    ({"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/s", "DISPLAY": ":0"}, "Wayland (sway) on wayland-1, XWayland :0"),
    ({"XDG_SESSION_TYPE": "wayland"}, "Wayland (WAYLAND_DISPLAY is not set)"),
    ({}, "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)"),
])
def test_the_session_is_described_for_doctor_and_logs(environ: dict[str, str], described: str) -> None:
    assert detect_session(environ, platform="linux").describe() == described


def test_the_current_session_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE", "NIRI_SOCKET",
                 "XDG_CURRENT_DESKTOP", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent")
    monkeypatch.setenv("DISPLAY", ":42")
    assert current_session() == Session("x11", x_display=":42")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-3")
    assert current_session() == Session("wayland", x_display=":42", wayland_display="wayland-3")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
    assert current_session().session_bus == "unix:path=/run/user/1000/bus"


class OwnUnavailable(Unavailable):
    pass


def backend(name: str, why_not: str | None = None, fails: str = "") -> Backend[str]:
    """A backend that is skipped with ``why_not``, or whose factory fails with ``fails``, or that
    makes the string "made NAME"."""
    def make(session: Session) -> str:
        if fails:
            raise OwnUnavailable(fails)
        return f"made {name}"

    return Backend(name, lambda session: why_not, make)


X11 = Session("x11", x_display=":0")


def test_the_first_backend_that_fits_is_chosen_and_the_skipped_ones_say_why_in_order() -> None:
    backends = (backend("first", "first is off"), backend("second", "second is off"), backend("third"),
                backend("fourth"))
    choice = survey("test", backends, X11, environ={})
    assert (choice.chosen, choice.skipped) == ("third", (("first", "first is off"), ("second", "second is off")))
    assert choice.describe() == "third; skipped first: first is off; second: second is off"
    assert choose("test", backends, X11, OwnUnavailable, environ={}) == "made third"


def test_a_backend_that_cannot_be_made_gives_way_to_the_next() -> None:
    backends = (backend("broken", fails="cannot connect"), backend("spare"))
    assert choose("test", backends, X11, OwnUnavailable, environ={}) == "made spare"


def test_when_none_fits_the_error_lists_every_reason_and_a_lone_one_as_it_is() -> None:
    with pytest.raises(OwnUnavailable, match=r"^a: a is off; b: cannot connect$"):
        choose("test", (backend("a", "a is off"), backend("b", fails="cannot connect")), X11, OwnUnavailable,
               environ={})
    with pytest.raises(OwnUnavailable, match=r"^a is off$"):
        choose("test", (backend("a", "a is off"),), X11, OwnUnavailable, environ={})
    with pytest.raises(OwnUnavailable, match=r"^install a$"):
        choose("test", (backend("a", "a is off"),), X11, OwnUnavailable, none_fits="install a", environ={})


def test_the_environment_variable_forces_one_backend() -> None:
    backends = (backend("first"), backend("second", "second is off"), backend("third"))
    forced = {"DICTAD_TEST_BACKEND": "third"}
    assert choose("test", backends, X11, OwnUnavailable, environ=forced) == "made third"
    assert survey("test", backends, X11, environ=forced).describe() == "third (forced by DICTAD_TEST_BACKEND=third)"
    with pytest.raises(OwnUnavailable, match=r"^second is off$"):  # forced means no other is tried
        choose("test", backends, X11, OwnUnavailable, environ={"DICTAD_TEST_BACKEND": "second"})


def test_an_unknown_forced_backend_is_refused_naming_the_allowed_ones() -> None:
    backends = (backend("first"), backend("second"))
    with pytest.raises(OwnUnavailable, match=r"DICTAD_TEST_BACKEND.*choose one of: first, second"):
        choose("test", backends, X11, OwnUnavailable, environ={"DICTAD_TEST_BACKEND": "thrid"})
    assert survey("test", backends, X11, environ={"DICTAD_TEST_BACKEND": "thrid"}).chosen is None


WAYLAND = detect_session({"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/s"}, platform="linux")


@pytest.fixture
def nothing_on_wayland(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tools on PATH and no session bus: every Wayland backend has a reason to step aside."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))


def test_in_a_wayland_session_each_backend_steps_aside_with_its_reason(nothing_on_wayland) -> None:
    choices = {choice.concern: choice for choice in survey_all(WAYLAND, environ={})}
    assert choices["hotkey"].skipped[0][0] == "xorg"
    assert choices["hotkey"].skipped[0][1].startswith("Wayland session: apps cannot grab global keys")
    assert [name for name, _ in choices["keyboard"].skipped] == ["wtype", "portal", "xorg", "xwayland"]
    assert "xwayland: no XWayland (DISPLAY is not set in this Wayland session)" in choices["keyboard"].describe()
    assert choices["keyboard"].describe().startswith("no backend: wtype: wtype not found on PATH (install the wtype")
    assert "xorg: Wayland session: XTEST reaches only XWayland windows" in choices["keyboard"].describe()
    assert choices["focus"].chosen == "sway"  # SWAYSOCK names sway's socket
    assert choices["clipboard"].skipped[0] == ("wl-clipboard", "wl-copy and wl-paste not found on PATH")


def test_where_only_xwayland_can_be_reached_its_keys_and_window_names_are_used(nothing_on_wayland) -> None:
    """GNOME with remote control refused: no wtype, no portal, but XWayland (DISPLAY) for its X11 windows."""
    gnome = detect_session({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME", "DISPLAY": ":0"},
                           platform="linux")
    choices = {choice.concern: choice for choice in survey_all(gnome, environ={})}
    assert (choices["keyboard"].chosen, choices["focus"].chosen) == ("xwayland", "xwayland")
    assert [name for name, _ in choices["keyboard"].skipped] == ["wtype", "portal", "xorg"]
    assert "xorg: Wayland session: XTEST reaches only XWayland windows (the xwayland backend sends to those)" in \
        choices["keyboard"].describe()


def test_delivery_in_a_wayland_session_with_nothing_to_send_keys_keeps_the_text_and_says_why(
        default_config, nothing_on_wayland) -> None:
    from dictad.inject import deliver

    delivery = deliver("Kept for later.", default_config.output, Desktop(WAYLAND))
    assert not delivery.delivered
    assert "wtype not found on PATH" in delivery.reason
    assert delivery.reason.endswith("nor could it go on the clipboard: no clipboard tool: install wl-clipboard")


def choice_of(concern: str, session: Session | None = None) -> Choice:
    """What the chooser of ``concern`` would pick in ``session``, the current one by default (cheap checks only)."""
    return next(choice for choice in survey_all(session or current_session()) if choice.concern == concern)


@pytest.mark.slow
def test_on_an_x11_display_the_xorg_backends_serve(target_window: TargetWindow) -> None:
    assert [choice_of(concern).chosen for concern in ("hotkey", "keyboard", "focus")] == ["xorg"] * 3
    # "instance/class": Tk numbers the instance ("dictadtarget #2") while an earlier one is registered
    assert Desktop().focus().focused_app().endswith("/dictadtarget")


@pytest.mark.slow
def test_on_an_x11_display_the_clipboard_is_xclip(x_display: str) -> None:
    assert choice_of("clipboard").chosen == "xclip"
    Desktop().copy("copied through the seam")
    assert subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, text=True,
                          timeout=10).stdout == "copied through the seam"


@pytest.mark.slow
def test_without_clipboard_tools_there_is_no_clipboard_and_each_tool_is_named(
        x_display: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = choice_of("clipboard")
    assert choice.skipped == (("wl-clipboard", "no Wayland display"), ("xclip", "xclip not found on PATH"),
                              ("xsel", "xsel not found on PATH"), ("klipper", "klipper and qdbus not found on PATH"))
    with pytest.raises(ClipboardUnavailable, match="^no clipboard tool: install xclip or xsel$"):
        choose_clipboard(current_session())


@pytest.mark.slow
def test_a_forced_clipboard_tool_that_is_missing_says_so(x_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICTAD_CLIPBOARD_BACKEND", "xsel")  # xsel is not installed on the rig
    with pytest.raises(ClipboardUnavailable, match="^xsel not found on PATH$"):
        choose_clipboard(current_session())


@pytest.mark.slow
def test_notifications_go_over_the_session_bus(session_bus: str) -> None:
    assert choice_of("notify").chosen == "dbus"


@pytest.mark.slow
def test_without_a_session_bus_notifications_are_logged(
        x_display: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bus socket in it
    choice = choice_of("notify")
    assert choice.describe() == "log; skipped dbus: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    with caplog.at_level(logging.WARNING):
        choose_notifier(current_session(), "dictad").notify("the text is kept in Recent dictations")
    assert "the text is kept in Recent dictations" in caplog.text


@pytest.mark.slow
def test_the_tray_is_gtk_where_a_panel_hosts_one(tray_host) -> None:
    assert choice_of("tray").chosen == "gtk"


@pytest.mark.slow
def test_without_a_panel_the_tray_says_why(x_display: str, session_bus: str) -> None:
    choice = choice_of("tray")
    assert choice.describe() == (f"no backend: gtk: no system tray on display {x_display} "
                                 "(no panel with a notification area is running); appindicator: no StatusNotifier "
                                 "host (nothing owns org.kde.StatusNotifierWatcher on the session bus): KDE Plasma, "
                                 "swaybar and Waybar's tray have one; on GNOME, enable the AppIndicator extension")


HYPRLAND = detect_session({"WAYLAND_DISPLAY": "wayland-1", "HYPRLAND_INSTANCE_SIGNATURE": "abc_123"}, platform="linux")
ACTIVEWINDOW_KITTY = '{"address": "0x55d5e2f0", "class": "kitty", "initialClass": "kitty", "title": "~", "pid": 4242}'


def stand_in_hyprctl(folder: Path, answer: str, status: int = 0) -> None:
    """Hyprland is not in Debian 12, so `hyprctl` is a script that answers `activewindow -j` as the
    real one does (its JSON fields as Hyprland 0.4x prints them)."""
    script = folder / "hyprctl"
    script.write_text(f"#!/bin/sh\n[ \"$*\" = 'activewindow -j' ] || exit 3\necho '{answer}'\nexit {status}\n")
    script.chmod(0o755)


def test_on_hyprland_the_focused_class_comes_from_hyprctl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           default_config) -> None:
    from dictad.inject import choose_method

    stand_in_hyprctl(tmp_path, ACTIVEWINDOW_KITTY)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert choose_focus(HYPRLAND).focused_app() == "kitty"
    assert choose_method(default_config.output, "kitty") == ("paste", parse_keys(default_config.output.terminal_paste_keys))


def test_a_failing_hyprctl_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stand_in_hyprctl(tmp_path, "HYPRLAND_INSTANCE_SIGNATURE was not set!", status=1)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(FocusUnavailable, match="hyprctl"):
        choose_focus(HYPRLAND).focused_app()


NIRI_FOOT = {"id": 12, "title": "~", "app_id": "foot", "pid": 4242, "workspace_id": 1, "is_focused": True,
             "is_floating": False, "is_urgent": False}


@contextlib.contextmanager
def stand_in_niri(folder: Path, reply: object) -> Iterator[Session]:
    """niri is not in Debian 12: a socket that answers one request per connection the way niri's IPC
    does (a JSON request line, a JSON reply line), keeping what it was asked."""
    path = folder / "niri.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    asked: list[bytes] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = server.accept()
                with connection:
                    asked.append(connection.makefile("rb").readline())
                    connection.sendall(json.dumps(reply).encode() + b"\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield detect_session({"WAYLAND_DISPLAY": "wayland-1", "NIRI_SOCKET": str(path)}, platform="linux")
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        server.close()
        path.unlink()
    assert set(asked) <= {b'"FocusedWindow"\n'}, asked


@pytest.mark.parametrize("reply, app", [
    ({"Ok": {"FocusedWindow": NIRI_FOOT}}, "foot"),
    ({"Ok": {"FocusedWindow": {**NIRI_FOOT, "app_id": "org.wezfurlong.wezterm"}}}, "org.wezfurlong.wezterm"),
    ({"Ok": {"FocusedWindow": None}}, ""),  # an empty workspace has the focus
])
def test_on_niri_the_focused_app_id_comes_from_its_socket(tmp_path: Path, reply: object, app: str) -> None:
    with stand_in_niri(tmp_path, reply) as niri:
        assert choice_of("focus", niri).chosen == "niri"
        assert choose_focus(niri).focused_app() == app


def test_a_niri_that_refuses_or_is_gone_says_why(tmp_path: Path) -> None:
    with stand_in_niri(tmp_path, {"Err": "unknown request"}) as niri:
        with pytest.raises(FocusUnavailable, match="niri refused FocusedWindow: unknown request"):
            choose_focus(niri).focused_app()
    with pytest.raises(FocusUnavailable, match="niri's IPC socket .* did not answer"):
        choose_focus(niri).focused_app()
