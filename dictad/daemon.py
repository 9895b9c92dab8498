"""The daemon: the switches and views over one state record, and the worker that takes each
dictation on its trip.

Hardware stays at the edges and is handed in (a microphone, a transcriber, a deliver
function), so this is plain logic that tests drive directly. Where each part lives:
dictad.input_policy turns key presses and control commands into starts, stops and cancels;
dictad.recording starts and stops recordings; dictad.pipeline is one dictation's trip, taken
here on the worker thread, one dictation at a time; dictad.state holds the state that the tray,
``dictad status`` and the event log show; dictad.settings the live config; dictad.history every
dictation, and dictad.journal the audio of those that a crash interrupted, recovered at start.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from dictad.config import Config, load_config
from dictad.events import EventLog
from dictad.history import Entry, History, HistoryError
from dictad.inject import Delivery
from dictad.input_policy import RECORDING_COMMANDS, InputPolicy
from dictad.journal import journal_folder, leftovers
from dictad.pipeline import SpeechToText, Stages, Trip, take_trip
from dictad.recording import Microphone, Recordings, Take, keep_audio
from dictad.recovery import recover, recovered_message
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
        self.status_record = StatusRecord(events, notify=self.hooks.notify)
        self.history = self._open_history(config)
        journals = journal_folder()
        self._left_by_a_crash = leftovers(journals)
        """Taken before anything can record: a journal of this run is never taken for one of a crash."""
        self.settings = LiveSettings(config, events, on_llm_problem=self._llm_problem)
        self._jobs: queue.Queue[Take | Path | None] = queue.Queue()
        self.recordings = Recordings(
            microphone, self.settings, lambda: self.transcriber, self.status_record, events, self._jobs.put,
            on_started=self.hooks.recording_started, notify=self.hooks.notify, journal_in=journals)
        self.input = InputPolicy(self.recordings, mode=lambda: self.settings.config.mode)
        self._worker = threading.Thread(target=self._work, name="dictad-worker", daemon=True)
        self._worker.start()

    # -- the worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if isinstance(job, Path):
                    self._recover(job)
                else:
                    self._take_on_its_trip(job)
            except Exception as error:
                log.exception("dictation failed")
                self.status_record.fail(f"dictation failed: {error}")
            finally:
                self.status_record.update(lambda status: replace(status, busy=status.busy - 1))

    def _take_on_its_trip(self, take: Take) -> None:
        try:
            trip = take_trip(take.audio, self._stages(take), take.drafts)
            if take.journal is not None and (trip.outcome == "delivered" or
                                             (trip.not_kept is None and self.history.on_disk)):
                take.journal.discard()
            self._show_outcome(trip)
        finally:
            if take.keep_as is not None:
                keep_audio(take.keep_as, take.audio)

    def _stages(self, take: Take) -> Stages:
        return Stages(self.transcriber, self.settings.finish, self._deliver_once_the_hotkey_is_up,
                      lambda trip: self._remember(trip, take), self.events.emit)

    def _remember(self, trip: Trip, take: Take) -> str | None:
        delivery = trip.delivery
        entry = Entry(0, time.time(), trip.raw, trip.text, trip.cleaner, delivery.delivered, delivery.method,
                      delivery.target, delivery.reason, audio_seconds=trip.audio_seconds,
                      transcribe_s=trip.transcribe_s, clean_s=trip.clean_s, deliver_s=trip.deliver_s)
        try:
            self.history.add(entry, take.audio)
        except HistoryError as error:
            return str(error)
        return None

    def _deliver_once_the_hotkey_is_up(self, text: str) -> Delivery:
        """Keys sent while the hotkey is held would mix with it. When the next dictation's press
        begins as this text goes in, the text waits for that key to come up, and goes in first."""
        while True:
            self.input.wait_until_key_up()
            delivery = self.deliver(text)
            if not (delivery.keys_held and self.input.hotkey_held):
                return delivery
            log.info("the next dictation's press began as the text went in: it goes in once the key is up")

    def _show_outcome(self, trip: Trip) -> None:
        if trip.outcome == "undelivered":
            self.status_record.fail(f"the text could not be delivered ({trip.delivery.reason}); "
                                    "it is kept in Recent dictations")
        elif trip.not_kept is not None:
            self.status_record.fail(f"the text was delivered, but {trip.not_kept}")
        elif trip.outcome == "delivered":
            self.status_record.clear_error()

    # -- what a crash left behind ----------------------------------------------------------------

    def recover_interrupted(self) -> int:
        """Queue the journals a crash left behind, to be transcribed and kept in the history after
        the dictations before them; returns how many there are."""
        found, self._left_by_a_crash = self._left_by_a_crash, []
        for path in found:
            self.status_record.update(lambda status: replace(status, busy=status.busy + 1))
            self._jobs.put(path)
        return len(found)

    def _recover(self, journal: Path) -> None:
        """One interrupted recording into the history (dictad.recovery), and the user told once."""
        try:
            entry = recover(journal, self.transcriber, self.settings.finish, self.history)
        except HistoryError as error:
            self.status_record.fail(f"a dictation interrupted by a crash was recovered into Recent dictations, but "
                                    f"{error}; its audio stays in {journal} for the next start")
            return
        if entry is not None:
            self.events.emit("recovered", chars=len(entry.text))
            log.warning("%s", recovered_message(entry))
            self.hooks.notify(recovered_message(entry))

    def _llm_problem(self, message: str | None) -> None:
        """Told once when the LLM goes (the rules clean meanwhile, at once) and once when it is back."""
        if message is None:
            self.events.emit("llm_recovered")
            self.hooks.notify("LLM cleanup is back: Ollama answers in time again")
            return
        self.events.emit("llm_problem", message=message)
        self.hooks.notify(f"LLM cleanup unavailable, using rules until Ollama answers in time again: {message}")

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
        return [entry.text for entry in self.history.recent()]

    @property
    def pinned(self) -> list[str]:
        """Recent texts that were not delivered and that the user has not taken yet."""
        return [entry.text for entry in self.history.recent() if entry.pinned]

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
        """Copy a recent dictation: an undelivered one, taken so, is no longer pinned."""
        self.hooks.copy_to_clipboard(text)
        self._taken(text)

    def paste_last(self) -> None:
        latest = self.history.latest()
        if latest is not None:
            self._deliver_again(latest)

    def _deliver_again(self, entry: Entry) -> None:
        result = self.deliver(entry.text)
        if result.delivered:
            self._taken(entry.text)
            self.status_record.clear_error()
        else:
            self.status_record.fail(f"the text could not be delivered ({result.reason})")

    def _taken(self, text: str) -> None:
        for entry in self.history.recent():
            if entry.pinned and entry.text == text:
                try:
                    self.history.mark_taken(entry.id)
                except HistoryError as error:
                    log.warning("%s", error)

    def open_config(self) -> None:
        self.hooks.open_file(self.settings.config_file())

    def quit(self) -> None:
        self.hooks.quit()

    # -- config ----------------------------------------------------------------------------------

    def apply_config(self, config: Config) -> None:
        """Switch to a new config; the desktop side re-grabs the hotkey or reloads the model if needed."""
        previous = self.settings.apply(config)
        if config.history.enabled != previous.history.enabled:
            self.history.close()
            self.history = self._open_history(config)
        elif config.history != previous.history:
            self.history.use_limits(config.history)
        self.hooks.config_changed(previous, config)

    def _open_history(self, config: Config) -> History:
        history = History(config.history)
        if history.problem is not None:
            self.status_record.fail(history.problem)
        return history

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
        """A recording still going is stopped and goes on its trip: quitting loses no words."""
        self.recordings.stop()
        self._jobs.put(None)
        self._worker.join(timeout=30)
        self.history.close()
