"""Nothing lost, nothing stuck: faults injected into `dictad run` on the X11 rig, with real processes.

Each test dictates for real (the hotkey held with xdotool, speech played into the PulseAudio
microphone), injects one fault (a `kill -9`, a window that goes away, ...) and then asserts where
the words are: in the window, in the history on disk, on the clipboard, and what the user was told.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ollama_server import FakeOllama, Reply
from tests.rig.display import xdotool
from tests.rig.speech import wav_seconds
from tests.rig.waiting import wait_until
from tests.test_desktop import (HOTKEY, SPOKEN, RunningDaemon, assert_close, delivered, dictad, hold_and_speak,  # noqa: F401
                                spoken_clip, start_daemon, start_recording)

pytestmark = pytest.mark.slow

BYTES_PER_SECOND = 32000
"""What the journal writes per second of recording: 16 kHz, 16-bit."""


def history(*args: str) -> list[dict]:
    """`dictad history --json`, as a user runs it."""
    done = dictad("history", "--json", *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def data_folder() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "dictad"


def journals() -> list[Path]:
    folder = Path(os.environ["XDG_STATE_HOME"]) / "dictad" / "journal"
    return sorted(folder.glob("*.s16")) if folder.is_dir() else []


@pytest.fixture
def held_ollama() -> Iterator[FakeOllama]:
    """The stand-in Ollama (tests/ollama_server.py: Ollama cannot run here; the real client talks to it
    over real HTTP) that answers the warm-up and holds its answer to a dictation until the test ends."""
    holding = threading.Event()

    def behaviour(request: dict) -> Reply:
        if "kitchen" in json.dumps(request).lower():
            holding.set()
            server.stopping.wait(60)
        return Reply(SPOKEN)

    server = FakeOllama(behaviour).start()
    server.holding = holding
    yield server
    server.stop()


def test_every_dictation_is_kept_on_disk_for_the_user_alone(start_daemon, audio_rig, target_window, spoken_clip):
    daemon = start_daemon()
    target_window.focus()
    _, text = delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, spoken_clip))
    (entry,) = history()
    assert (entry["delivered"], entry["method"], entry["pinned"], entry["recovered"]) == (True, "paste", False, False)
    assert entry["target"] == "dictadtarget/dictadtarget"
    assert entry["text"] + " " == text
    assert_close(SPOKEN, entry["raw"])
    assert entry["audio_seconds"] > 2 and entry["transcribe_s"] > 0
    assert stat.S_IMODE((data_folder() / "history.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_folder().stat().st_mode) == 0o700
    assert journals() == []  # the journal went once the dictation was in the history


def test_a_kill_while_the_key_is_held_loses_no_words(start_daemon, audio_rig, target_window, spoken_clip,
                                                     notifications_sent):
    daemon = start_daemon()
    target_window.focus()
    start_recording(daemon)
    audio_rig.play(spoken_clip).wait()
    seconds = wav_seconds(spoken_clip)
    wait_until(lambda: journals() and journals()[0].stat().st_size >= seconds * BYTES_PER_SECOND,
               10, "the journal to hold what was said")
    daemon.process.kill()
    daemon.process.wait()
    xdotool("keyup", HOTKEY)

    again = start_daemon()
    again.wait_event("recovered", timeout=60)
    (entry,) = history()
    assert (entry["recovered"], entry["delivered"], entry["pinned"]) == (True, False, True)
    assert_close(SPOKEN, entry["text"])
    wait_until(lambda: "recovered a dictation that dictad was stopped during" in notifications_sent(), 10,
               "the notification")
    assert target_window.text() == ""  # never pasted by itself: the window it was meant for may be gone
    assert SPOKEN.split()[1] in dictad("recent").stdout.lower()
    assert journals() == []


LONG = ("The kitchen needs new lights before the party on Saturday, and the garden needs water every "
        "morning while we are away at the lake.")


def test_a_kill_while_the_words_are_transcribed_loses_none(start_daemon, audio_rig, target_window, make_clip):
    """Without streaming, a long dictation is transcribed after the release: the kill comes meanwhile."""
    daemon = start_daemon("mode: hold\ntranscription:\n  streaming: false\n")
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, make_clip(LONG))
    daemon.wait_event("recording_stopped", after=mark)
    daemon.process.kill()
    daemon.process.wait()
    assert not daemon.events_named("transcribed", mark)  # the kill came before the transcript

    start_daemon().wait_event("recovered", timeout=60)
    (entry,) = history()
    assert (entry["recovered"], entry["pinned"]) == (True, True)
    assert_close(LONG, entry["text"])
    assert target_window.text() == ""


def test_a_kill_while_the_words_are_cleaned_loses_none(start_daemon, audio_rig, target_window, spoken_clip,
                                                       held_ollama):
    """The LLM holds its answer: the kill comes after the transcript and before the delivery."""
    daemon = start_daemon(f"mode: hold\ncleanup:\n  mode: llm\n  ollama:\n    host: {held_ollama.url}\n"
                          "    timeout_s: 60\n")
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    daemon.wait_event("transcribed", after=mark)
    wait_until(held_ollama.holding.is_set, 10, "the cleanup request to reach Ollama")
    daemon.process.kill()
    daemon.process.wait()

    again = start_daemon("mode: hold\n")
    again.wait_event("recovered", timeout=60)
    (entry,) = history()
    assert (entry["recovered"], entry["pinned"]) == (True, True)
    assert_close(SPOKEN, entry["text"])
    assert target_window.text() == ""


def clipboard() -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, text=True,
                          timeout=10).stdout


@pytest.mark.parametrize("gone", ["closed", "unmapped"])
def test_a_window_gone_before_the_release_gets_nothing_and_the_words_wait_on_the_clipboard(
        start_daemon, audio_rig, target_window, spoken_clip, notifications_sent, gone):
    daemon = start_daemon()
    target_window.focus()
    mark = start_recording(daemon)
    audio_rig.play(spoken_clip).wait()
    if gone == "closed":
        target_window.close()
    else:
        xdotool("windowunmap", "--sync", str(target_window.wid))
    xdotool("keyup", HOTKEY)
    error = daemon.wait_event("error", after=mark)
    assert error["message"].startswith("the text could not be delivered (it is on the clipboard: press Ctrl+V to "
                                       "paste it; no window has the keyboard focus")
    assert not daemon.events_named("injected", mark)
    assert_close(SPOKEN, clipboard())
    wait_until(lambda: "it is on the clipboard" in notifications_sent(), 10, "the notification")
    assert dictad("status").stdout.startswith("state: error")
    (entry,) = history()
    assert (entry["delivered"], entry["method"], entry["pinned"]) == (False, "clipboard", True)
    assert entry["text"] == clipboard().rstrip()


def test_keys_held_across_the_delivery_keep_the_words_and_say_so(start_daemon, audio_rig, target_window,
                                                                 spoken_clip):
    """Shift held from before the release to after the keys-up wait (2 s): nothing is sent, so it
    cannot mix with the paste keys; the text is kept, pinned, and the user told."""
    daemon = start_daemon()
    target_window.focus()
    mark = start_recording(daemon)
    audio_rig.play(spoken_clip).wait()
    xdotool("keydown", "shift")
    try:
        xdotool("keyup", HOTKEY)
        error = daemon.wait_event("error", after=mark)
    finally:
        xdotool("keyup", "shift")
    assert "keys still held after 2 s (Shift_L)" in error["message"]
    assert target_window.text() == ""
    (entry,) = history()
    assert (entry["delivered"], entry["pinned"]) == (False, True)
    assert_close(SPOKEN, entry["text"])


def test_with_history_off_no_file_holds_the_words(start_daemon, audio_rig, target_window, make_clip, monkeypatch,
                                                   tmp_path):
    """The daemon's home is a fresh folder, with the XDG data, state and cache folders at their defaults in it."""
    spoken = "Remember the purple elephant recipe."
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    daemon = start_daemon("mode: hold\nhistory:\n  enabled: false\n")
    target_window.focus()
    _, text = delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, make_clip(spoken)))
    assert "elephant" in text.lower()  # the word looked for below was dictated
    daemon.stop()
    folders = [home, Path(os.environ["XDG_RUNTIME_DIR"]), Path(os.environ["XDG_CONFIG_HOME"])]
    holding = [path for folder in folders for path in folder.rglob("*")
               if path.is_file() and b"elephant" in path.read_bytes().lower()]
    assert holding == []
    assert not (home / ".local" / "share" / "dictad" / "history.sqlite3").exists()


