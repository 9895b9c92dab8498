"""Putting dictated text into the focused window.

The policy lives here, free of any platform: which method (paste or type) and which
paste keys the focused application gets, and the clipboard's save and restore. The keys,
the focused application and the clipboard come from the session's ``Desktop``.
``deliver`` never raises: it says what happened, so the daemon can keep undelivered
text in Recent dictations and tell the user why.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

from dictad.config import OutputConfig
from dictad.desktop import Desktop, desktop_for
from dictad.desktop.clipboard import Clipboard, ClipboardUnavailable
from dictad.desktop.focus import FocusUnavailable
from dictad.desktop.keyboard import Keyboard, KeyboardUnavailable, KeysHeld, KeysNotSent, OutOfReach
from dictad.desktop.session import current_session
from dictad.inject.text import prepare
from dictad.keyspec import parse_keys

log = logging.getLogger(__name__)

Method = Literal["paste", "type", "clipboard", "none"]


@dataclass(frozen=True)
class Delivery:
    """The outcome of one ``deliver`` call."""

    delivered: bool
    method: Method  # how the text went (or was to go) in; "clipboard": left there for the user to paste
    text: str  # exactly what was (or was to be) delivered, after sanitising
    target: str = ""  # the focused application (X11: its WM_CLASS; Wayland: its app id), lower case; "" when unknown
    reason: str = ""  # why it was not delivered, or why it was typed instead of pasted
    keys_held: bool = False  # nothing was sent because keys were held: it may go in once they are up


CLIPBOARD_TAKE_TIMEOUT_S = 1.0
_CLIPBOARD_POLL_S = 0.005

_delivering = threading.Lock()


def deliver(text: str, config: OutputConfig, desktop: Desktop | None = None) -> Delivery:
    """Put ``text`` (sanitised, with the configured separator) into the focused window of
    ``desktop`` (by default, the current session's)."""
    text = prepare(text, config.append)
    if not text:
        return Delivery(True, "none", "", reason="nothing left to deliver after sanitising")
    desktop = desktop or desktop_for(current_session())
    with _delivering:
        try:
            keyboard = desktop.keyboard()
        except KeyboardUnavailable as unavailable:
            return _leave_on_clipboard(desktop, text, config, f"no keys can be sent here: {unavailable}")
        try:
            return _deliver_with(desktop, keyboard, text, config)
        except OutOfReach as out_of_reach:
            return _leave_on_clipboard(desktop, text, config, str(out_of_reach))
        except Exception as failure:  # a backend surprise must not lose the dictation
            log.exception("delivering text failed")
            desktop.forget_delivery()
            return Delivery(False, "none", text, reason=f"delivery failed: {failure}")


def choose_method(config: OutputConfig, target: str) -> tuple[Method, tuple[str, ...]]:
    """The method and paste keys for the application ``target`` ("instance/class")."""
    if config.method == "type" or _is_listed(target, config.type_classes):
        return "type", ()
    if _is_listed(target, config.terminal_classes):
        return "paste", parse_keys(config.terminal_paste_keys)
    return "paste", parse_keys(config.paste_keys)


def _is_listed(target: str, classes: list[str]) -> bool:
    listed = {name.lower() for name in classes}
    return any(name in listed for name in target.split("/"))


def _deliver_with(desktop: Desktop, keyboard: Keyboard, text: str, config: OutputConfig) -> Delivery:
    target = _focused_app(desktop)
    method, keys = choose_method(config, target)
    note = ""
    try:
        if method == "paste":
            try:
                _paste(desktop, keyboard, text, keys, config.clipboard_restore_delay_ms / 1000,
                       replace_other_data=config.method == "paste")
                return Delivery(True, "paste", text, target)
            except ClipboardUnavailable as unavailable:
                if config.method == "paste":
                    raise
                method, note = "type", f"typed, not pasted: {unavailable}"
        keyboard.type_text(text)
        return Delivery(True, "type", text, target, note)
    except OutOfReach:
        raise
    except (ClipboardUnavailable, KeysNotSent) as failure:
        return Delivery(False, method, text, target, str(failure), keys_held=isinstance(failure, KeysHeld))


def _leave_on_clipboard(desktop: Desktop, text: str, config: OutputConfig, why: str) -> Delivery:
    """Where no keys can be sent (GNOME without a portal, a compositor without a virtual keyboard, a
    Wayland window when only XWayland's can be reached, no window with the focus), the text goes on
    the clipboard and the user is told which keys paste it."""
    target = _focused_app(desktop)
    keys = choose_method(config, target)[1] or parse_keys(config.paste_keys)
    try:
        desktop.copy(text)
    except ClipboardUnavailable as no_clipboard:
        return Delivery(False, "none", text, target, f"{why}; nor could it go on the clipboard: {no_clipboard}")
    return Delivery(False, "clipboard", text, target, f"it is on the clipboard: press {shown_keys(keys)} to paste it; "
                                                      f"{why}")


def shown_keys(keys: tuple[str, ...]) -> str:
    """Keys as a user reads them: ("<ctrl>", "<shift>", "v") -> "Ctrl+Shift+V"."""
    return "+".join(part.strip("<>").replace("_", " ").title() if len(part) > 1 else part.upper() for part in keys)


def _focused_app(desktop: Desktop) -> str:
    try:
        return desktop.focus().focused_app()
    except FocusUnavailable:
        return ""


def _paste(desktop: Desktop, keyboard: Keyboard, text: str, keys: tuple[str, ...], restore_delay_s: float,
           replace_other_data: bool) -> None:
    """Paste through the clipboard, then give the user back what they had on it.

    The target reads the clipboard some time after the paste keys; the restore waits
    ``restore_delay_s`` for that and then only replaces our own text, never
    something the user copied in the meantime. Only text can be given back: an image on
    the clipboard is replaced only when ``replace_other_data`` (``method: paste``).
    """
    clipboard = desktop.clipboard()
    previous = clipboard.read()
    if previous is None and not replace_other_data:
        raise ClipboardUnavailable("the clipboard holds an image or other data that pasting would replace")
    _put_on_clipboard(clipboard, text)
    try:
        keyboard.press_combination(keys)
        time.sleep(restore_delay_s)
    finally:
        if previous is not None and clipboard.read() == text:
            clipboard.write(previous)


def _put_on_clipboard(clipboard: Clipboard, text: str) -> None:
    """Put ``text`` on the clipboard and wait until it is there.

    xclip takes the selection from a child it forks, a moment after it is started: paste keys
    sent before that would paste the old content.
    """
    clipboard.write(text)
    deadline = time.monotonic() + CLIPBOARD_TAKE_TIMEOUT_S
    while clipboard.read() != text:
        if time.monotonic() > deadline:
            raise ClipboardUnavailable("the clipboard tool did not take the text")
        time.sleep(_CLIPBOARD_POLL_S)
