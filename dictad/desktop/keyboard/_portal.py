"""Keys into the focused Wayland window on KDE and GNOME, through the XDG RemoteDesktop portal.

KWin and mutter refuse the virtual-keyboard protocol that wtype speaks; the RemoteDesktop portal
is how an unprivileged app sends keys there. ``NotifyKeyboardKeysym`` takes X keysyms, which the
desktop maps onto its own layout, so dvorak or a Cyrillic layout still pastes with Ctrl+V.

The first Start shows the desktop's permission dialog; the restore token it answers with
(``persist_mode`` 2) is kept in dictad's state directory and spares the dialog next time. So the
first Start may wait ``FIRST_START_TIMEOUT_S`` for the user, one with a token only
``RESTORED_START_TIMEOUT_S``. A failure is remembered for the rest of the run (per session bus):
a stale portal cost OpenWhispr users its timeout on every paste (#1614).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import platformdirs

from dictad.desktop.keyboard import KeysNotSent
from dictad.desktop.portal import CALL_TIMEOUT_S, Portal, PortalUnavailable
from dictad.desktop.x11 import char_keysym, keysyms_of

log = logging.getLogger(__name__)

FIRST_START_TIMEOUT_S = 15.0
RESTORED_START_TIMEOUT_S = 3.0
KEYBOARD = 1  # the device types bitmask's keyboard
PERSIST_UNTIL_REVOKED = 2
_PRESSED, _RELEASED = 1, 0
_TYPED_KEYSYMS = {"\n": 0xFF0D, "\t": 0xFF09}  # Return, Tab: their characters' own keysyms are not keys

_failures: dict[str, str] = {}  # session bus address -> why the portal failed there
_failures_lock = threading.Lock()


def restore_token_path() -> Path:
    return Path(platformdirs.user_state_dir("dictad")) / "remote-desktop-restore-token"


class PortalKeyboard:
    """One started RemoteDesktop session with keyboard access; made at the first delivery."""

    def __init__(self, bus: str) -> None:
        self._bus = bus
        if why := _failures.get(bus):
            raise PortalUnavailable(f"{why} (remembered from an earlier try; restart dictad to try again)")
        try:
            self._portal = Portal("RemoteDesktop", bus)
        except PortalUnavailable as failure:
            raise self._remember(str(failure)) from None
        try:
            self._session = self._start_session()
        except PortalUnavailable as failure:
            self._portal.close()
            raise self._remember(str(failure)) from None

    def press_combination(self, keys: tuple[str, ...]) -> None:
        keysyms = [keysyms_of(part)[0] for part in keys]
        self._send([(keysym, _PRESSED) for keysym in keysyms] + [(keysym, _RELEASED) for keysym in reversed(keysyms)])

    def type_text(self, text: str) -> None:
        keysyms = [_TYPED_KEYSYMS.get(char) or char_keysym(char) for char in text]
        self._send([(keysym, state) for keysym in keysyms for state in (_PRESSED, _RELEASED)])

    def close(self) -> None:
        """Disconnect, which ends the remote control session (and the desktop's indicator of it)."""
        self._portal.close()

    def _start_session(self) -> str:
        if not int(self._portal.property("AvailableDeviceTypes")) & KEYBOARD:
            raise self._portal.error("the desktop offers no keyboard to remote control")
        session = self._portal.create_session()
        token = _read_token() if self._portal.version >= 2 else None
        self._portal.request("SelectDevices", "oa{sv}", (session,), self._device_options(token), CALL_TIMEOUT_S)
        try:
            results = self._portal.request(
                "Start", "osa{sv}", (session, ""), {},
                RESTORED_START_TIMEOUT_S if token else FIRST_START_TIMEOUT_S,
                what="Start (restoring the kept permission)" if token else "the remote control permission dialog")
        except PortalUnavailable:
            if token:  # a token is good for one Start: this one is spent or stale
                _forget_token()
            raise
        if not int(results.get("devices", 0)) & KEYBOARD:
            raise self._portal.error("the keyboard was not granted in the remote control dialog")
        if new_token := results.get("restore_token"):
            _keep_token(str(new_token))
        return session

    def _device_options(self, token: str | None) -> dict:
        options: dict = {"types": ("u", KEYBOARD)}
        if self._portal.version >= 2:  # persistence came with version 2 (KDE 5.27 has version 1)
            options["persist_mode"] = ("u", PERSIST_UNTIL_REVOKED)
        if token:
            options["restore_token"] = ("s", token)
        return options

    def _send(self, events: list[tuple[int, int]]) -> None:
        """Each event waits for the portal's reply, so they reach the desktop in order."""
        if why := _failures.get(self._bus):
            raise KeysNotSent(f"{why} (remembered; restart dictad to try the portal again)")
        try:
            for keysym, state in events:
                self._portal.call("NotifyKeyboardKeysym", "oa{sv}iu", (self._session, {}, keysym, state))
        except PortalUnavailable as failure:
            raise KeysNotSent(str(self._remember(str(failure)))) from None

    def _remember(self, why: str) -> PortalUnavailable:
        with _failures_lock:
            _failures[self._bus] = why
        log.warning("the RemoteDesktop portal is not used again in this run: %s", why)
        return PortalUnavailable(why)


def _read_token() -> str | None:
    try:
        return restore_token_path().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _keep_token(token: str) -> None:
    """A token that cannot be kept costs the dialog at the next run, not this run's keyboard."""
    try:
        _save_token(token)
    except OSError as failure:
        log.warning("the RemoteDesktop restore token was not kept (%s): the desktop asks again next time", failure)


def _save_token(token: str) -> None:
    """Written whole (a temporary file replaced) and readable by the user alone: it grants key injection."""
    path = restore_token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, token.encode())
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def _forget_token() -> None:
    restore_token_path().unlink(missing_ok=True)
