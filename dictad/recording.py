"""A recording's life: a press starts it, a release (or the length cap) stops it and sends it on
its trip, Escape cancels it.

Recording happens on the caller's thread (the hotkey's, the control socket's). A stopped
recording goes to the worker as a :class:`Take`, and the tray shows working at once; a press
while earlier dictations are still being processed starts a new recording at once, so nothing
is dropped. With ``transcription.streaming`` a thread per take decodes ahead while the key is
held (dictad.streaming).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from dictad.audio_file import write_wav
from dictad.config import AudioConfig
from dictad.events import EventLog
from dictad.journal import JournalFile, start_journal
from dictad.settings import LiveSettings
from dictad.state import StatusRecord
from dictad.streaming import SpeechDecoder, StreamingTranscription, transcribe_while_recording
from dictad.transcriber import SAMPLE_RATE

log = logging.getLogger(__name__)

MICROPHONE_WATCH_S = 1.0
"""How often the microphone is looked at while no dictation runs: one timestamp compared."""
MICROPHONE_RETRY_S = 3.0
"""How often a microphone that is gone is tried again while no dictation runs."""


class Microphone(Protocol):
    """What dictad asks of the microphone (dictad.recorder.Recorder)."""

    @property
    def delivering(self) -> bool: ...
    def use(self, device: str | int | None, preroll_ms: int) -> None: ...
    def start(self) -> None: ...
    def stop(self, wait_for_buffered: bool = True) -> np.ndarray: ...
    def snapshot(self) -> np.ndarray: ...
    def audio_since(self, offset: int) -> np.ndarray: ...
    def wait_for_audio(self) -> bool: ...


@dataclass(frozen=True)
class Take:
    """One stopped recording on its way to the worker."""

    audio: np.ndarray
    drafts: StreamingTranscription | None
    """What was decoded while it was recorded (with ``streaming``)."""
    keep_as: Path | None
    """Where to keep its audio once its trip is over (``--keep-audio``)."""
    journal: JournalFile | None = None
    """Its audio on disk until its dictation is safe (``history.enabled``)."""


class Recordings:
    """Starts, stops and cancels recordings from ``microphone``, and hands each stopped one to
    ``submit``. ``speech_model`` gives the model in use (a reload may swap it)."""

    def __init__(self, microphone: Microphone, settings: LiveSettings, speech_model: Callable[[], SpeechDecoder],
                 status: StatusRecord, events: EventLog, submit: Callable[[Take], None],
                 on_started: Callable[[], None], notify: Callable[[str], None], journal_in: Path):
        self._microphone = microphone
        self._settings = settings
        self._speech_model = speech_model
        self._status = status
        self._events = events
        self._submit = submit
        self._on_started = on_started
        self._notify = notify
        self.keep_audio_in: Path | None = None
        """A folder to save each dictation's audio in, as a WAV, once it is done."""
        self._lock = threading.RLock()
        self._since = 0.0
        self._cap_timer: threading.Timer | None = None
        self._drafts: StreamingTranscription | None = None
        self._journal_in = journal_in
        self._journal: JournalFile | None = None
        self._microphone_problem: str | None = None
        """What the tray says is wrong with the microphone, until it delivers again."""
        self._try_microphone_now = threading.Event()

    @property
    def recording(self) -> bool:
        return self._status.now.recording

    def start(self) -> None:
        with self._lock:
            if self._status.now.recording or self._status.now.paused:
                return
            if self._microphone_problem is not None and not self._microphone.delivering:
                self._refuse_press(self._microphone_problem)
                return
            try:
                self._microphone.start()
            except Exception as error:
                self.microphone_unavailable(str(error))
                self._events.emit("discarded", reason="no_microphone")
                return
            self._microphone_problem = None
            config = self._settings.config
            self._since = time.monotonic()
            self._cap_timer = threading.Timer(config.audio.max_duration_s, self._stop_at_cap)
            self._cap_timer.daemon = True
            self._cap_timer.start()
            self._drafts = self._draft_while_recording() if config.transcription.streaming else None
            self._journal = self._journal_while_recording() if config.history.enabled else None
            self._status.update(lambda status: replace(status, recording=True, microphone_lost=False, error=None),
                                announce="recording_started")
        self._on_started()

    def stop(self) -> None:
        """End the recording and send it on its trip, unless it was held for less than the minimum.

        The minimum applies to how long the user held on, not to the audio, which also holds
        the pre-roll from before the press.
        """
        held_s = time.monotonic() - self._since
        too_short = held_s * 1000 < self._settings.config.audio.min_duration_ms
        ended = self._end(queued=not too_short)
        if ended is None:
            return
        audio, drafts, journal = ended
        keep_as = None if too_short else self._audio_file_name()
        self._events.emit("recording_stopped", seconds=round(len(audio) / SAMPLE_RATE, 3), held_s=round(held_s, 3),
                          **({"audio_file": str(keep_as)} if keep_as else {}))
        if too_short:
            if journal is not None:
                journal.discard()
            self._events.emit("discarded", reason="too_short", held_s=round(held_s, 3))
            return
        if journal is not None:
            journal.complete(audio)
        self._submit(Take(audio, drafts, keep_as, journal))

    def cancel(self) -> None:
        ended = self._end(keep_last_word=False)
        if ended is None:
            return
        if ended[2] is not None:
            ended[2].discard()
        self._events.emit("cancelled")

    def toggle_pause(self) -> None:
        """Pause (cancelling a recording) or resume; no press gets in between."""
        with self._lock:
            self.cancel()
            self._status.update(lambda status: replace(status, paused=not status.paused))

    def microphone_failed(self, message: str) -> None:
        """The microphone stopped delivering: say so; what was recorded is still transcribed."""
        self._microphone_problem = message
        self._status.fail(message, microphone_lost=True)

    def microphone_unavailable(self, problem: str) -> None:
        """The microphone could not be opened: say so, and that the next press tries again."""
        self.microphone_failed(f"dictad tries the microphone again every few seconds: {problem}")

    def use_microphone(self, previous: AudioConfig, audio: AudioConfig) -> None:
        """Switch to the microphone a reloaded config names, or try again one that failed, before
        the reload answers: what it answers, and the tray shows, is then true of the microphone."""
        with self._lock:  # the watch never looks at a microphone being switched
            unchanged = (audio.device, audio.preroll_ms) == (previous.device, previous.preroll_ms)
            if unchanged and self._microphone.delivering:
                return
            try:
                self._microphone.use(audio.device, audio.preroll_ms)
            except Exception as error:
                self.microphone_unavailable(str(error))
                return
            self._microphone_problem = None

    def watch_microphone(self, stopped: threading.Event) -> None:
        """While no dictation runs, until ``stopped``: a microphone that stops delivering is said at
        once (the tray shows it), tried again every ``MICROPHONE_RETRY_S`` (and at once after a press
        it refused), and once it delivers again the error is cleared and the user told. The app runs
        this on a thread of its own."""
        next_try = 0.0
        while not stopped.is_set():
            if self._try_microphone_now.wait(MICROPHONE_WATCH_S):
                self._try_microphone_now.clear()
                next_try = 0.0
            with self._lock:  # looked at as one moment, never halfway through a start or a switch
                if self._status.now.recording or self._status.now.paused:
                    continue
                delivering, back = self._microphone.delivering, self._microphone_problem
                if delivering:
                    self._microphone_problem = None
            # what follows may wait (a microphone opened, a notification sent): presses are not held up
            if delivering:
                if back is not None:
                    self._microphone_is_back(back)
            elif back is None:
                self.microphone_failed("the microphone stopped delivering audio (unplugged?); dictad tries it "
                                       "again every few seconds")
                next_try = time.monotonic() + MICROPHONE_RETRY_S
            elif time.monotonic() >= next_try:
                self._try_microphone_again()
                next_try = time.monotonic() + MICROPHONE_RETRY_S

    def _refuse_press(self, problem: str) -> None:
        """A press with no microphone: said at once (a sound, a notification), instead of recording
        nothing; the microphone is tried again at once in the background, for the next press."""
        self._events.emit("discarded", reason="no_microphone")
        self._notify(f"nothing was recorded, no microphone: {problem}")
        self._try_microphone_now.set()

    def _try_microphone_again(self) -> None:
        audio = self._settings.config.audio
        try:
            self._microphone.use(audio.device, audio.preroll_ms)
        except Exception as error:
            log.debug("the microphone is still not there: %s", error)

    def _microphone_is_back(self, problem: str) -> None:
        self._status.update(lambda status: replace(status, error=None) if status.error == problem else status,
                            announce="microphone_back")
        self._notify("the microphone is back: dictation works again")

    def _stop_at_cap(self) -> None:
        """Stop a recording that reached the cap, and say so: in toggle mode the user's next press,
        meant to stop, would otherwise start a new recording they do not expect."""
        message = (f"recording stopped at audio.max_duration_s ({self._settings.config.audio.max_duration_s:g} s): "
                   "what was said is delivered")
        log.info("%s", message)
        self.stop()
        self._notify(message)

    def _draft_while_recording(self) -> StreamingTranscription:
        drafts = StreamingTranscription(self._speech_model(), self._settings.config.transcription.language)
        threading.Thread(target=transcribe_while_recording, args=(self._microphone, drafts),
                         name="dictad-streaming", daemon=True).start()
        return drafts

    def _journal_while_recording(self) -> JournalFile | None:
        journal = start_journal(self._journal_in)
        if journal is not None:
            threading.Thread(target=_journal_blocks, args=(self._microphone, journal), name="dictad-journal",
                             daemon=True).start()
        return journal

    def _end(self, keep_last_word: bool = True,
             queued: bool = False) -> tuple[np.ndarray, StreamingTranscription | None, JournalFile | None] | None:
        """Stop the microphone: the audio, what was decoded of it while recording, and its journal. ``queued``:
        the recording goes on its trip, so the state goes straight from recording to working.

        To keep a last word whole, the stop waits for the audio still on its way from the
        device (at most a block), but only when the recording so far ends in speech: after a
        pause, the text is then ready at once.
        """
        with self._lock:
            if not self._status.now.recording:
                return None
            if self._cap_timer is not None:
                self._cap_timer.cancel()
            drafts, self._drafts = self._drafts, None
            journal, self._journal = self._journal, None
            if drafts is not None:
                drafts.recording_ended()
            self._status.update(lambda status: replace(status, recording=False, busy=status.busy + queued))
            try:
                audio = self._microphone.stop(wait_for_buffered=keep_last_word and self._may_end_in_speech(drafts))
            except BaseException:
                self._status.update(lambda status: replace(status, busy=status.busy - queued))
                raise
            return audio, drafts, journal

    def _may_end_in_speech(self, drafts: StreamingTranscription | None) -> bool:
        """Whether the recording so far may end mid-word (so the stop waits for the last block)."""
        if drafts is None:
            return True
        try:
            return drafts.speech_continues(self._microphone.snapshot())
        except Exception:
            log.exception("the speech detector failed at release")
            return True

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


def _journal_blocks(microphone: Microphone, journal: JournalFile) -> None:
    """Write each block to the journal as it comes, until the recording ends."""
    while microphone.wait_for_audio():
        offset = journal.samples_written
        journal.extend(microphone.audio_since(offset), offset)


def keep_audio(path: Path, audio: np.ndarray) -> None:
    """Save a dictation's audio; a disk that fails costs the file, not the dictation."""
    try:
        write_wav(path, audio)
    except OSError as error:
        log.warning("the dictation's audio is not kept: %s", error)
