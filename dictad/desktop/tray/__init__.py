"""The tray icon: dictad's state at a glance, and a menu of switches over the daemon.

The tray is a view: it reads a small ``TrayModel`` (the daemon implements it) and imports
nothing of dictad's middle. Tell the user of a failed menu action through the ``notify``
callable it is given.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import NO_SESSION_BUS, Session
from dictad.icons import icon_file

if TYPE_CHECKING:
    from PIL import Image

CONCERN = "tray"
STATES = ("idle", "recording", "working", "disabled", "error")
RECENT_LABEL_CHARS = 40


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
    def pinned(self) -> list[str]: ...
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


class TrayUnavailable(Unavailable):
    """No tray icon can be shown here; the message says why. dictad then runs without one."""


def load_icon(state: str) -> Image.Image:
    """The tray image for ``state``, read from the package data in icons/."""
    from PIL import Image

    with icon_file(state).open("rb") as png:
        image = Image.open(png)
        image.load()
    return image


def shorten(text: str, limit: int = RECENT_LABEL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis when longer."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[:limit - 1].rstrip() + "…"


def recent_label(text: str, pinned: bool) -> str:
    """A Recent dictations entry: the text on one line, marked when it was not delivered."""
    return f"Not delivered: {shorten(text)}" if pinned else shorten(text)


def tooltip(name: str, state: str, detail: str, hotkey: str) -> str:
    """The hover text, e.g. ``dictad — recording: 3 s (hotkey: ctrl+alt)``."""
    what = f"{state}: {detail}" if detail else state
    return f"{name} — {what} (hotkey: {hotkey})"


class TrayIcon(Protocol):
    def show(self, state: str, detail: str = "") -> None:
        """Show ``state`` (one of STATES) in the icon and tooltip. Safe from any thread."""

    def run(self, on_ready: Callable[[], None]) -> None:
        """Run the tray loop in the main thread until stop(); ``on_ready`` runs in the loop once the
        icon is shown (unless stop() came first), and must return quickly."""

    def stop(self) -> None:
        """End run(). Safe from any thread; before run(), makes run() return at once. Never raises."""


def choose_tray(session: Session, model: TrayModel, name: str, notify: Callable[[str], None]) -> TrayIcon:
    """A tray icon over ``model``; create it in the main thread. Raises TrayUnavailable."""
    return choose(CONCERN, BACKENDS, session, TrayUnavailable, model, name, notify)


def _why_not_gtk(session: Session) -> str | None:
    """An X display with a system tray (the XEmbed tray lives on X11, XWayland's included)."""
    if not session.x_display:
        return "no X display (DISPLAY is not set)"
    from dictad.desktop.x11 import why_no_system_tray

    no_tray = why_no_system_tray(session.x_display)
    if no_tray is None and importlib.util.find_spec("gi") is None:
        return "PyGObject is not installed (pip install 'dictad[tray]')"
    return no_tray


def _make_gtk(session: Session, model: TrayModel, name: str, notify: Callable[[str], None]) -> TrayIcon:
    from dictad.desktop.tray._gtk import GtkTray

    return GtkTray(model, name, notify)


def _why_not_appindicator(session: Session) -> str | None:
    """A StatusNotifier host (its watcher on the session bus) and a display for GTK to open."""
    if not (session.wayland_display or session.x_display):
        return "no display (neither WAYLAND_DISPLAY nor DISPLAY is set)"
    from dictad.desktop.session_bus import why_no_service

    if not session.session_bus:
        return NO_SESSION_BUS
    no_watcher = why_no_service(STATUS_NOTIFIER_WATCHER, session.session_bus)
    if no_watcher is not None:
        return f"no StatusNotifier host ({no_watcher}): {NO_HOST_FIX}"
    if importlib.util.find_spec("gi") is None:
        return "PyGObject is not installed (pip install 'dictad[tray]')"
    return None


def _make_appindicator(session: Session, model: TrayModel, name: str, notify: Callable[[str], None]) -> TrayIcon:
    from dictad.desktop.tray._appindicator import IndicatorTray

    return IndicatorTray(model, name, notify)


STATUS_NOTIFIER_WATCHER = "org.kde.StatusNotifierWatcher"
NO_HOST_FIX = "KDE Plasma, swaybar and Waybar's tray have one; on GNOME, enable the AppIndicator extension"

BACKENDS = (
    Backend("gtk", _why_not_gtk, _make_gtk),
    Backend("appindicator", _why_not_appindicator, _make_appindicator),
)
