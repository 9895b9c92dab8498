"""The tray icon through pystray's GTK backend: a GtkStatusIcon in the X display's system tray
(the XEmbed protocol that panels, trayer and KDE's xembedsniproxy host). pystray's own chooser
would pick its AppIndicator backend whenever that library is installed, but AppIndicator has no
tooltip and needs a StatusNotifier host to show anything.

GTK belongs to the main thread: construct the GtkTray and call run() there. show() and stop()
may be called from any thread; they hand their work to the GLib main loop.

pystray cannot even be imported without a display, so it is imported only once the chooser has
found a display with a tray on it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from dictad.desktop.tray import STATES, TrayModel, TrayUnavailable, load_icon, shorten, tooltip

log = logging.getLogger(__name__)


def _import_gtk_backend() -> Any:
    """pystray's GTK backend module, with GDK held to X11 where the XEmbed tray lives."""
    try:
        import gi
    except ImportError as missing:
        raise TrayUnavailable("PyGObject is not installed (pip install 'dictad[tray]')") from missing
    try:
        gi.require_version("Gdk", "3.0")
        gi.require_version("GdkX11", "3.0")
        gi.require_version("Gtk", "3.0")
    except ValueError as missing:
        raise TrayUnavailable(f"GTK 3 is not installed (apt install gir1.2-gtk-3.0): {missing}") from missing
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


class GtkTray:
    """The tray icon and its menu over a TrayModel."""

    def __init__(self, model: TrayModel, name: str, notify: Callable[[str], None]) -> None:
        """Create the icon (in the main thread); raises TrayUnavailable when GTK cannot start."""
        icon_class = _icon_class()
        from gi.repository import GLib

        self._glib = GLib
        self._stopping = threading.Event()
        self._model = model
        self._name = name
        self._notify = notify
        self._images = {state: load_icon(state) for state in STATES}
        self._icon = icon_class(name, icon=self._images["idle"], title=name, menu=self._menu())
        self._icon.set_tooltip(tooltip(name, "idle", "", model.hotkey))

    def show(self, state: str, detail: str = "") -> None:
        if state not in self._images:
            raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(STATES)}")
        self._glib.idle_add(self._apply_state, state, detail)

    def run(self, on_ready: Callable[[], None]) -> None:
        def setup(icon: Any) -> None:
            icon.visible = True
            self._glib.idle_add(self._call_unless_stopping, on_ready)

        with _x_errors_ignored():
            self._icon.run(setup=setup)

    def stop(self) -> None:
        self._stopping.set()
        self._glib.idle_add(self._stop_in_loop)

    def _call_unless_stopping(self, on_ready: Callable[[], None]) -> bool:
        if not self._stopping.is_set():
            on_ready()
        return False

    def _apply_state(self, state: str, detail: str) -> bool:
        self._icon.icon = self._images[state]
        self._icon.set_tooltip(tooltip(self._name, state, detail, self._model.hotkey))
        return False

    def _stop_in_loop(self) -> bool:
        try:
            self._icon.stop()
        except Exception:  # pystray's quirks must not keep the daemon from quitting
            log.warning("the tray did not stop cleanly", exc_info=True)
        return False

    def _menu(self) -> Any:
        """The menu; pystray evaluates its callables each time the icon builds it."""
        from pystray import Menu, MenuItem

        model = self._model

        def has_recent(_item: Any) -> bool:
            return bool(model.recent)

        return Menu(
            MenuItem("Cleanup", self._action(model.toggle_cleanup), checked=lambda _: model.cleanup_on),
            MenuItem("Style", Menu(self._style_items)),
            Menu.SEPARATOR,
            MenuItem("Hold to talk", self._action(model.set_mode, "hold"),
                     checked=lambda _: model.mode == "hold", radio=True),
            MenuItem("Press to start, press to stop", self._action(model.set_mode, "toggle"),
                     checked=lambda _: model.mode == "toggle", radio=True),
            MenuItem("Pause dictation", self._action(model.toggle_pause), checked=lambda _: model.paused),
            Menu.SEPARATOR,
            MenuItem("Copy last dictation", self._action(model.copy_last), enabled=has_recent),
            MenuItem("Paste last dictation again", self._action(model.paste_last), enabled=has_recent),
            MenuItem("Recent dictations", Menu(self._recent_items)),
            Menu.SEPARATOR,
            MenuItem("Open config", self._action(model.open_config)),
            MenuItem("Reload config", self._action(model.reload_config, in_background=True)),
            Menu.SEPARATOR,
            MenuItem("Quit", self._action(model.quit)),
        )

    def _style_items(self) -> Iterator[Any]:
        from pystray import MenuItem

        for name in self._model.styles:
            yield MenuItem(name, self._action(self._model.set_style, name),
                           checked=functools.partial(self._is_current_style, name), radio=True)

    def _is_current_style(self, name: str, _item: Any) -> bool:
        return self._model.style == name

    def _recent_items(self) -> Iterator[Any]:
        from pystray import MenuItem

        recent = self._model.recent
        if not recent:
            yield MenuItem("No dictations yet", None, enabled=False)
        for text in recent:  # the text itself: a dictation arriving while the menu is open shifts indices
            yield MenuItem(shorten(text), self._action(self._model.copy_text, text))

    def _action(self, method: Callable[..., None], *args: Any, in_background: bool = False) -> Callable[[], None]:
        """A menu callback calling ``method(*args)``; a failure is logged and shown, not lost
        in the GTK loop. ``in_background`` for one that may take a while (a reload reopens the
        microphone), so the menu and icon stay responsive."""
        def run_action() -> None:
            try:
                method(*args)
            except Exception as failure:
                action = getattr(method, "__name__", "menu action").replace("_", " ")
                log.exception("tray: %s failed", action)
                self._notify(f"{action} failed: {failure}")

        if in_background:
            return lambda: threading.Thread(target=run_action, name="dictad-tray-action", daemon=True).start()
        return run_action


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

