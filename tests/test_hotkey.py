"""The global hotkey, driven with real key events on a private X display."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import pytest
from Xlib import X, XK
from Xlib.display import Display
from Xlib.ext import xtest

from dictad.desktop.hotkey import HotkeyListener, HotkeyUnavailable, choose_hotkey
from dictad.desktop.session import current_session, detect_session
from dictad.desktop.x11 import keysyms_of
from dictad.keyspec import NAMED_KEYS
from tests.rig.display import TargetWindow, keyboard_layouts, keys_held, xdotool
from tests.rig.waiting import stays_false, wait_until

DEFAULT_HOTKEY = ("<ctrl>", "<alt>", "<space>")
Events = list[str]


@pytest.fixture
def listen(x_display: str) -> Iterator[Callable[..., tuple[HotkeyListener, Events]]]:
    """Starts listeners that record "press", "release" and "escape"; stops them afterwards."""
    started: list[HotkeyListener] = []

    def start(keys: tuple[str, ...] = DEFAULT_HOTKEY) -> tuple[HotkeyListener, Events]:
        events: Events = []
        listener = choose_hotkey(
            current_session(), keys, lambda: events.append("press"), lambda: events.append("release"),
            lambda: events.append("escape"))
        listener.start()
        started.append(listener)
        return listener, events

    yield start
    for listener in started:
        listener.stop()


def wait_for_events(events: Events, expected: list[str]) -> None:
    wait_until(lambda: events == expected, 5, f"hotkey events {expected} (got {events})")


def test_every_named_key_has_an_x_keysym() -> None:
    unresolved = [name for name in NAMED_KEYS if not all(keysyms_of(f"<{name}>"))]
    assert unresolved == []


def test_without_a_display_the_hotkey_is_unavailable_and_says_why() -> None:
    with pytest.raises(HotkeyUnavailable, match="DISPLAY is not set"):
        choose_hotkey(detect_session({}), DEFAULT_HOTKEY, print, print, print)


def test_in_a_wayland_session_the_hotkey_is_unavailable_and_says_why() -> None:
    with pytest.raises(HotkeyUnavailable, match="Wayland"):
        choose_hotkey(detect_session({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}), DEFAULT_HOTKEY,
                      print, print, print)


@pytest.mark.slow
def test_holding_the_hotkey_ten_seconds_is_one_press_and_types_nothing(
        listen: Callable, target_window_factory: Callable[..., TargetWindow]) -> None:
    autorepeat_check = target_window_factory()
    with keys_held("a"):
        autorepeat_check.wait_for_text("aaaaa", timeout=3)  # else this test would prove nothing
    autorepeat_check.close()
    target = target_window_factory()
    _, events = listen()
    with keys_held("ctrl+alt+space"):
        wait_for_events(events, ["press"])
        assert stays_false(lambda: events != ["press"], seconds=10)  # the user holds the key
    wait_for_events(events, ["press", "release"])
    target.settle()
    assert target.text() == ""
    assert "space" not in target.keys()


@pytest.mark.slow
def test_letting_go_of_any_key_of_the_combination_ends_it(
        listen: Callable, target_window: TargetWindow) -> None:
    _, events = listen()
    xdotool("keydown", "ctrl+alt+space")
    try:
        wait_for_events(events, ["press"])
        xdotool("keyup", "alt")
        wait_for_events(events, ["press", "release"])
    finally:
        xdotool("keyup", "space", "ctrl", "alt")
    xdotool("key", "ctrl+alt+space")
    wait_for_events(events, ["press", "release", "press", "release"])
    target_window.settle()
    assert target_window.text() == ""


@pytest.mark.slow
def test_the_last_key_repeating_after_a_modifier_came_up_starts_nothing(
        listen: Callable, target_window: TargetWindow) -> None:
    _, events = listen()
    xdotool("keydown", "ctrl+alt+space")
    try:
        wait_for_events(events, ["press"])
        assert stays_false(lambda: events != ["press"], seconds=1.0)  # long enough for space to repeat
        xdotool("keyup", "ctrl")
        wait_for_events(events, ["press", "release"])
        assert stays_false(lambda: events != ["press", "release"], seconds=0.5), events  # space still held
    finally:
        xdotool("keyup", "space", "alt", "ctrl")
    xdotool("key", "ctrl+alt+space")
    wait_for_events(events, ["press", "release", "press", "release"])
    target_window.settle()
    assert target_window.text() == ""


@pytest.mark.slow
@pytest.mark.parametrize("keys, xdotool_keys", [
    (("<f9>",), "F9"),
    (("<ctrl>", "<shift>", "d"), "ctrl+shift+d"),
    (("<cmd>", "<alt>", "<space>"), "super+alt+space"),
])
def test_other_combinations_are_taken_from_the_focused_app(
        listen: Callable, target_window: TargetWindow, keys: tuple[str, ...], xdotool_keys: str) -> None:
    _, events = listen(keys)
    xdotool("key", xdotool_keys)
    wait_for_events(events, ["press", "release"])
    last_key = xdotool_keys.split("+")[-1]
    target_window.settle()
    assert last_key not in target_window.keys() and last_key.upper() not in target_window.keys()


def tap_alone(keysym_name: str) -> None:
    """Press and release one key through XTEST (xdotool would add Control to Control_R)."""
    with contextlib.closing(Display()) as display:
        keycode = display.keysym_to_keycode(XK.string_to_keysym(keysym_name))
        xtest.fake_input(display, X.KeyPress, keycode)
        xtest.fake_input(display, X.KeyRelease, keycode)
        display.sync()


@pytest.mark.slow
def test_a_lone_modifier_can_be_the_hotkey(listen: Callable, target_window: TargetWindow) -> None:
    _, events = listen(("<ctrl_r>",))
    tap_alone("Control_R")
    wait_for_events(events, ["press", "release"])
    target_window.settle()
    assert "Control_R" not in target_window.keys()


@pytest.mark.slow
def test_the_hotkey_works_with_caps_lock_and_num_lock_on(listen: Callable, target_window: TargetWindow) -> None:
    _, events = listen()
    xdotool("key", "Caps_Lock", "Num_Lock")
    try:
        xdotool("key", "ctrl+alt+space")
        wait_for_events(events, ["press", "release"])
    finally:
        xdotool("key", "Caps_Lock", "Num_Lock")
    target_window.settle()
    assert target_window.text() == ""


@pytest.mark.slow
def test_the_hotkey_follows_its_keys_to_a_new_keyboard_map(listen: Callable, target_window: TargetWindow) -> None:
    _, events = listen(("<ctrl>", "<shift>", "d"))
    with keyboard_layouts("us", variant="dvorak"):  # "d" moves to another key, and "e" comes to its old one

        def pressing_d_is_the_hotkey() -> bool:  # until the listener has seen the new map, the app gets it
            xdotool("key", "ctrl+shift+d")
            return bool(events)

        wait_until(pressing_d_is_the_hotkey, 5, "the hotkey to follow its key")
        wait_for_events(events, ["press", "release"])
        xdotool("key", "ctrl+shift+e")
        assert stays_false(lambda: events != ["press", "release"], seconds=0.3), events


@pytest.mark.slow
def test_escape_is_taken_only_while_the_escape_grab_is_on(listen: Callable, target_window: TargetWindow) -> None:
    listener, events = listen()
    xdotool("key", "Escape")
    wait_until(lambda: target_window.keys().count("Escape") == 1, 5, "Escape to reach the app")

    listener.set_escape_grab(True)
    xdotool("key", "Escape")
    wait_for_events(events, ["escape"])
    target_window.settle()
    assert target_window.keys().count("Escape") == 1

    listener.set_escape_grab(False)
    xdotool("key", "Escape")
    wait_until(lambda: target_window.keys().count("Escape") == 2, 5, "Escape to reach the app again")
    assert events == ["escape"]


@pytest.mark.slow
def test_escape_while_holding_the_hotkey_cancels(x_display: str, target_window: TargetWindow) -> None:
    events: Events = []

    def on_press() -> None:
        events.append("press")
        listener.set_escape_grab(True)  # from inside the callback, as the daemon may

    listener = choose_hotkey(current_session(), DEFAULT_HOTKEY, on_press, lambda: events.append("release"),
                             lambda: events.append("escape"))
    listener.start()
    try:
        with keys_held("ctrl+alt+space"):
            wait_for_events(events, ["press"])
            xdotool("key", "Escape")
            wait_for_events(events, ["press", "escape"])
    finally:
        listener.stop()
    target_window.settle()
    assert "Escape" not in target_window.keys()


@pytest.mark.slow
def test_a_combination_another_program_grabbed_is_refused_with_a_clear_error(listen: Callable) -> None:
    first, _ = listen()
    with pytest.raises(HotkeyUnavailable, match="already taken by another program"):
        listen()
    first.stop()
    _, events = listen()
    xdotool("key", "ctrl+alt+space")
    wait_for_events(events, ["press", "release"])


@pytest.mark.slow
def test_a_failing_callback_does_not_stop_the_listener(x_display: str) -> None:
    events: Events = []

    def fail() -> None:
        events.append("press")
        raise RuntimeError("daemon bug")

    listener = choose_hotkey(current_session(), DEFAULT_HOTKEY, fail, lambda: events.append("release"), print)
    listener.start()
    try:
        xdotool("key", "ctrl+alt+space")
        xdotool("key", "ctrl+alt+space")
        wait_for_events(events, ["press", "release", "press", "release"])
    finally:
        listener.stop()
