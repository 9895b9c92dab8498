"""Key injection: typing text and pressing paste keys in the focused window, as a keyboard would.

What to send (paste or type, which keys) is ``dictad.inject``'s policy; a backend only sends.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import Session, why_no_xwayland

CONCERN = "keyboard"


class KeyboardUnavailable(Unavailable):
    """No backend can send keys here; the message says why, in words for the user."""


class KeysNotSent(Exception):
    """These keys could not be sent now; the message says why, in words for the user."""


class KeysHeld(KeysNotSent):
    """Keys were still held when the text was to go in: nothing was sent, so they could not mix."""


class OutOfReach(KeysNotSent):
    """The focused window is one this backend's keys cannot reach (a Wayland window, for XTEST
    through XWayland): the text goes on the clipboard for the user to paste."""


class Keyboard(Protocol):
    def press_combination(self, keys: tuple[str, ...]) -> None:
        """Press and release a combination (parts as ``dictad.keyspec.parse_keys`` gives them)."""

    def type_text(self, text: str) -> None:
        """Type ``text`` as key presses, whatever the keyboard layout."""


def choose_keyboard(session: Session) -> Keyboard:
    return choose(CONCERN, BACKENDS, session, KeyboardUnavailable)


def _why_not_wtype(session: Session) -> str | None:
    if session.kind != "wayland":
        return "not a Wayland session"
    if not session.wayland_display:
        return "WAYLAND_DISPLAY is not set"
    if shutil.which("wtype") is None:
        return "wtype not found on PATH (install the wtype package: it types on sway, Hyprland, river, niri)"
    return None


def _make_wtype(session: Session) -> Keyboard:
    """Probes the compositor: KDE and GNOME refuse the virtual keyboard, and the next backend is tried."""
    from dictad.desktop.keyboard._wtype import WtypeKeyboard

    return WtypeKeyboard()


def _why_not_xorg(session: Session) -> str | None:
    if session.platform in ("win32", "darwin"):
        return f"no backend for {session.platform} yet: dictad cannot put text into windows here"
    if session.kind == "wayland":
        return "Wayland session: XTEST reaches only XWayland windows (the xwayland backend sends to those)"
    if not session.x_display:
        return "no X display (DISPLAY is not set): there is no window to put the text into"
    return None


def _make_xorg(session: Session) -> Keyboard:
    from dictad.desktop.keyboard._xorg import XorgKeyboard

    return XorgKeyboard(session.x_display)


def _why_not_portal(session: Session) -> str | None:
    if importlib.util.find_spec("jeepney") is None:
        return "jeepney is not installed (pip install jeepney)"
    from dictad.desktop.portal import why_not_portal

    return why_not_portal(session)


def _make_portal(session: Session) -> Keyboard:
    """Starts the RemoteDesktop session, which may show the desktop's permission dialog once."""
    from dictad.desktop.keyboard._portal import PortalKeyboard

    return PortalKeyboard(session.session_bus)


def _make_xwayland(session: Session) -> Keyboard:
    from dictad.desktop.keyboard._xwayland import XWaylandKeyboard

    return XWaylandKeyboard(session.x_display)


BACKENDS = (
    Backend("wtype", _why_not_wtype, _make_wtype),
    Backend("portal", _why_not_portal, _make_portal),
    Backend("xorg", _why_not_xorg, _make_xorg),
    Backend("xwayland", why_no_xwayland, _make_xwayland),
)
