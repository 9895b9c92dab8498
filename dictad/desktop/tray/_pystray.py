"""What dictad's two pystray trays share: the menu over the TrayModel, its actions, and the GLib loop.

GTK belongs to the main thread: construct a tray and call run() there. show() and stop() may be
called from any thread; they hand their work to the GLib main loop. pystray cannot even be
imported without a display, so a backend imports it only once the chooser has picked it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from dictad.desktop.tray import STATES, TrayModel, TrayUnavailable, recent_label

log = logging.getLogger(__name__)


def require_gi(*versions: tuple[str, str]) -> None:
    """Pin GObject introspection's ``(namespace, version)`` pairs, or say what to install."""
    try:
        import gi
    except ImportError as missing:
        raise TrayUnavailable("PyGObject is not installed (pip install 'dictad[tray]')") from missing
    for namespace, version in versions:
        try:
            gi.require_version(namespace, version)
        except ValueError as missing:
            package = TYPELIB_PACKAGES.get(namespace, "its GObject introspection data")
            raise TrayUnavailable(f"{namespace} {version} is not installed (apt install {package}): {missing}") from missing


TYPELIB_PACKAGES = {"Gtk": "gir1.2-gtk-3.0", "Gdk": "gir1.2-gtk-3.0", "GdkX11": "gir1.2-gtk-3.0",
                    "AyatanaAppIndicator3": "gir1.2-ayatanaappindicator3-0.1"}


class PystrayTray:
    """A pystray icon and its menu over a TrayModel; a backend makes the icon and shows a state."""

    def __init__(self, model: TrayModel, name: str, notify: Callable[[str], None]) -> None:
        """Create the icon (in the main thread); raises TrayUnavailable when it cannot start."""
        from gi.repository import GLib

        self._glib = GLib
        self._stopping = threading.Event()
        self._model = model
        self._name = name
        self._notify = notify
        self._icon = self._make_icon(self._menu())

    def _make_icon(self, menu: Any) -> Any:
        """The backend's pystray Icon carrying ``menu``, showing the idle state."""
        raise NotImplementedError

    def _apply_state(self, state: str, detail: str) -> bool:
        """Show ``state`` in the icon, in the GLib loop (False: run once)."""
        raise NotImplementedError

    def show(self, state: str, detail: str = "") -> None:
        if state not in STATES:
            raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(STATES)}")
        self._glib.idle_add(self._apply_state, state, detail)

    def run(self, on_ready: Callable[[], None]) -> None:
        def setup(icon: Any) -> None:
            icon.visible = True
            self._glib.idle_add(self._call_unless_stopping, on_ready)

        self._icon.run(setup=setup)

    def stop(self) -> None:
        self._stopping.set()
        self._glib.idle_add(self._stop_in_loop)

    def _call_unless_stopping(self, on_ready: Callable[[], None]) -> bool:
        if not self._stopping.is_set():
            on_ready()
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

        recent, pinned = self._model.recent, set(self._model.pinned)
        if not recent:
            yield MenuItem("No dictations yet", None, enabled=False)
        for text in recent:  # the text itself: a dictation arriving while the menu is open shifts indices
            yield MenuItem(recent_label(text, text in pinned), self._action(self._model.copy_text, text))

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
