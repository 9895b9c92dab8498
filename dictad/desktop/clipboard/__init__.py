"""The clipboard: read what the user copied, put text on it, and put back what was there.

On Wayland, wl-clipboard's tools are run directly, so that an image survives (``_wl``). On X11,
pyperclip runs the tools, tried in the order pyperclip itself picks them (xclip, xsel, KDE's klipper).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import Session

CONCERN = "clipboard"
NO_CLIPBOARD_TOOL = "no clipboard tool: install xclip or xsel"
NO_WAYLAND_CLIPBOARD_TOOL = "no clipboard tool: install wl-clipboard"


class ClipboardUnavailable(Unavailable):
    """The clipboard cannot be used (no tool, or the tool failed); the message says why, for the user."""


@dataclass(frozen=True)
class ClipboardData:
    """What the clipboard held when it was not text (an image), in one of its types, to be put back."""

    kind: str  # the MIME type, e.g. "image/png"
    data: bytes

    def __repr__(self) -> str:
        return f"ClipboardData({self.kind!r}, {len(self.data)} bytes)"


class Clipboard(Protocol):
    def read(self) -> str | ClipboardData | None:
        """What the clipboard holds, in a form ``write`` can put back: its text ("" when empty), or
        its data; None when it holds data that this backend cannot give back."""

    def write(self, content: str | ClipboardData) -> None:
        """Put ``content`` on the clipboard; the tool may take it a moment after this returns."""


def choose_clipboard(session: Session) -> Clipboard:
    none_fits = NO_WAYLAND_CLIPBOARD_TOOL if session.kind == "wayland" else NO_CLIPBOARD_TOOL
    return choose(CONCERN, BACKENDS, session, ClipboardUnavailable, none_fits=none_fits)


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


def _make_wl_clipboard(session: Session) -> Clipboard:
    from dictad.desktop.clipboard._wl import WlClipboard

    return WlClipboard()


def _make_pyperclip(tool: str, session: Session) -> Clipboard:
    from dictad.desktop.clipboard._pyperclip import PyperclipClipboard

    return PyperclipClipboard(tool)


BACKENDS = (
    Backend("wl-clipboard", _why_not_wl_clipboard, _make_wl_clipboard),
    Backend("xclip", partial(_why_not_x11_tool, ("xclip",)), partial(_make_pyperclip, "xclip")),
    Backend("xsel", partial(_why_not_x11_tool, ("xsel",)), partial(_make_pyperclip, "xsel")),
    Backend("klipper", partial(_why_not_x11_tool, ("klipper", "qdbus")), partial(_make_pyperclip, "klipper")),
)
