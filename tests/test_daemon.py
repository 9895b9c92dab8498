"""The daemon's state machine without hardware, as the desktop issue asks for this layer.

The recorder, recogniser and window are stand-ins here on purpose: these tests pin the
policy (hold, toggle, queueing, cancel, caps, failures) in milliseconds. The same
daemon with the real microphone, model, keys and window is tested on the desktop rig.
"""

from __future__ import annotations

import logging
import threading
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dictad.daemon import Daemon, Hooks
from dictad.events import EventLog
from dictad.inject import Delivery
from dictad.journal import journal_folder, leftovers
from dictad.state import State
from dictad.transcriber import SAMPLE_RATE, Transcript
from tests.rig.waiting import stays_false, wait_until


class ScriptedRecorder:
    """Hands back the next prepared recording; a sample value picks the transcript."""

    def __init__(self):
        self.recordings: list[np.ndarray] = []
        self.started = 0
        self.delivering = True
        self.switched_to: list[tuple[str | int | None, int]] = []
        self.unplugged: set[str] = set()

    def use(self, device: str | int | None, preroll_ms: int) -> None:
        """As the real one: the microphone in use is closed first, then the new one opened."""
        self.delivering = device not in self.unplugged
        if not self.delivering:
            raise RuntimeError(f"no input device matches {device!r}")
        self.switched_to.append((device, preroll_ms))

    def say(self, phrase_index: int, seconds: float = 1.0) -> None:
        self.recordings.append(np.full(int(seconds * SAMPLE_RATE), phrase_index, dtype=np.float32))

    def start(self) -> None:
        self.started += 1

    def stop(self, wait_for_buffered: bool = True) -> np.ndarray:
        return self.recordings.pop(0) if self.recordings else np.zeros(0, dtype=np.float32)

    def snapshot(self) -> np.ndarray:
        return self.recordings[0] if self.recordings else np.zeros(0, dtype=np.float32)

    def audio_since(self, offset: int) -> np.ndarray:
        return self.snapshot()[offset:]

    def wait_for_audio(self) -> bool:
        return False


class PhraseTranscriber:
    PHRASES = ["", "um the the report is ready", "uh call me back", "what is the capital of France?",
               "er kommt um acht Uhr, um das zu besprechen."]

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()

    def transcribe(self, audio: np.ndarray) -> Transcript:
        self.gate.wait(10)
        return Transcript(self.PHRASES[int(audio[0])] if audio.size else "", audio.size / SAMPLE_RATE, "en")


class Window:
    def __init__(self):
        self.texts: list[str] = []
        self.works = True

    def deliver(self, text: str) -> Delivery:
        if not self.works:
            return Delivery(False, "paste", text, reason="no window has focus")
        self.texts.append(text)
        return Delivery(True, "paste", text)


class Recorded:
    def __init__(self):
        self.events: list[dict] = []
        self.notes: list[str] = []

    def names(self) -> list[str]:
        return [event["event"] for event in self.events if event["event"] not in ("state", "settings")]


@pytest.fixture
def start_rig(default_config):
    """Starts daemons over stand-ins, with transcription settings changed as asked; stops them after."""
    started: list[Daemon] = []

    def start(**transcription: object) -> tuple[Daemon, ScriptedRecorder, PhraseTranscriber, Window, Recorded]:
        recorder, transcriber, window, seen = ScriptedRecorder(), PhraseTranscriber(), Window(), Recorded()
        events = EventLog()
        events.subscribe(lambda name, record: seen.events.append(record))
        # Presses here last microseconds: no minimum hold, except in the test of the minimum. The
        # recordings are placeholders, not speech: streaming is tested on real speech in test_streaming.
        config = replace(default_config, audio=replace(default_config.audio, max_duration_s=1.0, min_duration_ms=0),
                         transcription=replace(default_config.transcription, **{"streaming": False, **transcription}))
        daemon = Daemon(config, recorder, transcriber, window.deliver, events, Hooks(notify=seen.notes.append))
        started.append(daemon)
        return daemon, recorder, transcriber, window, seen

    yield start
    for daemon in started:
        daemon.shutdown()


@pytest.fixture
def rig(start_rig):
    return start_rig()


def dictate(daemon: Daemon, recorder: ScriptedRecorder, phrase: int, seconds: float = 1.0) -> None:
    recorder.say(phrase, seconds)
    daemon.input.hotkey_pressed()
    daemon.input.hotkey_released()


