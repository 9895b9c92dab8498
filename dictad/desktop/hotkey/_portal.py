"""The Wayland hotkey on KDE and GNOME: the XDG GlobalShortcuts portal's Activated and Deactivated.

On Wayland an app cannot grab keys; the portal binds a shortcut for it, and tells it when the
shortcut becomes active and inactive, which is hold-to-talk (KDE 5.27+, GNOME 48+). The
shortcut is bound when the listener is made, so that a portal that refuses or never answers
lets the chooser try the next backend; the desktop may show its dialog once for that.

What the portal cannot do: Escape is not grabbed (``set_escape_grab`` does nothing). Some
desktops never send Deactivated (and some GNOME 49 builds send non-Flatpak apps no signal at
all): a hold then ends at the daemon's maximum dictation length, and toggle mode still works.
Every Activated is passed on as a press, repeated or not, since toggle mode counts on them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable

from jeepney import HeaderFields, Message

from dictad.desktop.hotkey import HotkeyUnavailable
from dictad.desktop.portal import Portal
from dictad.desktop.x11 import keysym_name, keysyms_of
from dictad.keyspec import format_keys

log = logging.getLogger(__name__)

SHORTCUT_ID = "dictate"
DESCRIPTION = "Hold to dictate"
BIND_TIMEOUT_S = 15.0
"""BindShortcuts may show the desktop's dialog (KDE asks once); the user gets this long to answer."""

# keyspec's modifiers -> the shortcuts spec's (xkbcommon's XKB_MOD_NAME_* spellings)
_MODIFIERS = {"ctrl": "CTRL", "alt": "ALT", "shift": "SHIFT", "cmd": "LOGO"}


def preferred_trigger(keys: tuple[str, ...]) -> str:
    """The XDG shortcuts spec's spelling of a hotkey: ``("<ctrl>", "<alt>", "<space>")`` ->
    ``"CTRL+ALT+space"``: modifiers by their XKB names, then the key's keysym name."""
    *held, trigger = keys
    modifiers = []
    for part in held:
        name = part.strip("<>").removesuffix("_l").removesuffix("_r")
        if name not in _MODIFIERS:
            raise HotkeyUnavailable(f"{format_keys(keys)}: the desktop portal has no modifier for {part}")
        modifiers.append(_MODIFIERS[name])
    return "+".join([*modifiers, _key_name(keysyms_of(trigger)[0])])


def _key_name(keysym: int) -> str:
    """xkbcommon's name of a keysym: X's ("space", "F9", "eacute"), or "U2713" for a Unicode one."""
    if keysym & 0xFF000000 == 0x01000000:
        return f"U{keysym & 0xFFFFFF:04X}"
    return keysym_name(keysym)


class PortalHotkeyListener:
    """A GlobalShortcuts session with the one shortcut "dictate", and a thread that reports it."""

    def __init__(self, bus: str, keys: tuple[str, ...], on_press: Callable[[], None],
                 on_release: Callable[[], None], on_escape: Callable[[], None]) -> None:
        self._callbacks = {"Activated": on_press, "Deactivated": on_release}
        trigger = preferred_trigger(keys)
        self._portal = Portal("GlobalShortcuts", bus)
        try:
            self._signals = self._portal.signals()
            self._session = self._portal.create_session()
            self._bind(trigger)
        except Exception:
            self._portal.close()
            raise
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        """Report the shortcut from now on (it was bound when the listener was made)."""
        if self._stopped.is_set():
            raise HotkeyUnavailable("this GlobalShortcuts listener was stopped; make a new one")
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, args=(self._signals,), name="dictad-hotkey-portal",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Disconnect, which ends the portal session and its shortcut; safe to call more than once."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._portal.interrupt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._portal.close()

    def set_escape_grab(self, active: bool) -> None:
        """Does nothing: the portal binds only the shortcuts bound at the start, and cannot take Escape
        from the focused app for the length of a recording. Cancel with ``dictad cancel`` instead."""

    def _bind(self, trigger: str) -> None:
        shortcut = (SHORTCUT_ID, {"description": ("s", DESCRIPTION), "preferred_trigger": ("s", trigger)})
        results = self._portal.request("BindShortcuts", "oa(sa{sv})sa{sv}", (self._session, [shortcut], ""), {},
                                       BIND_TIMEOUT_S, what="binding the dictation shortcut")
        bound = {shortcut_id: details for shortcut_id, details in results.get("shortcuts", [])}
        if SHORTCUT_ID not in bound:
            raise self._portal.error("the desktop did not bind the dictation shortcut (refused in its dialog?)")
        described = bound[SHORTCUT_ID].get("trigger_description", ("s", ""))[1]
        log.info("GlobalShortcuts portal bound %s (%s)", trigger, described or "no trigger shown")

    def _listen(self, signals: deque[Message]) -> None:
        while True:
            try:
                message = self._portal.next_signal(signals)
            except (OSError, ValueError) as failure:  # interrupted by stop(), or the bus went away
                if not self._stopped.is_set():
                    log.warning("the GlobalShortcuts portal connection ended (%s): no hotkey until restart", failure)
                return
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        """Activated -> on_press, Deactivated -> on_release, for our session's shortcut only."""
        callback = self._callbacks.get(message.header.fields.get(HeaderFields.member, ""))
        if callback is None or tuple(message.body[:2]) != (self._session, SHORTCUT_ID):
            return
        try:
            callback()
        except Exception:  # a failing callback must not end the hotkey
            log.exception("the hotkey callback failed")
