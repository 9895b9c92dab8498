"""The clipboard, as text: read what the user copied, put text on it.

pyperclip runs the clipboard tools; the backends are its tools, tried in the order pyperclip
itself picks them (wl-clipboard in a Wayland session, then xclip, xsel and KDE's klipper).
"""

from __future__ import annotations

import shutil
from functools import partial
from typing import Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import Session

CONCERN = "clipboard"
NO_CLIPBOARD_TOOL = "no clipboard tool: install xclip or xsel"


class ClipboardUnavailable(Unavailable):
    """The clipboard cannot be used (no tool, or the tool failed); the message says why, for the user."""


class Clipboard(Protocol):
    def read(self) -> str | None:
        """The clipboard's text ("" when it holds none); None when it holds data that is not text."""

    def write(self, text: str) -> None:
        """Put ``text`` on the clipboard; the tool may take it a moment after this returns."""


def choose_clipboard(session: Session) -> Clipboard:
    return choose(CONCERN, BACKENDS, session, ClipboardUnavailable, none_fits=NO_CLIPBOARD_TOOL)


def _why_not_wl_clipboard(session: Session) -> str | None:
    if not session.wayland_display:
        return "no Wayland display"
    return _missing("wl-copy", "wl-paste")


def _why_not_x11_tool(tools: tuple[str, ...], session: Session) -> str | None:
    if not session.x_display:
        return "no X display (DISPLAY is not set)"
    return _missing(*tools)


def _missing(*tools: str) -> str | None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found on PATH" if missing else None


def _make_pyperclip(tool: str, session: Session) -> Clipboard:
    from dictad.desktop.clipboard._pyperclip import PyperclipClipboard

    return PyperclipClipboard(tool)


BACKENDS = (
    Backend("wl-clipboard", _why_not_wl_clipboard, partial(_make_pyperclip, "wl-clipboard")),
    Backend("xclip", partial(_why_not_x11_tool, ("xclip",)), partial(_make_pyperclip, "xclip")),
    Backend("xsel", partial(_why_not_x11_tool, ("xsel",)), partial(_make_pyperclip, "xsel")),
    Backend("klipper", partial(_why_not_x11_tool, ("klipper", "qdbus")), partial(_make_pyperclip, "klipper")),
)