def test_hold_records_while_held_and_delivers_clean_text(rig):
    daemon, recorder, _, window, seen = rig
    recorder.say(1)
    daemon.input.hotkey_pressed()
    assert daemon.state is State.RECORDING
    daemon.input.hotkey_released()
    wait_until(lambda: window.texts, what="the dictation to arrive")
    assert window.texts == ["The report is ready"]
    assert seen.names() == ["recording_started", "recording_stopped", "transcribed", "cleaned", "injected"]
    assert daemon.recent == ["The report is ready"]
    wait_until(lambda: daemon.state is State.IDLE, what="idle again")
    states = [event["state"] for event in seen.events if event["event"] == "state"]
    assert states == ["recording", "working", "idle"], "the tray showed a state that was not so"


def test_toggle_mode_starts_on_one_press_and_stops_on_the_next(rig):
    daemon, recorder, _, window, _ = rig
    daemon.set_mode("toggle")
    recorder.say(2)
    daemon.input.hotkey_pressed()
    daemon.input.hotkey_released()
    assert daemon.state is State.RECORDING
    daemon.input.hotkey_pressed()
    wait_until(lambda: window.texts == ["Call me back"], what="the dictation")


def test_a_too_short_press_produces_nothing(rig):
    daemon, recorder, _, window, seen = rig
    daemon.apply_config(replace(daemon.config, audio=replace(daemon.config.audio, min_duration_ms=300)))
    dictate(daemon, recorder, 1, seconds=0.5)
    assert seen.names()[-1] == "discarded" and seen.events[-1]["reason"] == "too_short"
    assert window.texts == [] and recorder.started == 1


def test_no_speech_produces_nothing(rig):
    daemon, recorder, _, window, seen = rig
    dictate(daemon, recorder, 0)
    discarded = wait_until(lambda: [e for e in seen.events if e["event"] == "discarded"], what="the verdict")
    assert discarded[0]["reason"] == "no_speech"
    assert window.texts == []


def test_a_press_during_processing_is_queued_not_dropped(rig):
    daemon, recorder, transcriber, window, _ = rig
    transcriber.gate.clear()
    dictate(daemon, recorder, 1)
    wait_until(lambda: daemon.state is State.WORKING, what="the first dictation in work")
    dictate(daemon, recorder, 2)
    assert daemon.status()["queued"] == 2
    transcriber.gate.set()
    wait_until(lambda: len(window.texts) == 2, what="both dictations")
    assert window.texts == ["The report is ready", "Call me back"]


def test_escape_cancels_the_recording(rig):
    daemon, recorder, _, window, seen = rig
    recorder.say(1)
    daemon.input.hotkey_pressed()
    daemon.input.escape_pressed()
    daemon.input.hotkey_released()
    assert seen.names() == ["recording_started", "cancelled"]
    assert daemon.state is State.IDLE and window.texts == []


def test_a_recording_past_the_cap_stops_and_is_delivered_once_the_key_comes_up(rig):
    daemon, recorder, _, window, seen = rig
    recorder.say(2, seconds=1.0)
    daemon.input.hotkey_pressed()
    wait_until(lambda: "cleaned" in seen.names(), timeout=10, what="the dictation stopped at the cap")
    assert stays_false(lambda: window.texts, 0.3), "typed into the window while the hotkey was still held"
    daemon.input.hotkey_released()
    wait_until(lambda: window.texts == ["Call me back"], what="delivery once the key is up")
    assert seen.names().count("recording_stopped") == 1
    assert "recording stopped at audio.max_duration_s (1 s)" in seen.notes[-1]


def test_an_event_log_on_a_full_disk_costs_only_the_log(caplog):
    events, heard = EventLog(Path("/dev/full")), []
    events.subscribe(lambda name, record: heard.append(name))
    events.emit("recording_stopped")
    events.emit("transcribed")
    assert heard == ["recording_stopped", "transcribed"], "the tray and the daemon stopped hearing events"
    assert caplog.text.count("/dev/full cannot be written (No space left on device)") == 1


def test_pause_ignores_the_hotkey(rig):
    daemon, recorder, _, window, _ = rig
    daemon.toggle_pause()
    assert daemon.state is State.DISABLED and daemon.command("status")["state"] == "disabled"
    dictate(daemon, recorder, 1)
    assert recorder.started == 0
    daemon.toggle_pause()
    assert daemon.state is State.IDLE


def test_what_was_said_is_logged_only_at_debug_level(rig, caplog):
    """The README's promise: transcripts reach the log only with --debug."""
    daemon, recorder, _, window, _ = rig
    with caplog.at_level(logging.INFO):
        dictate(daemon, recorder, 1)
        wait_until(lambda: window.texts == ["The report is ready"], what="the dictation")
    assert "report" not in caplog.text
    with caplog.at_level(logging.DEBUG):
        dictate(daemon, recorder, 2)
        wait_until(lambda: len(window.texts) == 2, what="the second dictation")
    assert "call me back" in caplog.text


