"""Everything that differs by desktop, behind one small object per session.

Each concern (hotkey, keyboard, focus, clipboard, notify, tray) is a package with a tiny
interface and one module per backend; its chooser picks the backend for the session, which
``dictad.desktop.session`` detects once. ``Desktop`` keeps what it chose, so the daemon, the
delivery policy and doctor never ask "is this X11 or Wayland?" themselves.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from dictad.desktop.choosing import Choice, survey
from dictad.desktop.clipboard import Clipboard, choose_clipboard
from dictad.desktop.focus import Focus, choose_focus
from dictad.desktop.hotkey import HotkeyListener, choose_hotkey
from dictad.desktop.keyboard import Keyboard, choose_keyboard
from dictad.desktop.notify import NotifyUnavailable, choose_notifier
from dictad.desktop.session import Session, current_session
from dictad.desktop.tray import TrayIcon, TrayModel, choose_tray

log = logging.getLogger(__name__)

APP_NAME = "dictad"
CONCERNS = ("hotkey", "keyboard", "focus", "clipboard", "notify", "tray")


class Desktop:
    """The backends of one session.

    The keyboard, focus and clipboard (what delivery uses) are chosen at their first use and kept
    until ``forget_delivery()``: after a delivery fails unexpectedly, the next one chooses and
    connects them afresh. The hotkey and the tray are made when asked for.
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or current_session()
        self._kept: dict[str, Any] = {}
        self._lock = threading.Lock()

    def hotkey(self, keys: tuple[str, ...], on_press: Callable[[], None], on_release: Callable[[], None],
               on_escape: Callable[[], None]) -> HotkeyListener:
        """A new listener (not started) for ``keys``; raises HotkeyUnavailable."""
        return choose_hotkey(self.session, keys, on_press, on_release, on_escape)

    def tray(self, model: TrayModel) -> TrayIcon:
        """A tray icon over ``model``, made in the main thread; raises TrayUnavailable."""
        return choose_tray(self.session, model, APP_NAME, self.notify)

    def notify(self, message: str) -> None:
        """Tell the user, tray icon or not; never raises. Safe from any thread. Chosen afresh each
        time (it costs nothing), so that a session bus that comes up after dictad is used."""
        try:
            notifier = choose_notifier(self.session, APP_NAME)
        except NotifyUnavailable as reason:  # only when DICTAD_NOTIFY_BACKEND forces one that cannot work
            log.warning("desktop notification not shown (%s): %s", reason, message)
            return
        notifier.notify(message)

    def copy(self, text: str) -> None:
        """Put ``text`` on the clipboard; raises ClipboardUnavailable."""
        self.clipboard().write(text)

    def keyboard(self) -> Keyboard:
        """Raises KeyboardUnavailable."""
        return self._keep("keyboard", lambda: choose_keyboard(self.session))

    def focus(self) -> Focus:
        """Raises FocusUnavailable."""
        return self._keep("focus", lambda: choose_focus(self.session))

    def clipboard(self) -> Clipboard:
        """Raises ClipboardUnavailable."""
        return self._keep("clipboard", lambda: choose_clipboard(self.session))

    def forget_delivery(self) -> None:
        """Drop the keyboard, focus and clipboard backends (their connection may be what failed)."""
        with self._lock:
            for concern in ("keyboard", "focus", "clipboard"):
                self._kept.pop(concern, None)

    def _keep(self, concern: str, choose: Callable[[], Any]) -> Any:
        with self._lock:
            if concern not in self._kept:
                self._kept[concern] = choose()
            return self._kept[concern]


def survey_all(session: Session, environ: Mapping[str, str] = os.environ) -> list[Choice]:
    """What each concern's chooser would pick in ``session``, from the cheap checks only: for
    doctor, which must not grab keys or open windows."""
    concerns = [importlib.import_module(f"{__name__}.{name}") for name in CONCERNS]
    return [survey(concern.CONCERN, concern.BACKENDS, session, environ) for concern in concerns]


@functools.cache
def desktop_for(session: Session) -> Desktop:
    """One Desktop per session, for callers that are given none (tests, benchmarks)."""
    return Desktop(session)
