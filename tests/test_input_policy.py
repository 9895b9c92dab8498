"""What a press, a release, Escape or a control command means, in hold and toggle mode."""

from __future__ import annotations

import threading

import pytest

from dictad.input_policy import InputPolicy
from tests.rig.waiting import stays_false, wait_until


class Recordings:
    """Recordings as the policy sees them: it notes what it was asked to do."""

    def __init__(self) -> None:
        self.recording = False
        self.asked: list[str] = []

    def start(self) -> None:
        self.asked.append("start")
        self.recording = True

    def stop(self) -> None:
        self.asked.append("stop")
        self.recording = False

    def cancel(self) -> None:
        self.asked.append("cancel")
        self.recording = False


def policy_in(mode: str) -> tuple[InputPolicy, Recordings]:
    recordings = Recordings()
    return InputPolicy(recordings, mode=lambda: mode), recordings


def test_hold_records_from_press_to_release() -> None:
    policy, recordings = policy_in("hold")
    policy.hotkey_pressed()
    policy.hotkey_released()
    assert recordings.asked == ["start", "stop"]


def test_toggle_starts_on_one_press_and_stops_on_the_next_whatever_the_releases() -> None:
    policy, recordings = policy_in("toggle")
    policy.hotkey_pressed()
    policy.hotkey_released()
    policy.hotkey_pressed()
    policy.hotkey_released()
    assert recordings.asked == ["start", "stop"]


@pytest.mark.parametrize("mode", ["hold", "toggle"])
def test_escape_cancels(mode: str) -> None:
    policy, recordings = policy_in(mode)
    policy.hotkey_pressed()
    policy.escape_pressed()
    assert recordings.asked == ["start", "cancel"]


@pytest.mark.parametrize(("commands", "asked"), [
    (["toggle", "toggle"], ["start", "stop"]),
    (["start", "stop"], ["start", "stop"]),
    (["start", "cancel"], ["start", "cancel"]),
    # a binding's stop that never came: the next start delivers the take and records the next one
    (["start", "start", "stop"], ["start", "stop", "start", "stop"]),
])
def test_control_commands_drive_the_same_recordings(commands: list[str], asked: list[str]) -> None:
    policy, recordings = policy_in("hold")
    for command in commands:
        policy.command(command)
    assert recordings.asked == asked


def test_text_waits_while_the_hotkey_is_held_in_hold_mode() -> None:
    policy, _ = policy_in("hold")
    policy.hotkey_pressed()
    done = threading.Event()
    threading.Thread(target=lambda: (policy.wait_until_key_up(), done.set()), daemon=True).start()
    assert stays_false(done.is_set, 0.2), "text would be typed while Ctrl+Alt are still held"
    policy.hotkey_released()
    wait_until(done.is_set, what="the wait to end once the key is up")


def test_in_toggle_mode_text_never_waits_for_the_key() -> None:
    policy, _ = policy_in("toggle")
    policy.hotkey_pressed()
    done = threading.Event()
    threading.Thread(target=lambda: (policy.wait_until_key_up(), done.set()), daemon=True).start()
    wait_until(done.is_set, what="the wait to end at once")