def test_text_that_cannot_be_delivered_is_kept_and_reported(rig):
    daemon, recorder, _, window, seen = rig
    window.works = False
    dictate(daemon, recorder, 3)
    wait_until(lambda: seen.notes, what="the notification")
    assert daemon.recent == ["What is the capital of France?"]
    assert daemon.command("recent") == {"recent": ["What is the capital of France?"]}
    assert "kept in Recent dictations" in seen.notes[0]
    wait_until(lambda: daemon.state is State.ERROR, what="the error state")
    window.works = True
    daemon.paste_last()
    assert window.texts == ["What is the capital of France?"]
    assert daemon.state is State.IDLE


def test_cleanup_switch_applies_to_the_next_dictation(rig):
    daemon, recorder, _, window, _ = rig
    daemon.toggle_cleanup()
    assert not daemon.cleanup_on and daemon.config.cleanup.mode == "off"
    dictate(daemon, recorder, 1)
    wait_until(lambda: window.texts, what="the raw dictation")
    daemon.toggle_cleanup()
    assert daemon.config.cleanup.mode == "rules"
    dictate(daemon, recorder, 1)
    wait_until(lambda: len(window.texts) == 2, what="the cleaned dictation")
    assert window.texts == ["um the the report is ready", "The report is ready"]


def test_english_fillers_stay_in_a_dictation_in_another_language(start_rig):
    daemon, recorder, _, window, _ = start_rig(model="base", language="de")
    dictate(daemon, recorder, 4)
    wait_until(lambda: window.texts, what="the dictation to arrive")
    assert window.texts == ["Er kommt um acht Uhr, um das zu besprechen."]


class BrokenSpeechDetector:
    """onnxruntime failing in the middle of a dictation: it cannot be made to fail for real on demand."""

    def update(self, audio: np.ndarray, final: bool = False) -> np.ndarray:
        raise RuntimeError("onnxruntime: some failure")


def test_a_speech_detector_failing_at_release_costs_the_draft_not_the_dictation(start_rig):
    daemon, recorder, transcriber, window, _ = start_rig(streaming=True)
    transcriber.speech_detector = BrokenSpeechDetector
    dictate(daemon, recorder, 1)
    wait_until(lambda: window.texts, what="the first dictation")
    dictate(daemon, recorder, 2)
    wait_until(lambda: len(window.texts) == 2, what="the next dictation")
    assert window.texts == ["The report is ready", "Call me back"]


def test_a_folder_for_the_audio_that_cannot_be_made_costs_only_the_audio(rig, tmp_path):
    daemon, recorder, _, window, _ = rig
    (tmp_path / "a-file").touch()
    daemon.recordings.keep_audio_in = tmp_path / "a-file" / "audio"  # as a removable disk that has gone
    dictate(daemon, recorder, 1)
    wait_until(lambda: window.texts == ["The report is ready"], what="the dictation")
    wait_until(lambda: daemon.state is State.IDLE, what="idle again")


def test_a_surprise_while_keeping_the_audio_is_shown_and_the_next_dictation_still_goes(rig, tmp_path, monkeypatch):
    """The WAV writer failing in a way that is not a disk error (a wave.Error cannot be caused for
    real on demand): the worker must live on, or every later dictation would wait forever."""
    daemon, recorder, _, window, seen = rig
    daemon.recordings.keep_audio_in = tmp_path

    def unwritable(path, audio):
        raise wave.Error("# channels not specified")

    monkeypatch.setattr("dictad.recording.write_wav", unwritable)
    dictate(daemon, recorder, 1)
    wait_until(lambda: daemon.error, what="the failure to be shown")
    assert "dictation failed: # channels not specified" in daemon.error and daemon.status()["queued"] == 0
    dictate(daemon, recorder, 2)
    wait_until(lambda: window.texts == ["The report is ready", "Call me back"], what="both dictations")


def test_a_bad_config_reload_keeps_the_running_config(rig, tmp_path):
    """Reload config in the tray menu and ``dictad reload`` (the control command) alike."""
    daemon, _, _, _, seen = rig
    path = tmp_path / "config.yaml"
    path.write_text("mode: toggle\n")
    daemon.apply_config(replace(daemon.config, source=path))
    assert daemon.reload_config() and daemon.mode == "toggle"
    path.write_text("mode: sometimes\n")
    answer = daemon.command("reload")
    assert answer["ok"] is False and f"{path}:1: mode" in answer["error"]
    assert daemon.mode == "toggle" and daemon.state is State.ERROR
    assert "config not reloaded" in seen.notes[-1] and f"{path}:1: mode" in seen.notes[-1]
    path.write_text("mode: hold\n")
    assert daemon.command("reload")["mode"] == "hold"
    assert daemon.state is State.IDLE and daemon.error is None


