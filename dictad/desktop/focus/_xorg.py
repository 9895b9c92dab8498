"""The focused X11 window's class (WM_CLASS), read over a connection of our own."""

from __future__ import annotations

from Xlib import error as xerror
from Xlib.xobject.drawable import Window

from dictad.desktop.focus import FocusUnavailable
from dictad.desktop.x11 import connect


class XorgFocus:
    def __init__(self, display_name: str) -> None:
        self._display = connect(display_name, FocusUnavailable)

    def focused_app(self) -> str:
        """WM_CLASS of the window with the keyboard focus, or of its nearest ancestor that has one.

        Without a window manager the focus is wherever ``XSetInputFocus`` put it, often
        an inner window of the app; with one, usually the client window itself.
        """
        window = self._display.get_input_focus().focus
        root = self._display.screen().root
        try:
            while isinstance(window, Window) and window.id != root.id:
                names = window.get_wm_class()
                if names:
                    return "/".join(name.lower() for name in names)
                window = window.query_tree().parent
        except xerror.BadWindow:  # the window closed while we looked
            pass
        return ""
