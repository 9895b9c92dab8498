"""The daemon: the switches and views over one state record, and the worker that takes each
dictation on its trip.

Hardware stays at the edges and is handed in (a microphone, a transcriber, a deliver
function), so this is plain logic that tests drive directly. Where each part lives:
dictad.input_policy turns key presses and control commands into starts, stops and cancels;
dictad.recording starts and stops recordings; dictad.pipeline is one dictation's trip, taken
here on the worker thread, one dictation at a time; dictad.state holds the state that the tray,
``dictad status`` and the event log show; dictad.settings the live config; dictad.history the
recent dictations.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from dictad.config import Config, load_config
from dictad.events import EventLog
from dictad.history import RecentDictation, RecentDictations
from dictad.inject import Delivery
from dictad.input_policy import RECORDING_COMMANDS, InputPolicy
from dictad.pipeline import SpeechToText, Stages, Trip, take_trip
from dictad.recording import Microphone, Recordings, Take, keep_audio
from dictad.settings import LiveSettings
from dictad.state import State, StatusRecord
from dictad.streaming import SpeechDecoder
from dictad.typed_yaml import ConfigError

log = logging.getLogger(__name__)


class SpeechModel(SpeechToText, SpeechDecoder, Protocol):
    """The speech model: transcription for the trip, decoding ahead for the drafts."""


def _nothing(*_args: object) -> None:
    return None


@dataclass
class Hooks:
    """What the daemon asks of the desktop around it; each defaults to doing nothing."""

    notify: Callable[[str], None] = _nothing
    copy_to_clipboard: Callable[[str], None] = _nothing
    recording_started: Callable[[], None] = _nothing
    config_changed: Callable[[Config, Config], None] = _nothing
    open_file: Callable[[Path], None] = _nothing
    quit: Callable[[], None] = _nothing


class Daemon:
    """Reacts to presses, commands and menu clicks; one worker takes the dictations on their trip."""

    def __init__(self, config: Config, microphone: Microphone, transcriber: SpeechModel,
                 deliver: Callable[[str], Delivery], events: EventLog, hooks: Hooks | None = None):
        self.transcriber = transcriber
        """The speech model in use; a reload of the model swaps it."""
        self.deliver = deliver
        self.events = events
        self.hooks = hooks or Hooks()
        self.history = RecentDictations()
        self.status_record = StatusRecord(events, notify=self.hooks.notify)
        self.settings = LiveSettings(config, events, on_llm_problem=self._llm_problem)
        self._jobs: queue.Queue[Take | None] = queue.Queue()
        self.recordings = Recordings(
            microphone, self.settings, lambda: self.transcriber, self.status_record, events, self._jobs.put,
            on_started=self.hooks.recording_started, notify=self.hooks.notify)
        self.input = InputPolicy(self.recordings, mode=lambda: self.settings.config.mode)
        self._worker = threading.Thread(target=self._work, name="dictad-worker", daemon=True)
        self._worker.start()

    # -- the worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while (take := self._jobs.get()) is not None:
            try:
                self._take_on_its_trip(take)
            except Exception as error:
                log.exception("dictation failed")
                self.status_record.fail(f"dictation failed: {error}")
            finally:
                self.status_record.update(lambda status: replace(status, busy=status.busy - 1))

    def _take_on_its_trip(self, take: Take) -> None:
        try:
            self._show_outcome(take_trip(take.audio, self._stages(), take.drafts))
        finally:
            if take.keep_as is not None:
                keep_audio(take.keep_as, take.audio)

    def _stages(self) -> Stages:
        return Stages(self.transcriber, self.settings.finish, self._deliver_once_the_hotkey_is_up,
                      self.history.add, self.events.emit)

    def _deliver_once_the_hotkey_is_up(self, text: str) -> Delivery:
        self.input.wait_until_key_up()
        return self.deliver(text)

    def _show_outcome(self, trip: Trip) -> None:
        if trip.outcome == "delivered":
            self.status_record.clear_error()
        elif trip.outcome == "undelivered":
            self.status_record.fail(f"the text could not be delivered ({trip.delivery.reason}); "
                                    "it is kept in Recent dictations")

    def _llm_problem(self, message: str | None) -> None:
        if message is None:
            self.events.emit("llm_recovered")
            return
        self.events.emit("llm_problem", message=message)
        self.hooks.notify(f"LLM cleanup unavailable, using rules: {message}")

    # -- the control socket ----------------------------------------------------------------------

    def command(self, name: str) -> dict[str, Any]:
        if name == "recent":
            return {"recent": self.recent}
        if name == "reload":
            return self.status() if self.reload_config() else {"ok": False, "error": self.error}
        if name == "quit":
            self.quit()
        if name in RECORDING_COMMANDS:
            self.input.command(name)
        return self.status()

    def status(self) -> dict[str, Any]:
        (status, shown), config = self.status_record.read(), self.config
        return {"state": shown.value, "pid": os.getpid(), "mode": config.mode,
                "cleanup": config.cleanup.mode, "paused": status.paused, "queued": status.busy,
                "error": status.error}

    # -- what the tray shows ---------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self.settings.config

    @property
    def state(self) -> State:
        return self.status_record.shown

    @property
    def error(self) -> str | None:
        return self.status_record.now.error

    @property
    def paused(self) -> bool:
        return self.status_record.now.paused

    @property
    def recent(self) -> list[str]:
        return self.history.texts()

    @property
    def cleanup_on(self) -> bool:
        return self.config.cleanup.mode != "off"

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def styles(self) -> list[str]:
        return list(self.config.cleanup.styles)

    @property
    def style(self) -> str:
        return self.config.cleanup.style

    @property
    def hotkey(self) -> str:
        return self.config.hotkey

    # -- what the tray does ----------------------------------------------------------------------

    def toggle_cleanup(self) -> None:
        self.settings.toggle_cleanup()

    def set_style(self, name: str) -> None:
        self.settings.set_style(name)

    def set_mode(self, mode: str) -> None:
        if mode not in ("hold", "toggle"):
            raise ValueError(f"unknown mode {mode!r}: expected hold or toggle")
        self.recordings.cancel()
        self.apply_config(replace(self.config, mode=mode))

    def toggle_pause(self) -> None:
        self.recordings.toggle_pause()

    def copy_last(self) -> None:
        latest = self.history.latest()
        if latest is not None:
            self.copy_text(latest.text)

    def copy_text(self, text: str) -> None:
        self.hooks.copy_to_clipboard(text)

    def paste_last(self) -> None:
        latest = self.history.latest()
        if latest is not None:
            self._deliver_again(latest)

    def _deliver_again(self, item: RecentDictation) -> None:
        result = self.deliver(item.text)
        item.delivered = item.delivered or result.delivered
        if result.delivered:
            self.status_record.clear_error()
        else:
            self.status_record.fail(f"the text could not be delivered ({result.reason})")

    def open_config(self) -> None:
        self.hooks.open_file(self.settings.config_file())

    def quit(self) -> None:
        self.hooks.quit()

    # -- config ----------------------------------------------------------------------------------

    def apply_config(self, config: Config) -> None:
        """Switch to a new config; the desktop side re-grabs the hotkey or reloads the model if needed."""
        previous = self.settings.apply(config)
        self.hooks.config_changed(previous, config)

    def reload_config(self) -> bool:
        """Read the config file again; a bad one keeps the running config and says why."""
        try:
            config = load_config(self.config.source)
        except ConfigError as error:
            self.status_record.fail(f"config not reloaded, the running config is kept:\n{error}")
            return False
        previous = self.config.audio
        self.status_record.clear_error()
        self.apply_config(config)
        self.recordings.use_microphone(previous, config.audio)
        return True

    def shutdown(self) -> None:
        self.recordings.cancel()
        self._jobs.put(None)
        self._worker.join(timeout=30)
