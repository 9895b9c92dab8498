"""dictad run on a real desktop, used the way people use it.

A real X display with a tray host, a real PulseAudio microphone, a Tk window as "any app":
the hotkey is held with xdotool (XTest, as a keyboard would), speech is played into the
virtual microphone in real time, and the test reads what landed in the window. Every wait
is on a condition (an event in the daemon's --events log, the window's text).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.rig.audio import AudioRig
from tests.rig.daemon import DaemonProcess, auto_device
from tests.rig.display import TargetWindow, xdotool
from tests.rig.speech import speak, word_errors
from tests.rig.tray import TrayMenu, notification_popups, tray_icon_box
from tests.rig.waiting import wait_until

pytestmark = pytest.mark.slow

HOTKEY = "ctrl+alt+space"
SPOKEN = "The kitchen needs new lights before the party on Saturday."
"""The bundled model hears this sentence well through the rig every time."""


@dataclass
class RunningDaemon(DaemonProcess):
    config_path: Path | None = None

    def wait_event(self, name: str, after: int = 0, timeout: float = 30) -> dict:
        return wait_until(lambda: self.event(name, after), timeout=timeout,
                          what=f"the {name!r} event; daemon log:\n{self.log()}")


def dictad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictad", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def start_daemon(tmp_path, x_display, session_bus, notification_daemon, tray_host, audio_rig):  # noqa: F811
    started: list[RunningDaemon] = []

    def start(config_text: str = "", ready: bool = True, args: tuple[str, ...] = ()) -> RunningDaemon:
        config = tmp_path / f"config{len(started)}.yaml"
        config.write_text(config_text or "mode: hold\n")
        events = tmp_path / f"events{len(started)}.jsonl"
        log = tmp_path / f"daemon{len(started)}.log"
        with log.open("w") as log_file:
            process = subprocess.Popen(
                # faulthandler: a crash in a C library shows its Python stack in the log
                [sys.executable, "-X", "faulthandler", "-m", "dictad", "run", "--config", str(config),
                 "--events", str(events), *args],
                stdout=log_file, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
            )
        daemon = RunningDaemon(process, events, log, config_path=config)
        started.append(daemon)
        if ready:
            daemon.wait_event("ready", timeout=60)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def spoken_clip(make_clip):
    return make_clip(SPOKEN)


def start_recording(daemon: RunningDaemon, xdotool_action: str = "keydown") -> int:
    """Press (``keydown``) or tap (``key``) the hotkey until recording starts; returns the event mark before."""
    mark = daemon.mark()
    xdotool(xdotool_action, HOTKEY)
    daemon.wait_event("recording_started", after=mark)
    return mark


def hold_and_speak(daemon: RunningDaemon, rig: AudioRig, clip: Path, sink: str | None = None) -> int:
    """Hold the hotkey, play ``clip`` into the microphone (the one hearing ``sink``), release;
    returns the event mark before."""
    mark = start_recording(daemon)
    rig.play(clip, sink).wait()
    xdotool("keyup", HOTKEY)
    return mark


def delivered(daemon: RunningDaemon, target_window: TargetWindow, mark: int, dictations: int = 1) -> tuple[dict, str]:
    """The last ``injected`` event once ``dictations`` dictations after ``mark`` are delivered, and
    the window's text once all their characters are in it: typed keys reach the window a moment
    after dictad has sent the last one."""
    def all_delivered() -> list[dict] | None:
        injected = daemon.events_named("injected", mark)
        return injected if len(injected) >= dictations else None

    events = wait_until(all_delivered, timeout=30, what=f"{dictations} dictation(s) to be delivered")
    characters = sum(event["chars"] for event in events)
    return events[-1], target_window.wait_for_text(lambda text: len(text) >= characters, timeout=20)


def assert_close(reference: str, text: str, max_error_rate: float = 0.35) -> None:
    errors, total = word_errors(reference, text)
    assert errors / total <= max_error_rate, f"{text!r} is too far from {reference!r}"


def test_holding_the_hotkey_and_speaking_pastes_the_words(start_daemon, audio_rig, target_window, spoken_clip):  # noqa: F811
    daemon = start_daemon("output:\n  method: paste\n")
    subprocess.run(["xclip", "-selection", "clipboard"], input=b"what the user had copied", check=True)
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    injected, text = delivered(daemon, target_window, mark)
    assert injected["method"] == "paste"
    assert_close(SPOKEN, text)
    wait_until(lambda: subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                                      text=True).stdout == "what the user had copied",
               timeout=10, what="the user's clipboard to come back")


def test_without_streaming_the_recording_is_transcribed_after_release_and_can_be_kept(
        start_daemon, audio_rig, target_window, spoken_clip, tmp_path):  # noqa: F811
    daemon = start_daemon("transcription:\n  streaming: false\n", args=("--keep-audio", str(tmp_path / "kept")))
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    assert daemon.wait_event("transcribed", after=mark)["from_draft"] is False
    assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])
    kept = Path(daemon.wait_event("recording_stopped", after=mark)["audio_file"])
    wait_until(kept.exists, timeout=10, what="the dictation's audio to be saved")
    transcribed = dictad("transcribe", "--cleanup", "off", str(kept))
    assert_close(SPOKEN, transcribed.stdout)


def test_a_word_said_as_the_key_goes_down_is_ready_when_it_comes_up(start_daemon, audio_rig, target_window,  # noqa: F811
                                                                   tmp_path):
    """With the start cue on (the default), the speech right after it is transcribed while the key
    is held: release delivers that text, with nothing left to decode."""
    short = "Thank you."
    daemon = start_daemon()
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, speak(short, tmp_path / "short.wav", pad_before_s=0.15))
    assert daemon.wait_event("transcribed", after=mark)["from_draft"] is True
    assert_close(short, delivered(daemon, target_window, mark)[1])


def test_typing_delivers_the_words_too(start_daemon, audio_rig, target_window, spoken_clip):  # noqa: F811
    daemon = start_daemon("output:\n  method: type\n")
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    injected, text = delivered(daemon, target_window, mark)
    assert injected["method"] == "type"
    assert_close(SPOKEN, text)


def test_toggle_mode_cancel_and_a_too_short_press(start_daemon, audio_rig, target_window, spoken_clip):  # noqa: F811
    daemon = start_daemon("mode: toggle\naudio:\n  min_duration_ms: 2000\n")  # a tap is short on a slow machine too
    target_window.focus()
    mark = start_recording(daemon, "key")
    audio_rig.play(spoken_clip).wait()
    xdotool("key", HOTKEY)
    assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])

    mark = start_recording(daemon, "key")
    xdotool("key", "Escape")
    daemon.wait_event("cancelled", after=mark)

    mark = start_recording(daemon, "key")
    xdotool("key", HOTKEY)
    assert daemon.wait_event("discarded", after=mark)["reason"] == "too_short"
    assert not daemon.events_named("injected", mark)
    assert "Escape" not in target_window.keys()


def test_the_control_socket_drives_the_daemon_and_refuses_a_second_one(start_daemon, audio_rig, target_window,  # noqa: F811
                                                                         spoken_clip):
    daemon = start_daemon()
    assert f"speech model tiny.en on {auto_device()} (int8" in daemon.log()
    assert "state: idle" in dictad("status").stdout
    target_window.focus()
    mark = daemon.mark()
    assert "state: recording" in dictad("start").stdout
    audio_rig.play(spoken_clip).wait()
    dictad("stop")
    assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])
    mark = daemon.mark()
    dictad("start")
    assert "state: idle" in dictad("cancel").stdout
    daemon.wait_event("cancelled", after=mark)
    assert not daemon.events_named("recording_stopped", mark)

    second = start_daemon(ready=False)
    assert second.process.wait(timeout=30) == 1
    assert "dictad is already running" in second.log()

    assert dictad("quit").returncode == 0
    assert daemon.process.wait(timeout=30) == 0
    assert "dictad is not running" in dictad("status").stderr


def test_a_press_while_the_last_dictation_is_processed_is_queued(start_daemon, audio_rig, target_window,  # noqa: F811
                                                                 make_clip):
    # Transcribed after release, the first dictation is still being processed at the second press
    # (streaming would have its text ready at release).
    daemon = start_daemon("output:\n  method: type\ntranscription:\n  streaming: false\n")
    target_window.focus()
    first, second = "The first note is about the kitchen.", "The second note is about the garden."  # words it hears well
    mark = hold_and_speak(daemon, audio_rig, make_clip(first))
    hold_and_speak(daemon, audio_rig, make_clip(second))
    text = delivered(daemon, target_window, mark, dictations=2)[1].lower()
    assert "kitchen" in text and "garden" in text and text.index("kitchen") < text.index("garden")
    order = [event["event"] for event in daemon.events()[mark:] if event["event"] in ("recording_started", "injected")]
    assert order[:2] == ["recording_started", "recording_started"], f"pressed again too late: {order}"


def test_a_microphone_missing_at_start_is_said_at_once_and_used_once_plugged_in(
        start_daemon, audio_rig, target_window, spoken_clip, notifications_sent):  # noqa: F811
    popups_before = notification_popups()
    daemon = start_daemon("audio:\n  device: usbmic\noutput:\n  method: type\n", ready=False)
    wait_until(lambda: notification_popups() - popups_before, timeout=60,
               what=f"a notification that the microphone is missing; daemon log:\n{daemon.log()}")
    assert "no input device matches 'usbmic'" in notifications_sent()
    daemon.wait_event("ready", timeout=60)
    assert "state: error" in dictad("status").stdout
    target_window.focus()
    with audio_rig.another_microphone("usbmic") as plugged_in:
        daemon.wait_event("microphone_back")  # found by itself within seconds, and the error cleared
        assert "state: idle" in dictad("status").stdout
        mark = hold_and_speak(daemon, audio_rig, spoken_clip, plugged_in.sink)
        assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])
    assert "state: idle" in dictad("status").stdout


def test_dictad_reload_switches_to_the_microphone_named_in_the_config(start_daemon, audio_rig, target_window,  # noqa: F811
                                                                      spoken_clip):
    daemon = start_daemon("output:\n  method: type\n")
    assert daemon.event("microphone")["device"] == "default"
    target_window.focus()
    with audio_rig.another_microphone("usbmic") as other:
        daemon.config_path.write_text("output:\n  method: type\naudio:\n  device: usbmic\n")
        mark = daemon.mark()
        assert "state: idle" in dictad("reload").stdout
        assert daemon.wait_event("microphone", after=mark)["device"] == "usbmic"
        mark = hold_and_speak(daemon, audio_rig, spoken_clip, other.sink)
        assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])
    daemon.config_path.write_text("audio:\n  device: Blue Yeti\n")
    reloaded = dictad("reload").stdout
    assert "state: error" in reloaded and "no input device matches 'Blue Yeti'" in reloaded


def test_a_microphone_that_disappears_keeps_what_was_said(start_daemon, audio_rig, target_window,  # noqa: F811
                                                          spoken_clip):
    daemon = start_daemon("output:\n  method: type\n")
    target_window.focus()
    mark = start_recording(daemon)
    audio_rig.play(spoken_clip).wait()
    try:
        audio_rig.unplug_microphone()
        error = daemon.wait_event("error", after=mark, timeout=15)
        assert "microphone" in error["message"].lower()
        assert "state: error" in dictad("status").stdout
        xdotool("keyup", HOTKEY)
        assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])
    finally:
        xdotool("keyup", HOTKEY)
        audio_rig.plug_in_microphone()
    daemon.wait_event("microphone_back", after=mark)
    second = hold_and_speak(daemon, audio_rig, spoken_clip)
    assert daemon.wait_event("injected", after=second)["method"] == "type"


def test_cleanup_clicked_in_the_tray_menu_applies_to_the_next_dictation(start_daemon, audio_rig, target_window,  # noqa: F811
                                                                        spoken_clip):
    daemon = start_daemon("cleanup:\n  mode: rules\n")
    assert "cleanup: rules" in dictad("status").stdout
    menu = TrayMenu(tray_icon_box("dictad"))
    menu.click_first_item(menu.open(button=3))
    wait_until(lambda: "cleanup: off" in dictad("status").stdout, timeout=30, what="cleanup to switch off")
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    assert daemon.wait_event("cleaned", after=mark)["cleaner"] == "off"
    daemon.wait_event("injected", after=mark)

    menu.click_first_item(menu.open(button=3))
    wait_until(lambda: "cleanup: rules" in dictad("status").stdout, timeout=30, what="cleanup to switch back on")
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    assert daemon.wait_event("cleaned", after=mark)["cleaner"] == "rules"
