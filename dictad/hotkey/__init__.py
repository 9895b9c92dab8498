"""The global push-to-talk hotkey: one small interface, one backend per platform.

The daemon asks for a listener for its key combination and gets one that reports
presses and releases of exactly that combination (hold or toggle is the daemon's
policy). Which backend serves it is decided here; when none can, one
``HotkeyUnavailable`` says why, and dictad goes on without a hotkey (the control
socket still starts and stops dictation).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Protocol


class HotkeyUnavailable(Exception):
    """No global hotkey here; the message says why, in words for the user."""


class HotkeyListener(Protocol):
    def start(self) -> None:
        """Take the combination; raises HotkeyUnavailable if it cannot be had."""

    def stop(self) -> None:
        """Give the combination (and Escape) back; safe to call more than once."""

    def set_escape_grab(self, active: bool) -> None:
        """Take Escape from other apps (while recording) or give it back."""


def make_hotkey_listener(
    keys: tuple[str, ...],
    on_press: Callable[[], None],
    on_release: Callable[[], None],
    on_escape: Callable[[], None],
) -> HotkeyListener:
    """A listener for ``keys`` (parts as ``dictad.keyspec.parse_keys`` gives them).

    The callbacks run on the listener's own thread and must return quickly.
    """
    reason = why_no_hotkey_backend()
    if reason:
        raise HotkeyUnavailable(reason)
    from dictad.hotkey._xorg import XorgHotkeyListener

    return XorgHotkeyListener(keys, on_press, on_release, on_escape)


def why_no_hotkey_backend() -> str | None:
    """Why no backend fits this session, or None when the X11 one does."""
    if sys.platform in ("win32", "darwin"):
        return (f"no global hotkey backend for {sys.platform} yet; "
                "start and stop dictation through the control socket")
    if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return ("Wayland session: apps cannot grab global keys there; bind the control "
                "socket's toggle command to a key in your desktop's keyboard settings")
    if not os.environ.get("DISPLAY"):
        return ("no X display (DISPLAY is not set): the global hotkey needs an X11 session; "
                "the control socket still starts and stops dictation")
    return None