def test_a_reload_switches_the_microphone_or_tries_a_failed_one_again_before_it_answers(rig, tmp_path):
    daemon, recorder, _, _, _ = rig
    path = tmp_path / "config.yaml"
    daemon.apply_config(replace(daemon.config, source=path))
    path.write_text("audio:\n  device: Blue Yeti\n")
    recorder.unplugged = {"Blue Yeti"}
    answer = daemon.command("reload")
    assert answer["state"] == "error" and "no input device matches 'Blue Yeti'" in answer["error"]
    assert daemon.command("reload")["state"] == "error", "a reload cleared the error of a microphone still missing"
    recorder.unplugged.clear()  # plugged in
    assert daemon.command("reload")["state"] == "idle"
    assert recorder.switched_to == [("Blue Yeti", 300)]
    daemon.command("reload")
    assert recorder.switched_to == [("Blue Yeti", 300)], "a working microphone was reopened for nothing"
    path.write_text("audio:\n  device: Blue Yeti\n  preroll_ms: 500\n")
    daemon.command("reload")
    assert recorder.switched_to[-1] == ("Blue Yeti", 500)


def test_a_live_microphone_shows_as_recording_whatever_failed_meanwhile(rig):
    daemon, recorder, transcriber, window, _ = rig
    daemon.set_mode("toggle")
    window.works = False
    transcriber.gate.clear()
    recorder.say(3)
    daemon.input.hotkey_pressed()
    daemon.input.hotkey_pressed()  # the first dictation waits for the transcriber...
    recorder.say(2)
    daemon.input.hotkey_pressed()  # ...while the second is recorded
    transcriber.gate.set()
    wait_until(lambda: daemon.error, what="the first dictation's delivery to fail")
    assert daemon.state is State.RECORDING


def test_a_press_that_begins_as_the_text_goes_in_makes_the_text_wait_for_the_key_not_fail(rig):
    """The keyboard met held keys because the next dictation's press had begun (it waits 2 s for
    keys to come up, then sends nothing): the text goes in once that key is up, before the next."""
    daemon, recorder, _, window, seen = rig

    def deliver_into_the_next_press(text: str) -> Delivery:
        if window.texts or recorder.started > 1:
            return window.deliver(text)
        recorder.say(2)
        daemon.input.hotkey_pressed()
        return Delivery(False, "paste", text, reason="keys still held after 2 s (Control_L)", keys_held=True)

    daemon.deliver = deliver_into_the_next_press
    dictate(daemon, recorder, 1)
    wait_until(lambda: recorder.started == 2, what="the next press")
    assert stays_false(lambda: window.texts, seconds=0.3), "typed while the hotkey was held"
    daemon.input.hotkey_released()
    wait_until(lambda: len(window.texts) == 2, what="both dictations after the release")
    assert window.texts == ["The report is ready", "Call me back"]
    assert "error" not in seen.names()


def test_the_journal_of_a_recording_in_progress_is_never_taken_for_one_a_crash_left(rig):
    """A press can come while dictad starts (the control socket answers before the model is warm),
    before the journals a crash left are looked for."""
    daemon, recorder, _, window, seen = rig
    recorder.say(1)
    daemon.input.hotkey_pressed()
    assert len(leftovers(journal_folder())) == 1  # this recording's own journal
    assert daemon.recover_interrupted() == 0
    daemon.input.hotkey_released()
    wait_until(lambda: window.texts == ["The report is ready"], what="the dictation")
    assert "recovered" not in seen.names()
    wait_until(lambda: not leftovers(journal_folder()), what="the journal to go once the text is in the history")


def test_a_queued_dictation_waits_for_the_held_key_to_come_up(rig):
    daemon, recorder, transcriber, window, seen = rig
    transcriber.gate.clear()
    dictate(daemon, recorder, 1)
    recorder.say(2)
    daemon.input.hotkey_pressed()
    transcriber.gate.set()
    wait_until(lambda: "cleaned" in seen.names(), what="the first dictation to be ready")
    assert stays_false(lambda: window.texts, seconds=0.3), "typed while the hotkey was held"
    daemon.input.hotkey_released()
    wait_until(lambda: len(window.texts) == 2, what="both dictations after the release")
