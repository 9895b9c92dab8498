"""The daemon's state machine: what a key press, a socket command or a menu click does.

Hardware stays at the edges and is handed in (a recorder, a transcriber, a deliver
function), so this module is plain logic that tests drive directly. Recording happens
on the caller's thread (hotkey, socket); transcription, cleanup and delivery happen
one dictation at a time in a worker thread fed by a queue, so a press while the
previous dictation is still being processed starts a new recording at once and its
audio waits its turn: nothing is dropped. With ``transcription.streaming`` a thread per
dictation transcribes while the key is held (dictad.streaming), and the worker only
finishes what is left.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dictad.audio_file import write_wav
from dictad.cleanup import Cleaner, make_cleaner
from dictad.config import AudioConfig, Config, default_config_path, load_config
from dictad.events import EventLog, State
from dictad.inject import Delivery
from dictad.pipeline import Dictation, finish_transcript
from dictad.replacements import Replacer
from dictad.streaming import SpeechDecoder, StreamingTranscription, transcribe_while_recording
from dictad.transcriber import SAMPLE_RATE, Transcript
from dictad.typed_yaml import ConfigError

log = logging.getLogger(__name__)
RECENT_LIMIT = 10
NEW_CONFIG_TEXT = """\
# dictad configuration: set only what you want to change.
# Every key, its default and what it accepts: run `dictad config`, or see
# config/default.yaml in dictad's source. After saving, use "Reload config" in the
# tray menu, or run `dictad reload`.
"""


class Recorder(Protocol):
    @property
    def delivering(self) -> bool: ...
    def use(self, device: str | int | None, preroll_ms: int) -> None: ...
    def start(self) -> None: ...
    def stop(self, wait_for_buffered: bool = True) -> np.ndarray: ...
    def snapshot(self) -> np.ndarray: ...
    def wait_for_audio(self) -> bool: ...


class SpeechToText(SpeechDecoder, Protocol):
    def transcribe(self, audio: np.ndarray) -> Transcript: ...


Deliver = Callable[[str], Delivery]


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


@dataclass
class RecentDictation:
    text: str
    delivered: bool


class Daemon:
    """Reacts to presses, commands and menu clicks; owns the one current state."""

    def __init__(self, config: Config, recorder: Recorder, transcriber: SpeechToText, deliver: Deliver,
                 events: EventLog, hooks: Hooks | None = None):
        self.config = config
        self.recorder = recorder
        self.transcriber = transcriber
        self.deliver = deliver
        self.events = events
        self.hooks = hooks or Hooks()
        self.history: deque[RecentDictation] = deque(maxlen=RECENT_LIMIT)
        self.paused = False
        self.keep_audio_in: Path | None = None
        """A folder to save each dictation's audio in, as a WAV, once it is done."""
        self.state = State.IDLE
        self.error: str | None = None
        self._recording = False
        self._microphone_lost = False
        """The microphone failed during this recording: it shows as an error, not as recording."""
        self._hotkey_held = False
        self._recording_since = 0.0
        self._busy = 0
        self._lock = threading.RLock()
        self._hotkey_up = threading.Condition(self._lock)
        self._cap_timer: threading.Timer | None = None
        self._stream: StreamingTranscription | None = None
        self._jobs: queue.Queue[tuple[np.ndarray, StreamingTranscription | None, Path | None] | None] = queue.Queue()
        self._last_cleanup_mode = config.cleanup.mode if config.cleanup.mode != "off" else "rules"
        self._apply_config(config)
        self._worker = threading.Thread(target=self._work, name="dictad-worker", daemon=True)
        self._worker.start()

    # -- inputs: hotkey -----------------------------------------------------------------

    def hotkey_pressed(self) -> None:
        if self.config.mode == "toggle" and self._recording:
            self.stop_recording()
            return
        with self._lock:
            self._hotkey_held = self.config.mode == "hold"
        self.start_recording()

    def hotkey_released(self) -> None:
        with self._lock:
            self._hotkey_held = False
            self._hotkey_up.notify_all()
        if self.config.mode == "hold":
            self.stop_recording()

    def escape_pressed(self) -> None:
        self.cancel_recording()

    # -- inputs: control socket -----------------------------------------------------------

    def command(self, name: str) -> dict[str, Any]:
        if name == "recent":
            return {"recent": self.recent}
        if name == "reload":
            return self.status() if self.reload_config() else {"ok": False, "error": self.error}
        actions: dict[str, Callable[[], object]] = {
            "toggle": lambda: self.stop_recording() if self._recording else self.start_recording(),
            "start": self.start_recording,
            "stop": self.stop_recording,
            "cancel": self.cancel_recording,
            "status": lambda: None,
        }
        actions[name]()
        return self.status()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"state": self.state.value, "pid": os.getpid(), "mode": self.config.mode,
                    "cleanup": self.cleanup_mode, "paused": self.paused, "queued": self._busy,
                    "error": self.error}

    # -- recording ------------------------------------------------------------------------

    def start_recording(self) -> None:
        with self._lock:
            if self._recording or self.paused:
                return
            try:
                self.recorder.start()
            except Exception as error:
                self.microphone_unavailable(str(error))
                return
            self._recording = True
            self._microphone_lost = False
            self._recording_since = time.monotonic()
            self.error = None
            self._cap_timer = threading.Timer(self.config.audio.max_duration_s, self._stop_at_cap)
            self._cap_timer.daemon = True
            self._cap_timer.start()
            if self.config.transcription.streaming:
                self._stream_while_recording()
            self.events.emit("recording_started")
            self._refresh_state()
        self.hooks.recording_started()

    def stop_recording(self) -> None:
        """End the recording and queue it, unless it was held for less than the minimum.

        The minimum applies to how long the user held on, not to the audio, which also
        holds the pre-roll from before the press.
        """
        held_s = time.monotonic() - self._recording_since
        too_short = held_s * 1000 < self.config.audio.min_duration_ms
        ended = self._end_recording(queued=not too_short)
        if ended is None:
            return
        audio, stream = ended
        kept = None if too_short else self._audio_file_name()
        self.events.emit("recording_stopped", seconds=round(len(audio) / SAMPLE_RATE, 3), held_s=round(held_s, 3),
                         **({"audio_file": str(kept)} if kept else {}))
        if too_short:
            self.events.emit("discarded", reason="too_short", held_s=round(held_s, 3))
            return
        self._jobs.put((audio, stream, kept))

    def cancel_recording(self) -> None:
        if self._end_recording(keep_last_word=False) is not None:
            self.events.emit("cancelled")

    def _stop_at_cap(self) -> None:
        """Stop a recording that reached the cap, and say so: in toggle mode the user's next press,
        meant to stop, would otherwise start a new recording they do not expect."""
        message = (f"recording stopped at audio.max_duration_s ({self.config.audio.max_duration_s:g} s): "
                   "what was said is delivered")
        log.info("%s", message)
        self.stop_recording()
        self.hooks.notify(message)

    def _stream_while_recording(self) -> None:
        self._stream = StreamingTranscription(self.transcriber, self.config.transcription.language)
        threading.Thread(target=transcribe_while_recording, args=(self.recorder, self._stream),
                         name="dictad-streaming", daemon=True).start()

    def _end_recording(self, keep_last_word: bool = True,
                       queued: bool = False) -> tuple[np.ndarray, StreamingTranscription | None] | None:
        """Stop the recorder; the audio and the dictation's streaming transcription, if any.
        ``queued``: the recording goes to the worker, so the state goes straight to working.

        To keep a last word whole, release waits for the audio still on its way from the device
        (at most a block), but only when the recording so far ends in speech: after a pause, the
        text is then ready at once.
        """
        with self._lock:
            if not self._recording:
                return None
            self._recording = False
            if self._cap_timer is not None:
                self._cap_timer.cancel()
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.recording_ended()
            try:
                audio = self.recorder.stop(wait_for_buffered=keep_last_word and self._may_end_in_speech(stream))
                if queued:
                    self._busy += 1
            finally:
                self._refresh_state()
            return audio, stream

    def _may_end_in_speech(self, stream: StreamingTranscription | None) -> bool:
        """Whether the recording so far may end mid-word (so release waits for the last block)."""
        if stream is None:
            return True
        try:
            return stream.speech_continues(self.recorder.snapshot())
        except Exception:
            log.exception("the speech detector failed at release")
            return True

    def recorder_failed(self, message: str) -> None:
        """The recorder lost its device: say so; what was recorded is still transcribed."""
        with self._lock:
            self._microphone_lost = self._recording
        self.fail(message)

    def microphone_unavailable(self, problem: str) -> None:
        """The microphone could not be opened: say so, and that the next press tries again."""
        self.recorder_failed(f"dictad tries the microphone again at the next dictation: {problem}")

    # -- the worker: transcription, cleanup, delivery ---------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._process(*job)
            except Exception as error:
                log.exception("dictation failed")
                self.fail(f"dictation failed: {error}")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._refresh_state()

    def _transcribe(self, audio: np.ndarray, stream: StreamingTranscription | None) -> Transcript:
        if stream is not None:
            try:
                return stream.finish(audio)
            except Exception:
                log.exception("transcribing while recording failed at release; transcribing the whole recording")
        return self.transcriber.transcribe(audio)

    def _audio_file_name(self) -> Path | None:
        """Where to keep this dictation's audio (``--keep-audio``), if anywhere: the folder may
        have gone since start (a removable disk), and that must not cost the dictation."""
        if self.keep_audio_in is None:
            return None
        try:
            self.keep_audio_in.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            log.warning("the dictation's audio is not kept: %s", error)
            return None
        return self.keep_audio_in / f"dictation-{time.time_ns()}.wav"

    def _process(self, audio: np.ndarray, stream: StreamingTranscription | None, keep_as: Path | None) -> None:
        try:
            self._transcribe_and_deliver(audio, stream)
        finally:
            if keep_as is not None:
                self._keep_audio(keep_as, audio)

    @staticmethod
    def _keep_audio(path: Path, audio: np.ndarray) -> None:
        try:
            write_wav(path, audio)
        except OSError as error:
            log.warning("the dictation's audio is not kept: %s", error)

    def _transcribe_and_deliver(self, audio: np.ndarray, stream: StreamingTranscription | None) -> None:
        started = time.perf_counter()
        transcript = self._transcribe(audio, stream)
        self.events.emit("transcribed", seconds=round(time.perf_counter() - started, 3),
                         chars=len(transcript.text), from_draft=transcript.from_draft, pieces=transcript.pieces)
        log.debug("transcript: %r", transcript.text)
        if not transcript.text:
            self.events.emit("discarded", reason="no_speech")
            return
        dictation = self._finish(transcript.text)
        self.events.emit("cleaned", cleaner=dictation.cleaner, fallback_reason=dictation.fallback_reason,
                         chars=len(dictation.text))
        if dictation.text:
            self._deliver(dictation)

    def _finish(self, raw: str) -> Dictation:
        with self._lock:
            replace_words, cleaner = self._replace, self._cleaner_for(self.config.cleanup.mode)
        return finish_transcript(raw, replace_words, cleaner)

    def _cleaner_for(self, mode: str) -> Cleaner:
        """One cleaner per mode, kept across toggles so an LLM problem is reported once."""
        if mode not in self._cleaners:
            self._cleaners[mode] = make_cleaner(self.config.cleanup, self.config.vocabulary, mode,
                                                on_problem=self._llm_problem,
                                                english=self.config.transcription.english_only)
        return self._cleaners[mode]

    def _llm_problem(self, message: str | None) -> None:
        if message is None:
            self.events.emit("llm_recovered")
            return
        self.events.emit("llm_problem", message=message)
        self.hooks.notify(f"LLM cleanup unavailable, using rules: {message}")

    def warm_up_cleanup(self) -> None:
        """Warm the LLM up when it is in use; blocks, so call it from a background thread."""
        cleaner = self._cleaner_for(self.config.cleanup.mode)
        warm_up = getattr(cleaner, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def _deliver(self, dictation: Dictation) -> None:
        self._wait_for_hotkey_release()
        result = self.deliver(dictation.text)
        self.history.appendleft(RecentDictation(dictation.text, result.delivered))
        if result.delivered:
            self.events.emit("injected", method=result.method, chars=len(dictation.text))
            self._clear_error()
            return
        self.fail(f"the text could not be delivered ({result.reason}); it is kept in Recent dictations")

    def _wait_for_hotkey_release(self) -> None:
        """In hold mode text waits while the hotkey is held (the next dictation, or this one past
        its length cap): keys sent into the window now would mix with the held modifiers
        (Ctrl+Alt+letters instead of letters)."""
        with self._hotkey_up:
            self._hotkey_up.wait_for(lambda: not self._hotkey_held)

    def fail(self, message: str) -> None:
        """Say what went wrong, everywhere: log, tray, status, event log and a notification."""
        log.error("%s", message)
        with self._lock:
            self.error = message
            self._refresh_state()
        self.events.emit("error", message=message)
        self.hooks.notify(message)

    def _clear_error(self) -> None:
        """What went wrong has been put right (text delivered, config reloaded): the tray says so."""
        with self._lock:
            self.error = None
            self._refresh_state()

    def _refresh_state(self) -> None:
        """The state the tray and ``status`` show. A live microphone shows, whatever else failed."""
        if self.paused:
            state = State.DISABLED
        elif self._recording and not self._microphone_lost:
            state = State.RECORDING
        elif self.error:
            state = State.ERROR
        elif self._busy:
            state = State.WORKING
        else:
            state = State.IDLE
        if state != self.state:
            self.state = state
            self.events.emit("state", state=state.value, detail=self.error or "")

    # -- config -----------------------------------------------------------------------------

    def _apply_config(self, config: Config) -> None:
        with self._lock:
            self.config = config
            self._replace = Replacer(config.replacements)
            self._cleaners: dict[str, Cleaner] = {}

    def apply_config(self, config: Config) -> None:
        """Switch to a new config; the desktop side re-grabs the hotkey or reloads the model if needed."""
        previous = self.config
        self._apply_config(config)
        self._settings_changed()
        self.hooks.config_changed(previous, config)

    def _set_cleanup(self, mode: str, style: str) -> None:
        """Switch cleanup live, keeping the cleaners (and what they know of Ollama) already made."""
        with self._lock:
            cleanup = replace(self.config.cleanup, mode=mode, style=style)
            self.config = replace(self.config, cleanup=cleanup)
            for cleaner in self._cleaners.values():
                if hasattr(cleaner, "style"):
                    cleaner.style = style
        self._settings_changed()

    def _settings_changed(self) -> None:
        """Remember the cleanup mode to come back to when cleanup is switched on, and say what changed."""
        cleanup = self.config.cleanup
        if cleanup.mode != "off":
            self._last_cleanup_mode = cleanup.mode
        self.events.emit("settings", cleanup=cleanup.mode, style=cleanup.style, mode=self.config.mode)

    # -- what the tray shows and does -------------------------------------------------------

    @property
    def cleanup_mode(self) -> str:
        return self.config.cleanup.mode

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

    @property
    def config_path(self) -> Path | None:
        return self.config.source

    @property
    def recent(self) -> list[str]:
        return [item.text for item in self.history]

    def toggle_cleanup(self) -> None:
        self._set_cleanup("off" if self.cleanup_on else self._last_cleanup_mode, self.style)

    def set_style(self, name: str) -> None:
        if name not in self.config.cleanup.styles:
            raise ValueError(f"unknown cleanup style {name!r}: expected one of {', '.join(self.styles)}")
        self._set_cleanup(self.cleanup_mode, name)

    def set_mode(self, mode: str) -> None:
        if mode not in ("hold", "toggle"):
            raise ValueError(f"unknown mode {mode!r}: expected hold or toggle")
        self.cancel_recording()
        self.apply_config(replace(self.config, mode=mode))

    def reload_config(self) -> bool:
        """Read the config file again; a bad one keeps the running config and says why."""
        try:
            config = load_config(self.config.source)
        except ConfigError as error:
            self.fail(f"config not reloaded, the running config is kept:\n{error}")
            return False
        previous = self.config.audio
        self._clear_error()
        self.apply_config(config)
        self._use_microphone(previous, config.audio)
        return True

    def _use_microphone(self, previous: AudioConfig, audio: AudioConfig) -> None:
        """Switch to the microphone the reloaded config names, or try again one that failed, before
        the reload answers: what it answers, and the tray shows, is then true of the microphone."""
        if (audio.device, audio.preroll_ms) == (previous.device, previous.preroll_ms) and self.recorder.delivering:
            return
        try:
            self.recorder.use(audio.device, audio.preroll_ms)
        except Exception as error:
            self.microphone_unavailable(str(error))

    def open_config(self) -> None:
        """Open the user's config file, creating a commented one first if there is none."""
        path = self.config.source or default_config_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(NEW_CONFIG_TEXT, encoding="utf-8")
        self.hooks.open_file(path)

    def quit(self) -> None:
        self.hooks.quit()

    def toggle_pause(self) -> None:
        self.cancel_recording()
        with self._lock:
            self.paused = not self.paused
            self._refresh_state()

    def copy_last(self) -> None:
        if self.history:
            self.copy_text(self.history[0].text)

    def copy_text(self, text: str) -> None:
        self.hooks.copy_to_clipboard(text)

    def paste_last(self) -> None:
        if self.history:
            self._deliver_again(self.history[0])

    def _deliver_again(self, item: RecentDictation) -> None:
        result = self.deliver(item.text)
        item.delivered = item.delivered or result.delivered
        if result.delivered:
            self._clear_error()
        else:
            self.fail(f"the text could not be delivered ({result.reason})")

    def shutdown(self) -> None:
        self.cancel_recording()
        self._jobs.put(None)
        self._worker.join(timeout=30)
