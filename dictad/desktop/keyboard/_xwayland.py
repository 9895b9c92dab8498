"""Keys into the X11 windows of a Wayland session, through XWayland's XTEST.

Where no virtual keyboard or portal can send keys (GNOME or KDE with the portal refused), the
X11 apps still running under XWayland take XTEST keys like on X11. A Wayland window does not:
the keys would vanish, so they are not sent, and the text goes on the clipboard instead.
"""

from __future__ import annotations

from dictad.desktop.keyboard import OutOfReach
from dictad.desktop.keyboard._xorg import XorgKeyboard
from dictad.desktop.x11 import x_window_is_active

NOT_AN_X_WINDOW = ("the focused window is a Wayland window, and dictad's keys reach only X11 (XWayland) windows "
                   "here (install wtype, or allow dictad's remote control when the desktop asks)")


class XWaylandKeyboard(XorgKeyboard):
    """XTEST, only while an X11 window has the focus."""

    def _ensure_a_window_has_focus(self) -> None:
        if not x_window_is_active(self._display):
            raise OutOfReach(NOT_AN_X_WINDOW)
        super()._ensure_a_window_has_focus()
