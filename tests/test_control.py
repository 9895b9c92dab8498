"""The control socket over a real Unix socket: commands, permissions, one daemon at a time."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pytest

from dictad.app import answer_while_starting
from dictad.control import MAX_CONNECTIONS, REQUEST_TIMEOUT_S, AlreadyRunning, ControlServer
from dictad.control_client import NotRunning, send_command
from dictad.events import EventLog
from dictad.state import StatusRecord
from tests.rig.waiting import stays_false, wait_until


@pytest.fixture
def sock_path(tmp_path):
    return tmp_path / "run" / "control.sock"


@pytest.fixture
def server(sock_path):
    received: list[str] = []

    def handle(command: str) -> dict:
        received.append(command)
        return {"state": "recording" if command == "start" else "idle", "pid": 4242}

    control = ControlServer(handle, sock_path)
    control.start()
    yield control, received
    control.stop()


def test_commands_reach_the_daemon_and_answer(server, sock_path):
    _, received = server
    assert send_command("start", sock_path) == {"ok": True, "state": "recording", "pid": 4242}
    assert send_command("status", sock_path)["state"] == "idle"
    assert received == ["start", "status"]


def test_an_unknown_command_is_refused_with_the_allowed_ones(server, sock_path):
    answer = send_command("explode", sock_path)
    assert answer["ok"] is False
    assert "toggle, start, stop, cancel, status, recent" in answer["error"]


def resident_bytes() -> int:
    return int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmRSS:")).split()[1]) * 1024


def test_a_huge_request_is_refused_without_being_read(server, sock_path):
    _, received = server
    request = b"x" * 10_000_000 + b"\n"
    before = resident_bytes()
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(sock_path))
        try:
            client.sendall(request)
        except (BrokenPipeError, ConnectionResetError):  # refused after 64 bytes: the rest cannot go
            pass
        answer = json.loads(client.makefile("rb").readline())
    assert answer == {"ok": False, "error": answer["error"]}
    assert answer["error"].startswith("a request is one line of at most 64 bytes: one of toggle, start, stop")
    assert resident_bytes() - before < 2_000_000  # nothing of the 10 MB was kept (it was 1.1 GB for 200 MB)
    assert received == []
    assert send_command("status", sock_path)["ok"]


def test_a_client_that_sends_nothing_is_dropped(server, sock_path):
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(sock_path))
        answer = json.loads(client.makefile("rb").readline())
    assert answer == {"ok": False, "error": f"no request within {REQUEST_TIMEOUT_S:g} s"}


def test_a_client_that_sends_a_byte_at_a_time_is_dropped_as_soon_as_a_silent_one(server, sock_path):
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(sock_path))
        started = time.monotonic()
        for _ in range(10):  # the fault under test: a byte every 0.3 s, never a whole line
            try:
                client.send(b"s")
            except OSError:  # dropped meanwhile
                break
            time.sleep(0.3)
        answer = json.loads(client.makefile("rb").readline())
    assert answer == {"ok": False, "error": f"no request within {REQUEST_TIMEOUT_S:g} s"}
    assert time.monotonic() - started < REQUEST_TIMEOUT_S + 1.5


def test_a_flood_of_idle_connections_takes_a_bounded_number_of_threads_and_passes(server, sock_path):
    threads_before = threading.active_count()
    idle = []
    for _ in range(500):
        idle.append(socket.socket(socket.AF_UNIX))
        idle[-1].connect(str(sock_path))  # blocking: a full listen queue makes it wait, a timeout would refuse it
        idle[-1].settimeout(10)
    try:
        assert threading.active_count() - threads_before <= MAX_CONNECTIONS
        refused = json.loads(idle[-1].makefile("rb").readline())
        assert refused == {"ok": False, "error": f"too many connections ({MAX_CONNECTIONS} open): try again in a moment"}
        answer = wait_until(lambda: _answered(sock_path), 30, "a command to be answered again")
        assert answer["state"] == "idle"
    finally:
        for client in idle:
            client.close()


def _answered(path: Path) -> dict | None:
    """The status answer, or None while the daemon turns connections away."""
    try:
        answer = send_command("status", path, timeout_s=1.0)
    except OSError:
        return None
    return answer if answer.get("ok") else None


def test_only_the_user_can_reach_the_socket(server, sock_path):
    assert stat.S_IMODE(sock_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock_path.parent.stat().st_mode) == 0o700


def test_a_second_daemon_is_refused_with_the_first_ones_pid(server, sock_path):
    with pytest.raises(AlreadyRunning, match="already running \\(pid 4242"):
        ControlServer(lambda command: {}, sock_path).start()


def test_a_daemon_too_busy_to_answer_at_once_is_not_taken_for_dead(sock_path, capfd):
    busy = threading.Event()  # set when the test is over
    control = ControlServer(lambda command: busy.wait(10) or {"state": "recording"}, sock_path)
    control.start()
    try:
        with pytest.raises(AlreadyRunning, match="already running"):
            ControlServer(lambda command: {}, sock_path).start()
        assert sock_path.exists()
    finally:
        busy.set()
        errors: list[str] = []  # the answer now goes to a client that gave up: no traceback in the log
        assert stays_false(lambda: errors.append(capfd.readouterr().err) or "Traceback" in "".join(errors), 1.0), errors
        control.stop()


def dictad(*args: str, runtime_dir: Path) -> subprocess.CompletedProcess[str]:
    """The ``dictad`` command as a user runs it, its control socket in ``runtime_dir``."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    return subprocess.run([sys.executable, "-m", "dictad", *args], capture_output=True, text=True, env=env, timeout=60)


