"""The X11 hotkey: a passive grab of exactly the combination on the root window.

pynput's X listener only listens (XRecord), so the focused app would still get the
keys, and its ``suppress=True`` grabs the whole keyboard. ``XGrabKey`` takes just the
combination: the app never sees it, and from the press until the key comes up the
server sends every key event to us (which is what keeps autorepeat away from the
app). XKB detectable autorepeat turns a held key into presses without the fake
release between them, so holding is one press and one release.

All X calls after ``start()`` happen on the listener's thread, which owns the
connection; other threads hand it work through a queue and a wake-up pipe.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import select
import threading
from dataclasses import dataclass
from typing import Callable

from Xlib import X, XK
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.protocol import rq

from dictad.desktop.hotkey import HotkeyUnavailable
from dictad.desktop.x11 import (close_quietly, connect, enable_detectable_autorepeat, keysyms_of, modifier_masks,
                                watch_keyboard_map)
from dictad.keyspec import format_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Combination:
    keycodes: frozenset[int]  # the last key's keycodes: the ones grabbed
    modifiers: int  # the mask the other keys set while it is pressed
    modifier_keycodes: frozenset[int]  # releasing any of these also ends the combination


def _resolve(display: Display, keys: tuple[str, ...]) -> _Combination:
    """Keycodes and modifier mask for ``keys``; the last key is the one that triggers."""
    *held, trigger = keys
    masks = modifier_masks(display)
    modifiers, modifier_keycodes = 0, set()
    for part in held:
        symbols = keysyms_of(part)
        mask = next((masks[s] for s in symbols if s in masks), None)
        if mask is None:
            raise HotkeyUnavailable(f"{format_keys(keys)}: {part} is not a modifier on this keyboard")
        modifiers |= mask
        modifier_keycodes |= {code for s in symbols for code, _ in display.keysym_to_keycodes(s)}
    keycodes = set()
    for symbol in keysyms_of(trigger):
        for keycode, index in display.keysym_to_keycodes(symbol):
            if index == 0:
                keycodes.add(keycode)
            elif index == 1 and not keycodes:
                keycodes.add(keycode)
                modifiers |= X.ShiftMask
    if not keycodes:
        raise HotkeyUnavailable(f"{format_keys(keys)}: {trigger} is not on this keyboard layout")
    return _Combination(frozenset(keycodes), modifiers, frozenset(modifier_keycodes))


def _lock_variants(display: Display, modifiers: int) -> list[int]:
    """Every on/off mix of Caps Lock, Num Lock and Scroll Lock, so a lit lock never breaks the grab."""
    masks = modifier_masks(display)
    locks = {X.LockMask, masks.get(XK.XK_Num_Lock, 0), masks.get(XK.XK_Scroll_Lock, 0)}
    locks = sorted(lock for lock in locks if lock and not lock & modifiers)
    return [sum(chosen) for n in range(len(locks) + 1) for chosen in itertools.combinations(locks, n)]


class XorgHotkeyListener:
    """Reports press and release of one key combination, and Escape while asked to."""

    def __init__(self, display_name: str, keys: tuple[str, ...], on_press: Callable[[], None],
                 on_release: Callable[[], None], on_escape: Callable[[], None]):
        self._display_name = display_name
        self._keys = keys
        self._on_press, self._on_release, self._on_escape = on_press, on_release, on_escape
        self._display: Display | None = None
        self._thread: threading.Thread | None = None
        self._work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake_read, self._wake_write = -1, -1
        self._stopping = False
        self._held = False
        self._trigger_down = False
        self._escape_active = False
        self._combination = _Combination(frozenset(), 0, frozenset())
        self._escape_keycodes: frozenset[int] = frozenset()
        self._keyboard_map_event: int | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        display = connect(self._display_name, HotkeyUnavailable)
        try:
            if not enable_detectable_autorepeat(display):
                log.warning("XKB detectable autorepeat unavailable: a held hotkey may repeat")
            self._keyboard_map_event = watch_keyboard_map(display)
            self._grab_combination(display)
        except BaseException:
            display.close()
            raise
        self._display = display
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="dictad-hotkey", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Blocks until the grabs are released, except when called from a callback."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake()
        if thread is threading.current_thread():
            return
        thread.join(timeout=5)
        self._thread = None
        os.close(self._wake_read)
        os.close(self._wake_write)

    def set_escape_grab(self, active: bool) -> None:
        """Blocks until done, except when called from a callback (it is then done at once)."""
        if self._thread is None:
            return
        if threading.current_thread() is self._thread:
            self._apply_escape_grab(active)
            return
        done = threading.Event()

        def apply_and_report() -> None:
            try:
                self._apply_escape_grab(active)
            finally:
                done.set()

        self._work.put(apply_and_report)
        self._wake()
        done.wait(timeout=2)

    def _grab_combination(self, display: Display) -> None:
        """Find the combination's keys on the keyboard map as it is now, and grab them."""
        self._combination = _resolve(display, self._keys)
        self._escape_keycodes = frozenset(code for code, _ in display.keysym_to_keycodes(XK.XK_Escape))
        self._grab(display, self._combination.keycodes, self._combination.modifiers,
                   f"{format_keys(self._keys)} is already taken by another program "
                   "(X BadAccess): choose another hotkey or free it there")

    def _regrab_after_mapping_change(self) -> None:
        """The keyboard map changed (setxkbmap, xmodmap, or keycodes lent for typing): the
        combination's symbols may be on other keys now, so what was grabbed may be wrong."""
        display, escape = self._display, self._escape_active
        self._apply_escape_grab(False)
        self._ungrab(display, self._combination.keycodes)
        try:
            self._grab_combination(display)
        except HotkeyUnavailable as reason:
            self._combination = _Combination(frozenset(), 0, frozenset())
            log.error("after a keyboard map change the hotkey no longer works: %s", reason)
            return
        self._apply_escape_grab(escape)

    def _grab(self, display: Display, keycodes: frozenset[int], modifiers: int, taken: str) -> None:
        """Grab every keycode with every lock variant, or none of them (and raise ``taken``)."""
        root = display.screen().root
        catch = xerror.CatchError(xerror.BadAccess)
        for keycode in keycodes:
            for locks in _lock_variants(display, modifiers):
                root.grab_key(keycode, modifiers | locks, False, X.GrabModeAsync, X.GrabModeAsync,
                              onerror=catch)
        display.sync()
        if catch.get_error():
            self._ungrab(display, keycodes)
            raise HotkeyUnavailable(taken)

    @staticmethod
    def _ungrab(display: Display, keycodes: frozenset[int]) -> None:
        root = display.screen().root
        for keycode in keycodes:
            root.ungrab_key(keycode, X.AnyModifier)
        display.sync()

    def _apply_escape_grab(self, active: bool) -> None:
        if active == self._escape_active or self._display is None:
            return
        if active:
            try:
                self._grab(self._display, self._escape_keycodes, 0, "Escape")
            except HotkeyUnavailable:
                log.warning("Escape is grabbed by another program: it cannot cancel dictation")
                return
        else:
            self._ungrab(self._display, self._escape_keycodes)
        self._escape_active = active

    def _wake(self) -> None:
        os.write(self._wake_write, b"x")

    def _run(self) -> None:
        display = self._display
        try:
            while not self._stopping:
                while not self._work.empty():
                    self._work.get()()
                while display.pending_events():
                    self._handle(display.next_event())
                readable, _, _ = select.select([display, self._wake_read], [], [])
                if self._wake_read in readable:
                    os.read(self._wake_read, 512)
            self._ungrab(display, self._combination.keycodes | self._escape_keycodes)
        except (xerror.ConnectionClosedError, OSError) as lost:
            log.error("lost the X display; the hotkey no longer works: %s", lost)
        finally:
            self._display = None
            self._escape_active = self._held = self._trigger_down = False
            while not self._work.empty():
                self._work.get()()
            close_quietly(display)

    def _handle(self, event: rq.Event) -> None:
        if event.type == self._keyboard_map_event:
            info = self._display.display.info
            self._display._update_keymap(info.min_keycode, info.max_keycode - info.min_keycode + 1)  # no public way
            self._regrab_after_mapping_change()
        elif event.type == X.KeyPress:
            if event.detail in self._combination.keycodes:
                self._trigger_pressed()
            elif event.detail in self._escape_keycodes and self._escape_active:
                _call(self._on_escape)
        elif event.type == X.KeyRelease:
            if event.detail in self._combination.keycodes:
                self._trigger_down = False
            if self._held and event.detail in self._combination.keycodes | self._combination.modifier_keycodes:
                self._held = False
                _call(self._on_release)

    def _trigger_pressed(self) -> None:
        """A press of the combination's last key: a new press only if that key was up.

        A key held down repeats its press. After a modifier comes up first (the dictation
        ends), the grab still sends us those repeats until the key itself comes up: they must
        not start another dictation.
        """
        if self._trigger_down:
            return
        self._trigger_down = True
        if not self._held:
            self._held = True
            _call(self._on_press)


def _call(callback: Callable[[], None]) -> None:
    """Run a daemon callback; its failure is logged, never allowed to end the listener."""
    try:
        callback()
    except Exception:
        log.exception("hotkey callback %r failed", callback)

