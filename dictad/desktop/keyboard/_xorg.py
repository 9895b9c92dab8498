"""Keys into the focused X11 window through XTEST, as if typed on the keyboard.

Not pynput's Controller: it sends characters with XSendEvent, whose events carry the
"synthetic" flag, and xterm drops those (nothing is typed there); and its borrowed
keycodes, left behind between runs, typed "✓" as "ï" here. XTEST events are
indistinguishable from real keys, so every app takes them.

A character that is not on the layout is typed by lending it an unused keycode, as
xdotool does. Apps learn of a new mapping from an event and re-read it lazily, and
libX11 can lose a mapping change that arrives while it is re-reading the previous
one: a Tk window then typed nothing, or a character lent earlier, now and then when
keycodes were lent between keystrokes. So every keycode a text needs is lent before
its first key, followed by a short settle (bench/README.md), and lent keycodes stay
lent until dictad exits, so that a character used before costs nothing the next time.

Real key events mix with keys the user still holds (Alt + our Ctrl+V is Ctrl+Alt+V)
and go to whoever grabbed the keyboard (our own hotkey does, until its key comes up),
so nothing is sent until every key is up. Nor is anything sent when no window has the focus
(the one dictated into closed): the keys would go to the root window and the text be lost.
"""

from __future__ import annotations

import atexit
import contextlib
import time
from typing import Iterator

from Xlib import X, XK
from Xlib import error as xerror
from Xlib.ext import xtest

from dictad.desktop.keyboard import KeyboardUnavailable, KeysHeld, KeysNotSent, OutOfReach
from dictad.desktop.x11 import char_keysym, connect, keysym_name, keysyms_of

NO_FOCUS = "no window has the keyboard focus (the one dictated into may have closed)"
KEYS_UP_TIMEOUT_S = 2.0
_KEYS_UP_POLL_S = 0.002
"""How often to look whether the keys are up: the text goes in this long after the last one at
most, and a look is one cheap round trip to the X server (bench/latency.py; bench/README.md)."""
_LENT_KEYCODES_SETTLE_S = 0.05

# (keycode, whether Shift is needed) for each keysym typable at level 1 or 2 of a key.
Keymap = dict[int, tuple[int, bool]]