def dictad_answered_by(handler: Callable[[str], dict], command: str, runtime_dir: Path) -> subprocess.CompletedProcess[str]:
    """``dictad COMMAND`` against a control socket that ``handler`` answers."""
    control = ControlServer(handler, runtime_dir / "dictad" / "control.sock")
    control.start()
    try:
        return dictad(command, runtime_dir=runtime_dir)
    finally:
        control.stop()


def test_the_cli_prints_the_recent_dictations_newest_first(tmp_path):
    result = dictad_answered_by(lambda command: {"recent": ["Newest words.", "Older words."]}, "recent", tmp_path)
    assert (result.returncode, result.stdout) == (0, "Newest words.\nOlder words.\n")


@pytest.mark.parametrize(("command", "returncode", "output"), [
    ("status", 0, "state: starting"),
    ("recent", 1, "dictad is still starting (loading the speech model): recent was not done"),
    ("toggle", 1, "dictad is still starting (loading the speech model): toggle was not done"),
])
def test_while_dictad_starts_a_command_says_it_was_not_done(tmp_path, command, returncode, output):
    result = dictad_answered_by(answer_while_starting, command, tmp_path)
    assert result.returncode == returncode and output in result.stdout + result.stderr, result


@pytest.mark.parametrize("option", ["--events", "--keep-audio"])
def test_dictad_run_refuses_a_path_it_cannot_write_at_once(tmp_path, option):
    (tmp_path / "a-file").touch()
    result = dictad("run", option, str(tmp_path / "a-file" / "x"), runtime_dir=tmp_path)
    assert result.returncode == 2
    assert f"cannot write to {tmp_path / 'a-file' / 'x'}: Not a directory" in result.stderr


def test_a_socket_left_by_a_dead_daemon_is_taken_over(sock_path):
    sock_path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_path))
    stale.close()
    control = ControlServer(lambda command: {"state": "idle"}, sock_path)
    control.start()
    try:
        assert send_command("status", sock_path)["state"] == "idle"
    finally:
        control.stop()
    assert not sock_path.exists()


