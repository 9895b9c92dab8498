"""Putting dictated text into the focused window.

The policy lives here, free of any platform: which method (paste or type) and which
paste keys the focused window gets, and the clipboard's save and restore. The keys
themselves are sent by one backend per platform (``_xorg`` on X11), chosen here.
``deliver`` never raises: it says what happened, so the daemon can keep undelivered
text in Recent dictations and tell the user why.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import pyperclip

from dictad.config import OutputConfig
from dictad.inject.text import prepare
from dictad.keyspec import parse_keys

log = logging.getLogger(__name__)

Method = Literal["paste", "type", "none"]


@dataclass(frozen=True)
class Delivery:
    """The outcome of one ``deliver`` call."""

    delivered: bool
    method: Method  # how the text went (or was to go) in; "none" when nothing was tried
    text: str  # exactly what was (or was to be) delivered, after sanitising
    target: str = ""  # the focused window's WM_CLASS, lower case; "" when unknown
    reason: str = ""  # why it was not delivered, or why it was typed instead of pasted


class CannotDeliver(Exception):
    """The text cannot go in this way; the message says why, in words for the user."""


class ClipboardUnavailable(CannotDeliver):
    """No clipboard tool works here (typing still may)."""


class Keyboard(Protocol):
    """What a platform backend does: find the target, send keys."""

    def focused_window_class(self) -> str:
        """The focused window's class names, lower case, joined by "/"; "" when unknown."""

    def press_combination(self, keys: tuple[str, ...]) -> None:
        """Press and release a combination (parts as ``parse_keys`` gives them)."""

    def type_text(self, text: str) -> None:
        """Type ``text`` as key presses, whatever the keyboard layout."""


NO_CLIPBOARD_TOOL = "no clipboard tool: install xclip or xsel"
CLIPBOARD_TAKE_TIMEOUT_S = 1.0
_CLIPBOARD_POLL_S = 0.005

_delivering = threading.Lock()
_keyboards: dict[str, Keyboard] = {}


def deliver(text: str, config: OutputConfig) -> Delivery:
    """Put ``text`` (sanitised, with the configured separator) into the focused window."""
    text = prepare(text, config.append)
    if not text:
        return Delivery(True, "none", "", reason="nothing left to deliver after sanitising")
    with _delivering:
        try:
            keyboard = _keyboard()
        except CannotDeliver as unavailable:
            return Delivery(False, "none", text, reason=str(unavailable))
        try:
            return _deliver_with(keyboard, text, config)
        except Exception as failure:  # a backend surprise must not lose the dictation
            log.exception("delivering text failed")
            _keyboards.clear()
            return Delivery(False, "none", text, reason=f"delivery failed: {failure}")


def choose_method(config: OutputConfig, target: str) -> tuple[Method, tuple[str, ...]]:
    """The method and paste keys for a window of class ``target`` ("instance/class")."""
    if config.method == "type" or _is_listed(target, config.type_classes):
        return "type", ()
    if _is_listed(target, config.terminal_classes):
        return "paste", parse_keys(config.terminal_paste_keys)
    return "paste", parse_keys(config.paste_keys)


def _is_listed(target: str, classes: list[str]) -> bool:
    listed = {name.lower() for name in classes}
    return any(name in listed for name in target.split("/"))


def _deliver_with(keyboard: Keyboard, text: str, config: OutputConfig) -> Delivery:
    target = keyboard.focused_window_class()
    method, keys = choose_method(config, target)
    note = ""
    try:
        if method == "paste":
            try:
                _paste(keyboard, text, keys, config.clipboard_restore_delay_ms / 1000,
                       replace_other_data=config.method == "paste")
                return Delivery(True, "paste", text, target)
            except ClipboardUnavailable as unavailable:
                if config.method == "paste":
                    raise
                method, note = "type", f"typed, not pasted: {unavailable}"
        keyboard.type_text(text)
        return Delivery(True, "type", text, target, note)
    except CannotDeliver as failure:
        return Delivery(False, method, text, target, str(failure))


def _paste(keyboard: Keyboard, text: str, keys: tuple[str, ...], restore_delay_s: float,
           replace_other_data: bool) -> None:
    """Paste through the clipboard, then give the user back what they had on it.

    The target reads the clipboard some time after the paste keys; the restore waits
    ``restore_delay_s`` for that and then only replaces our own text, never
    something the user copied in the meantime. Only text can be given back: an image on
    the clipboard is replaced only when ``replace_other_data`` (``method: paste``).
    """
    previous = read_clipboard()
    if previous is None and not replace_other_data:
        raise ClipboardUnavailable("the clipboard holds an image or other data that pasting would replace")
    put_on_clipboard(text)
    try:
        keyboard.press_combination(keys)
        time.sleep(restore_delay_s)
    finally:
        if previous is not None and read_clipboard() == text:
            pyperclip.copy(previous)


def read_clipboard() -> str | None:
    """The clipboard's text ("" when it holds none); None when it holds data that is not text."""
    try:
        return pyperclip.paste()
    except pyperclip.PyperclipException as missing:
        raise ClipboardUnavailable(NO_CLIPBOARD_TOOL) from missing
    except UnicodeDecodeError:  # the clipboard tool handed over an image's bytes
        return None


def put_on_clipboard(text: str) -> None:
    """Put ``text`` on the clipboard and wait until it is there.

    xclip takes the selection from a child it forks, a moment after pyperclip returns:
    paste keys sent before that would paste the old content.
    """
    try:
        pyperclip.copy(text)
    except pyperclip.PyperclipException as missing:
        raise ClipboardUnavailable(NO_CLIPBOARD_TOOL) from missing
    deadline = time.monotonic() + CLIPBOARD_TAKE_TIMEOUT_S
    while read_clipboard() != text:
        if time.monotonic() > deadline:
            raise ClipboardUnavailable("the clipboard tool did not take the text")
        time.sleep(_CLIPBOARD_POLL_S)


def _keyboard() -> Keyboard:
    """The backend for this session, connected once and reused."""
    reason = why_no_injection_backend()
    if reason:
        raise CannotDeliver(reason)
    display = os.environ["DISPLAY"]
    if display not in _keyboards:
        from dictad.inject._xorg import XorgKeyboard

        _keyboards[display] = XorgKeyboard()
    return _keyboards[display]


def why_no_injection_backend() -> str | None:
    """Why no backend can put text into windows in this session, or None when X11 can."""
    if sys.platform in ("win32", "darwin"):
        return f"no backend for {sys.platform} yet: dictad cannot put text into windows here"
    if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return "Wayland session: dictad cannot send keys to Wayland windows yet"
    if not os.environ.get("DISPLAY"):
        return "no X display (DISPLAY is not set): there is no window to put the text into"
    return None
