"""The tray icon: dictad's state at a glance, and a menu of switches over the daemon.

pystray draws the icon with its GTK backend: a GtkStatusIcon in the X display's system
tray (the XEmbed protocol that panels, trayer and KDE's xembedsniproxy host). pystray's
own chooser would pick its AppIndicator backend whenever that library is installed,
but AppIndicator has no tooltip and needs a StatusNotifier host to show anything.

GTK belongs to the main thread: construct the Tray and call run() there. show(),
notify() and stop() may be called from any thread; show() and stop() hand their work
to the GLib main loop.

pystray cannot even be imported without a display, so it is imported only once
require_tray_host() has found a display with a tray on it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any, Protocol

from PIL import Image

log = logging.getLogger(__name__)

STATES = ("idle", "recording", "working", "disabled", "error")
RECENT_LABEL_CHARS = 40
NOTIFY_TIMEOUT_MS = 3000


class TrayModel(Protocol):
    """What the tray reads from the daemon and the switches it flips (the daemon implements it)."""

    @property
    def cleanup_on(self) -> bool: ...
    @property
    def mode(self) -> str: ...
    @property
    def paused(self) -> bool: ...
    @property
    def recent(self) -> list[str]: ...
    @property
    def styles(self) -> list[str]: ...
    @property
    def style(self) -> str: ...
    @property
    def hotkey(self) -> str: ...

    def toggle_cleanup(self) -> None: ...
    def set_mode(self, mode: str) -> None: ...
    def toggle_pause(self) -> None: ...
    def copy_last(self) -> None: ...
    def paste_last(self) -> None: ...
    def copy_text(self, text: str) -> None: ...
    def set_style(self, name: str) -> None: ...
    def open_config(self) -> None: ...
    def reload_config(self) -> None: ...
    def quit(self) -> None: ...


class TrayUnavailable(Exception):
    """No tray icon can be shown here; the message says why. dictad then runs without one."""


def load_icon(state: str) -> Image.Image:
    """The tray image for ``state``, read from the package data in icons/."""
    with (files("dictad.icons") / f"{state}.png").open("rb") as png:
        image = Image.open(png)
        image.load()
    return image


def shorten(text: str, limit: int = RECENT_LABEL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis when longer."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[:limit - 1].rstrip() + "…"


def tooltip(name: str, state: str, detail: str, hotkey: str) -> str:
    """The hover text, e.g. ``dictad — recording: 3 s (hotkey: ctrl+alt)``."""
    what = f"{state}: {detail}" if detail else state
    return f"{name} — {what} (hotkey: {hotkey})"


def require_tray_host() -> None:
    """Raise TrayUnavailable unless an X display with a system tray is reachable."""
    display_name = os.environ.get("DISPLAY")
    if not display_name:
        raise TrayUnavailable("no X display (DISPLAY is not set)")
    from Xlib import X, display, error

    try:
        connection = display.Display(display_name)
    except (error.DisplayError, OSError) as failure:
        raise TrayUnavailable(f"cannot open X display {display_name}: {failure}") from failure
    try:
        selection = connection.intern_atom(f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}")
        has_tray = connection.get_selection_owner(selection) != X.NONE
    finally:
        connection.close()
    if not has_tray:
        raise TrayUnavailable(f"no system tray on display {display_name} "
                              "(no panel with a notification area is running)")


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
      without a notification service. Tray.notify() talks to D-Bus itself.
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


class Tray:
    """The tray icon and its menu over a TrayModel."""

    def __init__(self, model: TrayModel, name: str = "dictad") -> None:
        """Create the icon (in the main thread); raises TrayUnavailable when none can be shown."""
        require_tray_host()
        icon_class = _icon_class()
        from gi.repository import GLib

        self._glib = GLib
        self._stopping = threading.Event()
        self._model = model
        self._name = name
        self._images = {state: load_icon(state) for state in STATES}
        self._icon = icon_class(name, icon=self._images["idle"], title=name, menu=self._menu())
        self._icon.set_tooltip(tooltip(name, "idle", "", model.hotkey))

    def show(self, state: str, detail: str = "") -> None:
        """Show ``state`` in the icon and tooltip. Safe from any thread."""
        if state not in self._images:
            raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(STATES)}")
        self._glib.idle_add(self._apply_state, state, detail)

    def notify(self, message: str) -> None:
        notify_desktop(self._name, message)

    def run(self, on_ready: Callable[[], None]) -> None:
        """Run the tray loop in the main thread until stop(). ``on_ready`` runs in the loop once
        the icon is shown (unless stop() came first), and must return quickly."""
        def setup(icon: Any) -> None:
            icon.visible = True
            self._glib.idle_add(self._call_unless_stopping, on_ready)

        with _x_errors_ignored():
            self._icon.run(setup=setup)

    def stop(self) -> None:
        """End run(). Safe from any thread; before run(), makes run() return at once. Never raises."""
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
                self.notify(f"{action} failed: {failure}")

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


def notify_desktop(app_name: str, message: str) -> None:
    """Show ``message`` as a desktop notification, tray icon or not; logs instead when none can be
    shown. Safe from any thread."""
    try:
        _send_notification(app_name, message)
    except Exception as failure:  # a notification is never worth a crash
        log.warning("desktop notification not shown (%s): %s", failure, message)


def _send_notification(app_name: str, message: str) -> None:
    """Notify over the session bus (org.freedesktop.Notifications), with the error icon.

    A private connection per notification: GIO's shared session connection would end the
    whole process if the bus went away.
    """
    from gi.repository import Gio, GLib

    address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
    flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
    bus = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
    icon_path = str(files("dictad.icons") / "error.png")
    try:
        bus.call_sync(
            "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications", "Notify",
            GLib.Variant("(susssasa{sv}i)", (app_name, 0, icon_path, app_name, message, [], {}, -1)),
            GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, NOTIFY_TIMEOUT_MS, None)
    finally:
        bus.close_sync(None)