def test_a_microphone_removed_while_idle_is_shown_at_once_and_cleared_once_it_is_back(
        start_daemon, audio_rig, target_window, spoken_clip, notifications_sent):
    daemon = start_daemon()
    try:
        audio_rig.unplug_microphone()  # while nobody dictates
        error = daemon.wait_event("error", timeout=15)
        assert error["message"].startswith("the microphone stopped delivering audio (unplugged?)")
        assert dictad("status").stdout.startswith("state: error")
        wait_until(lambda: "the microphone stopped delivering audio" in notifications_sent(), 10, "the notification")

        mark, pressed_at = daemon.mark(), time.monotonic()  # the events' clock (CLOCK_MONOTONIC)
        xdotool("key", HOTKEY)
        refused = daemon.wait_event("discarded", after=mark, timeout=5)
        assert refused["reason"] == "no_microphone" and not daemon.events_named("recording_started", mark)
        assert refused["t"] - pressed_at < 1.0  # said at once, not after a wait for audio that cannot come
        wait_until(lambda: "nothing was recorded, no microphone" in notifications_sent(), 10, "the press's notice")
    finally:
        audio_rig.plug_in_microphone()
    daemon.wait_event("microphone_back", timeout=30)
    assert dictad("status").stdout.startswith("state: idle")
    assert "the microphone is back" in notifications_sent()
    target_window.focus()
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    assert_close(SPOKEN, delivered(daemon, target_window, mark)[1])


