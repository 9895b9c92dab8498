"""The global push-to-talk hotkey: one small interface, one backend per platform.

The daemon asks for a listener for its key combination and gets one that reports
presses and releases of exactly that combination (hold or toggle is the daemon's
policy). When no backend can serve, one ``HotkeyUnavailable`` says why, and dictad
goes on without a hotkey (the control socket still starts and stops dictation).
"""

from __future__ import annotations

import importlib.util
from typing import Callable, Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import Session

CONCERN = "hotkey"
BINDING_COMPOSITORS = frozenset({"sway", "river", "labwc", "wayfire"})
"""wlroots desktops whose portal (xdg-desktop-portal-wlr) has no GlobalShortcuts; Hyprland's has."""


class HotkeyUnavailable(Unavailable):
    """No global hotkey here; the message says why, in words for the user."""


class HotkeyListener(Protocol):
    def start(self) -> None:
        """Take the combination; raises HotkeyUnavailable if it cannot be had."""

    def stop(self) -> None:
        """Give the combination (and Escape) back; safe to call more than once."""

    def set_escape_grab(self, active: bool) -> None:
        """Take Escape from other apps (while recording) or give it back."""


def choose_hotkey(session: Session, keys: tuple[str, ...], on_press: Callable[[], None],
                  on_release: Callable[[], None], on_escape: Callable[[], None]) -> HotkeyListener:
    """A listener (not started) for ``keys`` (parts as ``dictad.keyspec.parse_keys`` gives them).

    The callbacks run on the listener's own thread and must return quickly.
    """
    return choose(CONCERN, BACKENDS, session, HotkeyUnavailable, keys, on_press, on_release, on_escape)


def _why_not_xorg(session: Session) -> str | None:
    if session.platform in ("win32", "darwin"):
        return (f"no global hotkey backend for {session.platform} yet; "
                "start and stop dictation through the control socket")
    if session.kind == "wayland":
        return "Wayland session: apps cannot grab global keys there"
    if not session.x_display:
        return ("no X display (DISPLAY is not set): the global hotkey needs an X11 session; "
                "the control socket still starts and stops dictation")
    return None


def _make_xorg(session: Session, keys: tuple[str, ...], on_press: Callable[[], None],
               on_release: Callable[[], None], on_escape: Callable[[], None]) -> HotkeyListener:
    from dictad.desktop.hotkey._xorg import XorgHotkeyListener

    return XorgHotkeyListener(session.x_display, keys, on_press, on_release, on_escape)


def _why_not_portal(session: Session) -> str | None:
    if session.desktop in BINDING_COMPOSITORS:
        return (f"{session.desktop}'s portal has no global shortcuts: {session.desktop} binds the keys itself "
                "(`dictad bindings` prints the lines for its config)")
    if importlib.util.find_spec("jeepney") is None:
        return "jeepney is not installed (pip install jeepney)"
    from dictad.desktop.portal import why_not_portal

    return why_not_portal(session)


def _make_portal(session: Session, keys: tuple[str, ...], on_press: Callable[[], None],
                 on_release: Callable[[], None], on_escape: Callable[[], None]) -> HotkeyListener:
    """Binds the shortcut already, which may show the desktop's dialog once."""
    from dictad.desktop.hotkey._portal import PortalHotkeyListener

    return PortalHotkeyListener(session.session_bus, keys, on_press, on_release, on_escape)


BACKENDS = (Backend("xorg", _why_not_xorg, _make_xorg), Backend("portal", _why_not_portal, _make_portal))