def test_without_a_runtime_directory_the_client_says_only_what_matters():
    environment = {name: value for name, value in os.environ.items() if name != "XDG_RUNTIME_DIR"}  # ssh, say
    result = subprocess.run([sys.executable, "-m", "dictad", "status"], capture_output=True, text=True,
                            env=environment, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("dictad: dictad is not running"), result.stderr
    assert "Warning" not in result.stderr


def test_no_daemon_gives_a_clear_answer(sock_path):
    with pytest.raises(NotRunning, match="dictad is not running .* start it with `dictad run`"):
        send_command("status", sock_path)


def test_the_cli_client_says_when_no_daemon_runs(tmp_path):
    result = dictad("status", runtime_dir=tmp_path)
    assert result.returncode == 1
    assert "dictad is not running" in result.stderr


# -- dictad status --follow ----------------------------------------------------------------------


class Daemonish:
    """A real state record and recent texts, answered as the daemon answers ``status`` and ``recent``."""

    def __init__(self) -> None:
        self.record = StatusRecord(EventLog(), notify=lambda message: None)
        self.recent: list[str] = []

    def handle(self, command: str) -> dict:
        if command == "recent":
            return {"recent": list(self.recent)}
        status, shown = self.record.read()
        return {"state": shown.value, "pid": 4242, "paused": status.paused, "queued": status.busy,
                "error": status.error}

    def dictate(self, text: str) -> None:
        """One dictation's changes, as the daemon makes them: recording, working, delivered."""
        self.record.change(recording=True)
        self.record.update(lambda status: replace(status, recording=False, busy=status.busy + 1))
        self.recent.insert(0, text)
        self.record.update(lambda status: replace(status, busy=status.busy - 1))


@pytest.fixture
def daemonish(sock_path):
    daemon = Daemonish()
    control = ControlServer(daemon.handle, sock_path)
    control.start()
    control.watch(daemon.record)
    daemon.control = control
    yield daemon
    control.stop()


class Follower:
    """A raw ``follow`` client whose reads fail after 10 s rather than hang."""

    def __init__(self, sock_path: Path, request: str = "follow") -> None:
        self.socket = socket.socket(socket.AF_UNIX)
        self.socket.settimeout(10)
        self.socket.connect(str(sock_path))
        self.socket.sendall(request.encode() + b"\n")
        self._lines = self.socket.makefile("rb")

    def next(self) -> dict:
        return json.loads(self._lines.readline())

    def rest(self) -> bytes:
        """Everything still to come, up to the end of the connection."""
        return self._lines.read()

    def close(self) -> None:
        self._lines.close()  # the socket stays open while its file does
        self.socket.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def test_follow_gives_the_state_now_then_each_change_in_order(daemonish, sock_path):
    with Follower(sock_path) as client:
        assert client.next() == {"state": "idle", "pid": 4242, "paused": False, "queued": 0, "error": None,
                                 "last_text_chars": 0}
        daemonish.dictate("Hello there.")
        daemonish.record.change(paused=False)  # nothing shown changes: no line
        daemonish.record.change(paused=True)
        lines = [client.next() for _ in range(4)]
    assert [(line["state"], line["queued"]) for line in lines] == [
        ("recording", 0), ("working", 1), ("idle", 0), ("disabled", 0)]
    assert lines[2]["last_text_chars"] == len("Hello there.")
    assert lines[3]["paused"] is True
    assert not any("last_text" in line for line in lines)


def test_follow_text_adds_the_last_text(daemonish, sock_path):
    with Follower(sock_path, "follow text") as client:
        assert client.next()["last_text"] == ""
        daemonish.dictate("Naïve café.")
        lines = [client.next() for _ in range(3)]
    assert (lines[-1]["state"], lines[-1]["last_text"], lines[-1]["last_text_chars"]) == ("idle", "Naïve café.", 11)


def test_a_follower_that_leaves_frees_its_thread(daemonish, sock_path):
    threads = threading.active_count()
    client = Follower(sock_path)
    client.next()
    assert daemonish.control.followers == 1
    client.close()  # no state change needed for the server to notice
    wait_until(lambda: daemonish.control.followers == 0, what="the follower to be let go")
    wait_until(lambda: threading.active_count() == threads, what="its thread to end")
    daemonish.dictate("Nobody listens.")  # and the daemon goes on as before
    assert daemonish.record.shown.value == "idle"


def test_a_follower_that_stops_reading_is_dropped_and_never_holds_up_the_daemon(daemonish, sock_path):
    client = Follower(sock_path)
    client.next()
    done = threading.Event()

    def change_until_dropped() -> None:
        for _ in range(200_000):
            if daemonish.control.followers == 0:
                break
            daemonish.record.change(recording=not daemonish.record.now.recording)
        done.set()

    threading.Thread(target=change_until_dropped, daemon=True).start()
    wait_until(done.is_set, timeout=60, what="the changes to go through")  # a blocking send would hang here
    with client:
        assert daemonish.control.followers == 0
        assert client.rest().startswith(b'{"state": "recording"')  # what was sent before the drop, then the end


def test_a_follower_of_a_daemon_still_starting_gets_its_state_once_it_is_ready(sock_path):
    started: list[Daemonish] = []  # as in dictad.app: the socket answers before the daemon exists
    control = ControlServer(lambda command: started[0].handle(command) if started else answer_while_starting(command),
                            sock_path)
    control.start()
    try:
        with Follower(sock_path) as client:
            assert client.next() == {"state": "starting", "last_text_chars": 0}
            started.append(Daemonish())
            control.watch(started[0].record)
            assert client.next()["state"] == "idle"
    finally:
        control.stop()


class Output:
    """The stdout of a process, line by line, read in a thread so that a test waits with a timeout."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(line) for line in process.stdout], daemon=True).start()

    def next(self) -> dict:
        return json.loads(self._lines.get(timeout=30))


def dictad_following(runtime_dir: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    return subprocess.Popen([sys.executable, "-m", "dictad", "status", "--follow", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_the_cli_prints_a_line_per_change_until_the_daemon_goes_away(tmp_path):
    daemon = Daemonish()
    control = ControlServer(daemon.handle, tmp_path / "dictad" / "control.sock")
    control.start()
    control.watch(daemon.record)
    process = dictad_following(tmp_path)
    try:
        output = Output(process)
        assert output.next()["state"] == "idle"
        daemon.dictate("Four words were said.")
        assert [output.next()["state"] for _ in range(3)] == ["recording", "working", "idle"]
    finally:
        control.stop()
    assert process.wait(timeout=30) == 1
    assert process.stderr.read() == "dictad: the running dictad went away (its control socket closed)\n"


def test_the_cli_shows_the_text_only_with_text_and_ctrl_c_ends_it_quietly(tmp_path):
    daemon = Daemonish()
    daemon.recent.append("Secret words.")
    control = ControlServer(daemon.handle, tmp_path / "dictad" / "control.sock")
    control.start()
    control.watch(daemon.record)
    try:
        plain, with_text = dictad_following(tmp_path), dictad_following(tmp_path, "--text")
        assert "last_text" not in Output(plain).next()
        assert Output(with_text).next()["last_text"] == "Secret words."
        for process in (plain, with_text):
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
            assert process.stderr.read() == ""
    finally:
        control.stop()


def test_the_cli_follow_says_when_no_daemon_runs(tmp_path):
    result = dictad("status", "--follow", runtime_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("dictad: dictad is not running"), result.stderr