class XorgKeyboard:
    """One X connection that sends keys to whichever window has the focus."""

    def __init__(self, display_name: str) -> None:
        self._display = connect(display_name, KeyboardUnavailable)
        self._lent: dict[int, int] = {}  # keycode -> keysym, least recently used first
        atexit.register(self.close)

    def close(self) -> None:
        """Give the lent keycodes back to the keyboard map and disconnect."""
        with contextlib.suppress(xerror.ConnectionClosedError, OSError):
            for keycode, keysym in self._lent.items():
                if self._display.get_keyboard_mapping(keycode, 1)[0][0] == keysym:
                    self._display.change_keyboard_mapping(keycode, [(X.NoSymbol, X.NoSymbol)])
            self._lent.clear()
            self._display.close()

    def press_combination(self, keys: tuple[str, ...]) -> None:
        self._wait_until_keys_are_up()
        self._ensure_a_window_has_focus()
        keymap = _keymap(self._read_mapping())
        keycodes = [_keycode_on_layout(part, keymap) for part in keys]
        for keycode in keycodes:
            xtest.fake_input(self._display, X.KeyPress, keycode)
        for keycode in reversed(keycodes):
            xtest.fake_input(self._display, X.KeyRelease, keycode)
        self._display.sync()

    def type_text(self, text: str) -> None:
        self._wait_until_keys_are_up()
        self._ensure_a_window_has_focus()
        mapping = self._read_mapping()
        state = self._display.screen().root.query_pointer().mask
        keymap = _keymap(mapping, _layout_group(state))
        missing = list(dict.fromkeys(k for k in map(_typing_keysym, text) if k not in keymap))
        if missing:
            self._lend_keycodes(missing, mapping, keymap)
            time.sleep(_LENT_KEYCODES_SETTLE_S)
        shift = _keycode_on_layout("<shift>", keymap)
        with self._caps_lock_off(keymap, shift, caps_locked=bool(state & X.LockMask)):
            for keysym in map(_typing_keysym, text):
                self._type_key(*keymap[keysym], shift)
            self._display.sync()

    def _wait_until_keys_are_up(self) -> None:
        deadline = time.monotonic() + KEYS_UP_TIMEOUT_S
        while held := self._held_keys():
            if time.monotonic() > deadline:
                raise KeysHeld(
                    f"keys still held after {KEYS_UP_TIMEOUT_S:g} s ({', '.join(held)}): nothing was "
                    "sent, so that they could not mix with the keys that put the text in")
            time.sleep(_KEYS_UP_POLL_S)

    def _ensure_a_window_has_focus(self) -> None:
        """The focus is on a window, or (PointerRoot) on one under the pointer; not on none or the root."""
        focus = self._display.get_input_focus().focus
        root = self._display.screen().root
        if focus == X.PointerRoot:
            focus = root.query_pointer().child
        if getattr(focus, "id", focus) in (X.NONE, root.id):
            raise OutOfReach(NO_FOCUS)

    def _held_keys(self) -> list[str]:
        pressed = self._display.query_keymap()
        keycodes = [byte * 8 + bit for byte, bits in enumerate(pressed) for bit in range(8) if bits >> bit & 1]
        return [keysym_name(self._display.keycode_to_keysym(code, 0)) for code in keycodes]

    def _read_mapping(self) -> dict[int, tuple[int, ...]]:
        """Keycode -> keysyms, now (it changes: layouts switch, we lend keycodes)."""
        first = self._display.display.info.min_keycode
        count = self._display.display.info.max_keycode - first + 1
        rows = self._display.get_keyboard_mapping(first, count)
        return {first + offset: tuple(keysyms) for offset, keysyms in enumerate(rows)}

    def _lend_keycodes(self, keysyms: list[int], mapping: dict[int, tuple[int, ...]], keymap: Keymap) -> None:
        """Put each keysym on a keycode of its own (both levels, so Shift cannot change it)."""
        unused = [code for code, symbols in reversed(mapping.items()) if not any(symbols)]
        reusable = [code for code, keysym in self._lent.items() if keysym not in keysyms]
        available = unused + reusable
        if len(available) < len(keysyms):
            raise KeysNotSent(
                f"the text has {len(keysyms)} different characters that are not on the keyboard "
                f"layout, and only {len(available)} unused keycodes are left to type them with "
                "(paste instead, or reset the keyboard map with setxkbmap)")
        for keysym, keycode in zip(keysyms, available):
            self._display.change_keyboard_mapping(keycode, [(keysym, keysym)])
            keymap.pop(self._lent.pop(keycode, None), None)
            self._lent[keycode] = keysym
            keymap[keysym] = (keycode, False)
        self._display.sync()

    @contextlib.contextmanager
    def _caps_lock_off(self, keymap: Keymap, shift: int, caps_locked: bool) -> Iterator[None]:
        """Caps Lock would turn typed "a" into "A": switch it off while typing, then back on (with
        Shift where Caps Lock is the key's second symbol: with grp:caps_toggle, Caps alone
        switches layouts)."""
        caps_lock = keymap.get(XK.XK_Caps_Lock)
        if not caps_locked or caps_lock is None:
            yield
            return
        self._type_key(*caps_lock, shift)
        self._display.sync()
        try:
            yield
        finally:
            self._type_key(*caps_lock, shift)
            self._display.sync()

    def _type_key(self, keycode: int, shifted: bool, shift: int) -> None:
        """Press and release ``keycode``, with the ``shift`` keycode held when ``shifted``."""
        if shifted:
            xtest.fake_input(self._display, X.KeyPress, shift)
        xtest.fake_input(self._display, X.KeyPress, keycode)
        xtest.fake_input(self._display, X.KeyRelease, keycode)
        if shifted:
            xtest.fake_input(self._display, X.KeyRelease, shift)


def _layout_group(state: int) -> int:
    """Which of the keyboard's layouts is in use (0 for the first), from the core modifier
    ``state``, where XKB puts it in bits 13-14: a key types its symbol in that layout ("a" on a
    us,ru keyboard types "ф" while Russian is on)."""
    return state >> 13 & 3


def _keymap(mapping: dict[int, tuple[int, ...]], group: int = 0) -> Keymap:
    """What each key types in layout ``group``. The core mapping lists a key's symbols layout by
    layout, two levels each; a key with none in ``group`` (a lent keycode, say) types its first
    layout's, as XKB wraps the group."""
    keymap: Keymap = {}
    for keycode, keysyms in mapping.items():
        in_group = keysyms[2 * group : 2 * group + 2]
        for level, keysym in enumerate(in_group if any(in_group) else keysyms[:2]):
            if keysym and keysym not in keymap:
                keymap[keysym] = (keycode, level == 1)
    return keymap


def _keycode_on_layout(part: str, keymap: Keymap) -> int:
    keysym = keysyms_of(part)[0]
    if keysym not in keymap:
        raise KeysNotSent(f"{part} is not on this keyboard layout")
    return keymap[keysym][0]


def _typing_keysym(char: str) -> int:
    return XK.XK_Return if char == "\n" else char_keysym(char)
