"""The tray icon through pystray's GTK backend: a GtkStatusIcon in the X display's system tray
(the XEmbed protocol that panels, trayer and KDE's xembedsniproxy host). Chosen before the
AppIndicator backend wherever an XEmbed tray exists, since only this one has a tooltip.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from dictad.desktop.tray import STATES, TrayModel, TrayUnavailable, load_icon, tooltip
from dictad.desktop.tray._pystray import PystrayTray, require_gi


def _import_gtk_backend() -> Any:
    """pystray's GTK backend module, with GDK held to X11 where the XEmbed tray lives."""
    require_gi(("Gdk", "3.0"), ("GdkX11", "3.0"), ("Gtk", "3.0"))
    from gi.repository import Gdk

    Gdk.set_allowed_backends("x11")
    try:
        from pystray import _gtk
    except Exception as failure:  # pystray's import raises Xlib and GLib errors as well as ImportError
        raise TrayUnavailable(f"pystray's GTK backend cannot start: {failure}") from failure
    return _gtk


@functools.cache
def _icon_class() -> type:
    """pystray's GTK Icon, adjusted for a daemon; built on first use since pystray needs a display.

    - The menu is rebuilt from the model each time it opens: the GTK backend otherwise keeps
      the menu it built at the last update_menu(), stale after changes made elsewhere.
    - A left click opens the same menu.
    - The tooltip is set on the status icon (pystray only sets a title, which GTK never shows),
      and the title (the icon window's name, read by screen readers) is set from the start.
    - pystray's own notifier is left out: it needs a session bus to start and raised on stop
      without a notification service. The notify concern tells the user instead.
    """
    gtk_backend = _import_gtk_backend()
    from gi.repository import Gtk

    class DaemonIcon(gtk_backend.Icon):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._status_icon.set_title(self.title)

        def set_tooltip(self, text: str) -> None:
            self._status_icon.set_tooltip_text(text)

        def _on_status_icon_popup_menu(self, status_icon: Any, button: int, activate_time: int) -> None:
            self._menu_handle = self._create_menu(self.menu)
            super()._on_status_icon_popup_menu(status_icon, button, activate_time)

        def _on_status_icon_activate(self, status_icon: Any) -> None:
            self._on_status_icon_popup_menu(status_icon, 1, Gtk.get_current_event_time())

        def _initialize(self) -> None:
            self._mark_ready()

        def _finalize(self) -> None:
            self._status_icon.set_visible(False)
            self._remove_fs_icon()

    return DaemonIcon


class GtkTray(PystrayTray):
    """The XEmbed tray icon, its tooltip and its menu over a TrayModel."""

    def __init__(self, model: TrayModel, name: str, notify: Callable[[str], None]) -> None:
        self._images = {state: load_icon(state) for state in STATES}
        super().__init__(model, name, notify)

    def _make_icon(self, menu: Any) -> Any:
        icon = _icon_class()(self._name, icon=self._images["idle"], title=self._name, menu=menu)
        icon.set_tooltip(tooltip(self._name, "idle", "", self._model.hotkey))
        return icon

    def _apply_state(self, state: str, detail: str) -> bool:
        self._icon.icon = self._images[state]
        self._icon.set_tooltip(tooltip(self._name, state, detail, self._model.hotkey))
        return False

    def run(self, on_ready: Callable[[], None]) -> None:
        with _x_errors_ignored():
            super().run(on_ready)


@contextlib.contextmanager
def _x_errors_ignored() -> Iterator[None]:
    """X errors are ignored while the block runs. GTK ends the whole process on one it has not
    trapped, and a panel that restarts destroys the icon's window before GTK hears of it: the
    next tooltip or menu then asks about a window that is gone. The tray is only a view."""
    from gi.repository import Gdk

    display = Gdk.Display.get_default()
    display.error_trap_push()
    try:
        yield
    finally:
        display.error_trap_pop_ignored()
