"""The control socket over a real Unix socket: commands, permissions, one daemon at a time."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest

from dictad.app import answer_while_starting
from dictad.control import AlreadyRunning, ControlServer, NotRunning, send_command
from tests.rig.waiting import stays_false


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
