"""The daemon's one state record, what the tray shows of it, and the one place where it changes.

Every change goes through :meth:`StatusRecord.update`, which emits the ``state`` event when
what is shown changes; the tray, ``dictad status`` and ``--events FILE`` all read from here,
so they can never disagree about what dictad is doing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from dictad.events import EventLog

log = logging.getLogger(__name__)


class State(str, Enum):
    """What the tray icon, ``dictad status`` and the ``state`` event show."""

    IDLE = "idle"
    RECORDING = "recording"
    WORKING = "working"
    DISABLED = "disabled"
    ERROR = "error"


@dataclass(frozen=True)
class Status:
    """Everything the shown state is made of."""

    paused: bool = False
    recording: bool = False
    busy: int = 0
    """Dictations recorded and not yet through their trip (queued or in work)."""
    microphone_lost: bool = False
    """The microphone failed during this recording: it shows as an error, not as recording."""
    error: str | None = None
    """What went wrong last, until it is put right (text delivered, config reloaded)."""


def shown_state(status: Status) -> State:
    """The state to show: paused first; then a live microphone, whatever else failed meanwhile
    (the user is being recorded); then an error; then work in progress."""
    if status.paused:
        return State.DISABLED
    if status.recording and not status.microphone_lost:
        return State.RECORDING
    if status.error:
        return State.ERROR
    if status.busy:
        return State.WORKING
    return State.IDLE


Watcher = Callable[[Status, State], None]
"""Hears each change of the status, with the state shown for it."""


class StatusRecord:
    """Holds the current :class:`Status`; the one place that changes it and says so.

    Events are emitted, and watchers told, under the record's lock, so that they come in the order
    of the changes; the lock is reentrant, so a listener may change the status again."""

    def __init__(self, events: EventLog, notify: Callable[[str], None]):
        self._events = events
        self._notify = notify
        self._lock = threading.RLock()
        self._now = (Status(), State.IDLE)
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Tell ``watcher`` of every change from now on, in order; returns the call that stops it.
        Watchers run under the record's lock, so one must never block (``dictad status --follow``
        only tries a send that cannot wait): a slow one would hold up every change."""
        with self._lock:
            self._watchers.append(watcher)
        return lambda: self._unwatch(watcher)

    def _unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    @property
    def now(self) -> Status:
        return self._now[0]

    @property
    def shown(self) -> State:
        return self._now[1]

    def read(self) -> tuple[Status, State]:
        """The status and the state shown for it, as one consistent pair."""
        return self._now

    def update(self, edit: Callable[[Status], Status], announce: str | None = None) -> Status:
        """Apply ``edit`` to the current status, and emit ``state`` if what is shown changed.
        ``announce``: an event emitted in the same step, before ``state``, so that no other
        change can come between them."""
        with self._lock:
            status, shown_before = self._now
            status = edit(status)
            shown = shown_state(status)
            self._now = (status, shown)
            if announce is not None:
                self._events.emit(announce)
            if shown != shown_before:
                self._events.emit("state", state=shown.value, detail=status.error or "")
            self._tell_watchers(status, shown)
        return status

    def _tell_watchers(self, status: Status, shown: State) -> None:
        """A failing watcher is logged and skipped: the change itself has happened."""
        for watcher in list(self._watchers):
            try:
                watcher(status, shown)
            except Exception:
                log.exception("a status watcher failed")

    def change(self, **fields: Any) -> Status:
        return self.update(lambda status: replace(status, **fields))

    def fail(self, message: str, microphone_lost: bool = False) -> None:
        """Say what went wrong, everywhere: log, tray, status, event log and a notification.
        ``microphone_lost``: the microphone failed, which ends a recording's live state."""
        log.error("%s", message)
        self.update(lambda status: replace(status, error=message,
                                           microphone_lost=status.recording if microphone_lost
                                           else status.microphone_lost))
        self._events.emit("error", message=message)
        self._notify(message)

    def clear_error(self) -> None:
        """What went wrong has been put right (text delivered, config reloaded): the tray says so."""
        self.change(error=None)
