"""The tray icon as a StatusNotifierItem, through pystray's AppIndicator backend (libayatana):
what KDE Plasma, GNOME's AppIndicator extension, swaybar and Waybar show, on Wayland and X11.

- The icon is named, not a file: the item's icon folder is dictad's own icons, and its name
  ``dictad-<state>``, which every host can look up (pystray would write a temporary file per
  change and give its path, which swaybar cannot show).
- A StatusNotifierItem has no tooltip in libayatana: the title carries the state instead
  ("dictad — recording: 3 s"), which hosts such as Plasma show on hover.
- The menu is exported over D-Bus as it was last built, so it is built again at every change
  of state (a new dictation in Recent, Pause from the control socket) and after every action.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dictad.desktop.tray import TrayUnavailable, load_icon, tooltip
from dictad.desktop.tray._pystray import PystrayTray, require_gi
from dictad.icons import icon_file, icon_name


def _import_indicator_backend() -> Any:
    """pystray's AppIndicator backend module; GDK takes the session's own display (Wayland's first)."""
    require_gi(("Gtk", "3.0"), ("AyatanaAppIndicator3", "0.1"))
    try:
        from pystray import _appindicator
    except Exception as failure:  # pystray's import raises GLib errors as well as ImportError
        raise TrayUnavailable(f"pystray's AppIndicator backend cannot start: {failure}") from failure
    return _appindicator


@functools.cache
def _indicator_class() -> type:
    """pystray's AppIndicator Icon, showing dictad's named icons and with pystray's notifier left out
    (the notify concern tells the user)."""
    backend = _import_indicator_backend()
    from pystray._util.gtk import mainloop

    status = backend.AppIndicator.IndicatorStatus

    class DaemonIndicator(backend.Icon):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._state, self._state_title = "idle", kwargs["title"]
            super().__init__(*args, **kwargs)
            self._appindicator.set_icon_theme_path(str(Path(str(icon_file("idle"))).parent))

        def show_state(self, state: str, title: str) -> None:
            """Show ``state``'s icon and ``title``, and the menu built afresh; in the GLib loop."""
            self._state, self._state_title = state, title
            self._update_icon()
            self._update_menu()

        @mainloop
        def _show(self) -> None:
            self._update_icon()
            self._appindicator.set_menu(self._create_menu(self.menu))
            self._appindicator.set_status(status.ACTIVE)

        def _update_icon(self) -> None:
            self._icon_valid = True
            self._appindicator.set_icon_full(icon_name(self._state), self._state_title)
            self._appindicator.set_title(self._state_title)

        def _initialize(self) -> None:
            self._mark_ready()

        def _finalize(self) -> None:
            self._appindicator.set_status(status.PASSIVE)

    return DaemonIndicator


class IndicatorTray(PystrayTray):
    """The StatusNotifierItem, its title and its menu over a TrayModel."""

    def _make_icon(self, menu: Any) -> Any:
        title = tooltip(self._name, "idle", "", self._model.hotkey)
        return _indicator_class()(self._name, icon=load_icon("idle"), title=title, menu=menu)

    def _apply_state(self, state: str, detail: str) -> bool:
        self._icon.show_state(state, tooltip(self._name, state, detail, self._model.hotkey))
        return False