def seconds_to_text(daemon: RunningDaemon, mark: int) -> float:
    """From the key release (recording_stopped) to the text delivered (injected), by dictad's clock."""
    stopped = daemon.wait_event("recording_stopped", after=mark)
    injected = daemon.wait_event("injected", after=mark)
    return injected["t"] - stopped["t"]


@pytest.mark.parametrize("ollama", ["down", "slow", "erroring"])
def test_an_llm_that_fails_costs_one_dictation_and_is_reported_once(
        start_daemon, audio_rig, target_window, spoken_clip, notifications_sent, ollama):
    """Three dictations in a row: the first may wait for cleanup.ollama.timeout_s (1 s), the others get
    the rules at once while dictad asks Ollama again in the background."""
    behaviours = {"slow": lambda request: Reply(SPOKEN, delay_s=30),
                  "erroring": lambda request: Reply(status=500, error="llama runner process has terminated")}
    server = FakeOllama(behaviours[ollama]).start() if ollama in behaviours else None
    host = server.url if server else "http://127.0.0.1:9"  # nothing listens on the discard port
    try:
        daemon = start_daemon(f"mode: hold\ncleanup:\n  mode: llm\n  ollama:\n    host: {host}\n"
                              "    timeout_s: 1\n")
        target_window.focus()
        waits = [seconds_to_text(daemon, hold_and_speak(daemon, audio_rig, spoken_clip)) for _ in range(3)]
    finally:
        if server:
            server.stop()
    assert waits[0] < 1.0 + 0.5
    assert max(waits[1:]) < 0.6, waits  # the rules' time (with the 150 ms clipboard restore): no 1 s budget paid
    assert notifications_sent().count("LLM cleanup unavailable") == 1
    assert [event["cleaner"] for event in daemon.events_named("cleaned")] == ["rules"] * 3


