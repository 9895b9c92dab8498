"""The one state record: what the tray shows for every mix of flags, and the one place it changes."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

import pytest

from dictad.events import EventLog
from dictad.state import State, Status, StatusRecord, shown_state

EVERY_STATUS = [
    Status(paused=paused, recording=recording, busy=busy, microphone_lost=lost, error=error)
    for paused, recording, busy, lost, error in itertools.product(
        (False, True), (False, True), (0, 1, 3), (False, True), (None, "the microphone went away"))
]


@pytest.mark.parametrize("status", EVERY_STATUS, ids=repr)
def test_paused_always_shows_disabled(status: Status) -> None:
    assert (shown_state(status) is State.DISABLED) == status.paused


@pytest.mark.parametrize("status", [status for status in EVERY_STATUS if not status.paused], ids=repr)
def test_a_live_microphone_shows_recording_whatever_failed_or_waits(status: Status) -> None:
    live = status.recording and not status.microphone_lost
    assert (shown_state(status) is State.RECORDING) == live


@pytest.mark.parametrize("status", [status for status in EVERY_STATUS
                                    if not status.paused and not (status.recording and not status.microphone_lost)],
                         ids=repr)
def test_otherwise_an_error_shows_before_work_and_idle(status: Status) -> None:
    expected = State.ERROR if status.error else State.WORKING if status.busy else State.IDLE
    assert shown_state(status) is expected


def test_a_microphone_lost_mid_recording_shows_the_error_not_recording() -> None:
    assert shown_state(Status(recording=True, microphone_lost=True, error="gone")) is State.ERROR


class Heard:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.notes: list[str] = []

    def states(self) -> list[str]:
        return [event["state"] for event in self.events if event["event"] == "state"]


@pytest.fixture
def record_and_heard() -> tuple[StatusRecord, Heard]:
    heard, events = Heard(), EventLog()
    events.subscribe(lambda name, record: heard.events.append(record))
    return StatusRecord(events, notify=heard.notes.append), heard


def test_the_state_event_comes_once_per_change_of_what_is_shown(record_and_heard) -> None:
    record, heard = record_and_heard
    record.change(busy=1)
    record.change(busy=2)
    record.change(recording=True)
    record.change(recording=False)
    record.change(busy=0)
    assert heard.states() == ["working", "recording", "working", "idle"]
    assert record.shown is State.IDLE


def test_a_failure_is_told_everywhere_and_cleared_once_put_right(record_and_heard) -> None:
    record, heard = record_and_heard
    record.fail("the text could not be delivered (no window has focus)")
    assert record.shown is State.ERROR and record.now.error.startswith("the text could not")
    assert heard.notes == ["the text could not be delivered (no window has focus)"]
    assert [event["event"] for event in heard.events] == ["state", "error"]
    assert heard.events[0]["detail"] == "the text could not be delivered (no window has focus)"
    record.clear_error()
    assert record.shown is State.IDLE and record.now.error is None


def test_a_microphone_failure_ends_the_live_recording_but_not_an_idle_one(record_and_heard) -> None:
    record, heard = record_and_heard
    record.change(recording=True)
    record.fail("the microphone stopped delivering audio", microphone_lost=True)
    assert record.shown is State.ERROR
    record.change(recording=False, error=None)
    record.fail("cannot open the microphone", microphone_lost=True)
    assert record.now.microphone_lost is False, "an idle microphone failure marked the next recording lost"


def test_another_failure_during_a_lost_recording_keeps_it_lost(record_and_heard) -> None:
    record, _ = record_and_heard
    record.change(recording=True)
    record.fail("the microphone stopped delivering audio", microphone_lost=True)
    record.fail("the previous dictation could not be delivered")
    assert record.now.microphone_lost and record.shown is State.ERROR


def test_changes_from_many_threads_are_never_lost_and_never_shown_twice(record_and_heard) -> None:
    record, heard = record_and_heard

    def work() -> None:
        for _ in range(500):
            record.update(lambda status: replace(status, busy=status.busy + 1))
            record.update(lambda status: replace(status, busy=status.busy - 1))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert record.now.busy == 0 and record.shown is State.IDLE
    states = heard.states()
    assert states[-1] == "idle" and all(a != b for a, b in zip(states, states[1:])), "a state was shown twice running"
