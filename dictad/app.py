"""``dictad run``: the daemon wired to the real desktop (microphone, model, hotkey, tray, socket).

Start-up order matters to the user: the control socket is claimed first (a second
``dictad run`` fails in a moment, before loading anything), then the model and, meanwhile,
the microphone, then the hotkey; ``ready`` is logged once dictation works, with the speech
models warmed up so the first dictation is as fast as the rest. The LLM warms up in the
background, and the tray owns the main thread when there is one.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from pathlib import Path

from dictad.config import Config
from dictad.control import AlreadyRunning, ControlServer
from dictad.daemon import Daemon, Hooks
from dictad.desktop import Desktop
from dictad.events import EventLog
from dictad.heap import share_one_heap
from dictad.inject import Delivery, deliver
from dictad.keyspec import format_keys, parse_hotkey
from dictad.transcriber import Transcriber
from dictad.whisper_model import ModelLoadError, where_it_runs

log = logging.getLogger("dictad")


class DesktopApp:
    """Owns the edges around one Daemon and their lifetimes."""

    def __init__(self, config: Config, events: EventLog):
        from dictad.recorder import Recorder

        self.config = config
        self.events = events
        self.stopped = threading.Event()
        self.desktop = Desktop()
        self.tray = None
        self.hotkey = None
        self.recorder = Recorder(config.audio.device, config.audio.preroll_ms,
                                 on_error=lambda message: self.daemon.recordings.microphone_failed(message),
                                 on_open=lambda name: events.emit("microphone", device=name))
        self._microphone_problem: str | None = None
        # A microphone can take a second or two to deliver its first audio: load the model meanwhile.
        self._microphone_opening = threading.Thread(target=self._open_microphone, name="dictad-mic-open", daemon=True)
        self._microphone_opening.start()
        self.daemon = Daemon(config, self.recorder, Transcriber(config.transcription, config.vocabulary),
                             self.deliver, events, Hooks(
                                 notify=self.desktop.notify, copy_to_clipboard=self.desktop.copy,
                                 recording_started=self._recording_started,
                                 config_changed=self._config_changed, open_file=open_file, quit=self.quit))
        events.subscribe(self._on_event)

    def deliver(self, text: str) -> Delivery:
        return deliver(text, self.daemon.config.output, self.desktop)

    def _open_microphone(self) -> None:
        from dictad.microphones import RecorderError

        try:
            self.recorder.open()
        except RecorderError as error:
            self._microphone_problem = str(error)

    def start(self) -> None:
        started = time.perf_counter()
        self.daemon.transcriber.warm_up()
        # The first start on a GPU newer than CTranslate2's prebuilt kernels compiles them: say how long.
        log.info("speech model %s on %s, warmed up in %.1f s", self.config.transcription.model,
                 where_it_runs(self.daemon.transcriber.model, self.config.transcription), time.perf_counter() - started)
        self._microphone_opening.join()
        if self._microphone_problem is not None:
            self.daemon.recordings.microphone_unavailable(self._microphone_problem)
        self._grab_hotkey(self.config)
        threading.Thread(target=self.daemon.recordings.watch_microphone, args=(self.stopped,),
                         name="dictad-mic-watch", daemon=True).start()
        self.daemon.recover_interrupted()
        if self.config.cleanup.mode == "llm":
            threading.Thread(target=self.daemon.settings.warm_up_cleanup, name="dictad-warm-up", daemon=True).start()

    def _grab_hotkey(self, config: Config) -> None:
        from dictad.desktop.hotkey import HotkeyUnavailable

        if self.hotkey is not None:
            self.hotkey.stop()
            self.hotkey = None
        try:
            policy = self.daemon.input
            self.hotkey = self.desktop.hotkey(parse_hotkey(config.hotkey), policy.hotkey_pressed,
                                              policy.hotkey_released, policy.escape_pressed)
            self.hotkey.start()
        except HotkeyUnavailable as reason:
            self.hotkey = None
            log.warning("no global hotkey (%s): use `dictad toggle` from a shortcut of your desktop", reason)
            return
        log.info("hold %s to dictate", format_keys(parse_hotkey(config.hotkey)))

    def _recording_started(self) -> None:
        if self.hotkey is not None:
            self.hotkey.set_escape_grab(True)
        if self.daemon.config.audio.sounds:
            from dictad.sounds import play, start_cue

            self.recorder.exclude_sound(play(start_cue))

    def _on_event(self, name: str, record: dict) -> None:
        if name in ("recording_stopped", "cancelled") and self.hotkey is not None:
            self.hotkey.set_escape_grab(False)
        if name == "recording_stopped" and self.daemon.config.audio.sounds:
            from dictad.sounds import play, stop_cue

            play(stop_cue)
        if name == "discarded" and record.get("reason") == "no_microphone" and self.daemon.config.audio.sounds:
            from dictad.sounds import nothing_recorded_cue, play

            play(nothing_recorded_cue)
        if name == "state" and self.tray is not None:
            self.tray.show(record["state"], record.get("detail", ""))

    def _config_changed(self, previous: Config, config: Config) -> None:
        if config.hotkey != previous.hotkey:
            self._grab_hotkey(config)
        if config.cleanup.mode == "llm" and previous.cleanup.mode != "llm":
            threading.Thread(target=self.daemon.settings.warm_up_cleanup, name="dictad-warm-up", daemon=True).start()
        if (config.transcription, config.vocabulary) != (previous.transcription, previous.vocabulary):
            threading.Thread(target=self._reload_model, args=(config,), name="dictad-model", daemon=True).start()

    def _reload_model(self, config: Config) -> None:
        try:
            transcriber = Transcriber(config.transcription, config.vocabulary)
            transcriber.warm_up()
            self.daemon.transcriber = transcriber
        except ModelLoadError as error:
            self.daemon.status_record.fail(f"the new model could not be loaded, the old one is kept: {error}")

    def quit(self) -> None:
        self.stopped.set()
        if self.tray is not None:
            self.tray.stop()

    def close(self) -> None:
        if self.hotkey is not None:
            self.hotkey.stop()
        self.daemon.shutdown()
        self.recorder.close()


def run_daemon(config: Config, events_path: Path | None, keep_audio: Path | None = None) -> int:
    share_one_heap()
    try:
        if keep_audio is not None:
            keep_audio.mkdir(parents=True, exist_ok=True)
        events = EventLog(events_path)
    except OSError as error:
        log.error("cannot write to %s: %s", error.filename, error.strerror)
        return 2
    app: DesktopApp | None = None
    control = ControlServer(lambda command: app.daemon.command(command) if app else answer_while_starting(command))
    try:
        control.start()
    except AlreadyRunning as error:
        log.error("%s", error)
        return 1
    try:
        app = DesktopApp(config, events)
        app.daemon.recordings.keep_audio_in = keep_audio
        control.watch(app.daemon.status_record)
        app.start()
    except ModelLoadError as error:
        log.error("%s", error)
        control.stop()
        return 1
    _stop_on_signals(app)
    try:
        _run_until_quit(app)
    finally:
        app.close()
        control.stop()
        events.close()
    return 0


def answer_while_starting(command: str) -> dict:
    """The control socket's answer while the speech model loads: nothing can be done yet."""
    if command == "status":
        return {"state": "starting"}
    return {"ok": False, "error": f"dictad is still starting (loading the speech model): {command} was not done"}


def _run_until_quit(app: DesktopApp) -> None:
    from dictad.desktop.tray import TrayUnavailable

    try:
        app.tray = app.desktop.tray(app.daemon)
        app.tray.show(app.daemon.state.value, app.daemon.error or "")  # the microphone may have failed already
        if app.stopped.is_set():  # a signal while the tray was being made found no tray to stop
            app.tray.stop()
    except TrayUnavailable as reason:
        log.info("no tray icon is shown: %s; dictad runs without one", reason)
        app.events.emit("ready")
        app.stopped.wait()
        return
    app.tray.run(on_ready=lambda: app.events.emit("ready"))


def _stop_on_signals(app: DesktopApp) -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: app.quit())


def open_file(path: Path) -> None:
    subprocess.Popen(["xdg-open", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