def test_without_a_clipboard_tool_the_words_are_typed(start_daemon, audio_rig, target_window, spoken_clip,
                                                      monkeypatch, tmp_path):
    tools = tmp_path / "bin"
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for tool in Path(folder).glob("*") if Path(folder).is_dir() else ():
            if tool.name not in ("xclip", "xsel") and not (tools / tool.name).exists():
                (tools / tool.name).symlink_to(tool)
    monkeypatch.setenv("PATH", str(tools))
    daemon = start_daemon()
    target_window.focus()
    injected, text = delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, spoken_clip))
    assert injected["method"] == "type"
    assert_close(SPOKEN, text)
    (entry,) = history()
    assert (entry["method"], entry["delivered"]) == ("type", True)
    assert entry["reason"] == "typed, not pasted: no clipboard tool: install xclip or xsel"


@pytest.fixture
def small_disk(tmp_path, monkeypatch) -> Iterator[Path]:
    """A 1 MiB tmpfs holding the history and the journal, so that the test can fill it (root only)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    monkeypatch.setenv("XDG_DATA_HOME", str(disk / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(disk / "state"))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_costs_the_history_entry_not_the_text_and_says_so(
        start_daemon, audio_rig, target_window, spoken_clip, small_disk):
    daemon = start_daemon()
    target_window.focus()
    delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, spoken_clip))
    filler = fill(small_disk)
    mark = hold_and_speak(daemon, audio_rig, spoken_clip)
    delivered(daemon, target_window, mark, dictations=1)
    error = daemon.wait_event("error", after=mark)
    assert error["message"].startswith("the text was delivered, but the dictation could not be written to "
                                       f"{small_disk / 'data' / 'dictad' / 'history.sqlite3'}")
    assert "it is kept in memory until dictad quits" in error["message"]
    recent = dictad("recent")
    assert len(recent.stdout.splitlines()) == 2
    filler.unlink()
    delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, spoken_clip))
    assert len(history()) == 2  # the first and the last: written once there was room again
    daemon.stop()


def test_a_corrupt_history_file_is_moved_aside_and_dictation_goes_on(start_daemon, audio_rig, target_window,
                                                                     spoken_clip, notifications_sent):
    data_folder().mkdir(parents=True)
    (data_folder() / "history.sqlite3").write_bytes(b"not a database " * 1000)
    daemon = start_daemon()
    wait_until(lambda: "could not be read (file is not a database): it was moved to" in notifications_sent(), 10,
               "the notification")
    target_window.focus()
    delivered(daemon, target_window, hold_and_speak(daemon, audio_rig, spoken_clip))
    (entry,) = history()
    assert_close(SPOKEN, entry["text"])
    (aside,) = data_folder().glob("history.sqlite3.unreadable-*")
    assert aside.read_bytes().startswith(b"not a database ")


def test_the_control_socket_survives_a_huge_request_and_a_flood_of_idle_connections(start_daemon):
    daemon = start_daemon()
    pid = daemon.process.pid
    threads_before, rss_before = _proc_status(pid, "Threads"), _proc_status(pid, "VmRSS")
    path = Path(os.environ["XDG_RUNTIME_DIR"]) / "dictad" / "control.sock"
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
        try:
            client.sendall(b"x" * 10_000_000 + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert b"a request is one line of at most 64 bytes" in client.makefile("rb").readline()
    idle = []
    for _ in range(500):
        idle.append(socket.socket(socket.AF_UNIX))
        idle[-1].connect(str(path))
    try:
        assert _proc_status(pid, "Threads") - threads_before <= 64 + 1
        answered = wait_until(lambda: dictad("status").stdout, 30, "dictad status to be answered again")
        assert answered.startswith("state: idle")
    finally:
        for client in idle:
            client.close()
    assert _proc_status(pid, "VmRSS") - rss_before < 20_000  # kB: the 10 MB were never read


def _proc_status(pid: int, field: str) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1])
