"""Which application has the keyboard focus: the window class on X11, the app id on Wayland.

``dictad.inject`` picks the paste keys by it (terminals paste with Ctrl+Shift+V). Unknown is
"", and then every window gets the ordinary paste keys.
"""

from __future__ import annotations

import shutil
from typing import Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import Session, why_no_xwayland

CONCERN = "focus"


class FocusUnavailable(Unavailable):
    """The focused application cannot be found out here; the message says why."""


class Focus(Protocol):
    def focused_app(self) -> str:
        """The focused application's names, lower case, joined by "/" (X11: "instance/class");
        "" when unknown."""


def choose_focus(session: Session) -> Focus:
    return choose(CONCERN, BACKENDS, session, FocusUnavailable)


def _why_not_sway(session: Session) -> str | None:
    if session.desktop != "sway" or not session.compositor_ipc:
        return "not a sway session (SWAYSOCK is not set)"
    return None


def _make_sway(session: Session) -> Focus:
    from dictad.desktop.focus._sway import SwayFocus

    return SwayFocus(session.compositor_ipc)


def _why_not_hyprland(session: Session) -> str | None:
    if session.desktop != "hyprland":
        return "not a Hyprland session"
    return None if shutil.which("hyprctl") else "hyprctl not found on PATH"


def _make_hyprland(session: Session) -> Focus:
    from dictad.desktop.focus._hyprland import HyprlandFocus

    return HyprlandFocus()


def _why_not_niri(session: Session) -> str | None:
    if session.desktop != "niri" or not session.compositor_ipc:
        return "not a niri session (NIRI_SOCKET is not set)"
    return None


def _make_niri(session: Session) -> Focus:
    from dictad.desktop.focus._niri import NiriFocus

    return NiriFocus(session.compositor_ipc)


def _why_not_xorg(session: Session) -> str | None:
    if session.platform in ("win32", "darwin"):
        return f"no backend for {session.platform} yet"
    if session.kind == "wayland":
        return "Wayland session: X11 window classes name only XWayland windows (the xwayland backend asks those)"
    if not session.x_display:
        return "no X display (DISPLAY is not set)"
    return None


def _make_xorg(session: Session) -> Focus:
    from dictad.desktop.focus._xorg import XorgFocus

    return XorgFocus(session.x_display)


BACKENDS = (
    Backend("sway", _why_not_sway, _make_sway),
    Backend("hyprland", _why_not_hyprland, _make_hyprland),
    Backend("niri", _why_not_niri, _make_niri),
    Backend("xorg", _why_not_xorg, _make_xorg),
    Backend("xwayland", why_no_xwayland, _make_xorg),
)
