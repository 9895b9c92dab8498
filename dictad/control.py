"""The control socket: ``dictad toggle|start|stop|cancel|status|recent|reload`` talk to the running daemon.

This is how Wayland users, whose compositors allow no global key grabs, bind dictation
to a compositor shortcut. One line in, one JSON line out, over a Unix socket that only
the user can reach (0600 in a 0700 directory under the runtime dir).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

COMMANDS = ("toggle", "start", "stop", "cancel", "status", "recent", "reload")
log = logging.getLogger(__name__)

Handler = Callable[[str], dict[str, Any]]


class AlreadyRunning(RuntimeError):
    """Another dictad answers on the control socket."""


class NotRunning(RuntimeError):
    """No dictad answers on the control socket."""


def socket_path() -> Path:
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (over ssh, in a bare X session) platformdirs falls back to
        # /tmp/runtime-UID and warns with a Python warning; dictad's own messages name the path.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        return Path(platformdirs.user_runtime_dir("dictad", ensure_exists=False)) / "control.sock"


def send_command(command: str, path: Path | None = None, timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one command to the running daemon and return its answer."""
    path = path or socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout_s)
            client.connect(str(path))
            client.sendall(command.encode() + b"\n")
            answer = client.makefile("rb").readline()
    except (FileNotFoundError, ConnectionRefusedError) as error:
        raise NotRunning(f"dictad is not running (no answer on {path}): start it with `dictad run`") from error
    if not answer:
        raise NotRunning(f"dictad closed the control socket {path} without answering")
    return json.loads(answer)


class ControlServer:
    """Serves the control socket in a background thread, calling ``handler(command)`` for each line."""

    def __init__(self, handler: Handler, path: Path | None = None):
        self.path = path or socket_path()
        self._handler = handler
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    def start(self) -> None:
        self._claim_path()
        handler = self._handler

        class _Connection(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                command = self.rfile.readline().decode(errors="replace").strip()
                answer = json.dumps(_answer(handler, command)).encode() + b"\n"
                try:
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped waiting: it says so itself
                    log.debug("%s: the client left before the answer", command)

        old_umask = os.umask(0o177)
        try:
            self._server = socketserver.ThreadingUnixStreamServer(str(self.path), _Connection)
        finally:
            os.umask(old_umask)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="dictad-control", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)

    def _claim_path(self) -> None:
        """Refuse when another dictad answers; clear a socket file left by one that died."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if not self.path.exists():
            return
        try:
            status = send_command("status", self.path, timeout_s=2.0)
        except NotRunning:
            self.path.unlink(missing_ok=True)
            return
        except (OSError, ValueError):  # there, but busy (opening a slow microphone, say): not dead
            status = {}
        raise AlreadyRunning(
            f"dictad is already running (pid {status.get('pid', '?')}, control socket {self.path}); "
            f"use `dictad toggle`, `dictad status`, or quit it from the tray first"
        )


def _answer(handler: Handler, command: str) -> dict[str, Any]:
    if command not in COMMANDS:
        return {"ok": False, "error": f"unknown command {command!r}: expected one of {', '.join(COMMANDS)}"}
    try:
        return {"ok": True, **handler(command)}
    except Exception as error:
        log.exception("control command %s failed", command)
        return {"ok": False, "error": str(error)}
