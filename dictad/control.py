"""The control socket: ``dictad toggle|start|stop|cancel|status|recent|reload|quit`` talk to the running daemon.

This is how Wayland users, whose compositors allow no global key grabs, bind dictation
to a compositor shortcut. One line in, one JSON line out, over a Unix socket that only
the user can reach (0600 in a 0700 directory under the runtime dir).

``follow`` (``dictad status --follow``, for bars without a tray) is the one request that keeps
its connection: one JSON line now and one per change of the state record, until either side
leaves. ``follow text`` adds the last dictated text to each line.

The socket is bounded, so that no client (a buggy bar script, a flood) can take the daemon's memory or
threads: a request is one short line, a client that sends none in time is dropped, and connections beyond
``MAX_CONNECTIONS`` at once are refused with a line that says so.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dictad.control_client import NotRunning, send_command, socket_path

if TYPE_CHECKING:
    from dictad.state import StatusRecord

COMMANDS = ("toggle", "start", "stop", "cancel", "status", "recent", "reload", "quit")
MAX_REQUEST_BYTES = 64
"""The longest request is "follow text": 64 bytes is plenty, and all a client may make the daemon read."""
REQUEST_TIMEOUT_S = 2.0
"""A command is sent as soon as the connection opens: a client silent this long is dropped."""
MAX_CONNECTIONS = 64
"""Connections served at once, ``follow`` ones included: a thread each."""
FOLLOW_REQUESTS = {"follow": False, "follow text": True}
"""The requests that keep the connection, and whether their lines carry the last text."""
log = logging.getLogger(__name__)

Handler = Callable[[str], dict[str, Any]]


class AlreadyRunning(RuntimeError):
    """Another dictad answers on the control socket."""


class ControlServer:
    """Serves the control socket in a background thread, calling ``handler(command)`` for each line."""

    def __init__(self, handler: Handler, path: Path | None = None):
        self.path = path or socket_path()
        self._handler = handler
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._followers = _Followers(handler)

    @property
    def followers(self) -> int:
        """How many ``follow`` clients are connected."""
        return self._followers.count()

    def watch(self, record: StatusRecord) -> None:
        """Send ``follow`` clients a line at each change of ``record``; until this is called (the
        model still loading) they have the handler's status line, then the daemon's at once."""
        self._followers.watch(record)

    def start(self) -> None:
        self._claim_path()
        handler, followers = self._handler, self._followers

        class _Connection(socketserver.StreamRequestHandler):
            timeout = REQUEST_TIMEOUT_S

            def handle(self) -> None:
                try:
                    line = _read_request(self.connection)
                except TimeoutError:
                    _refuse(self.connection, f"no request within {REQUEST_TIMEOUT_S:g} s")
                    return
                if len(line) > MAX_REQUEST_BYTES:
                    _refuse(self.connection, f"a request is one line of at most {MAX_REQUEST_BYTES} bytes: "
                                             f"one of {', '.join((*COMMANDS, *FOLLOW_REQUESTS))}")
                    return
                command = line.decode(errors="replace").strip()
                if command in FOLLOW_REQUESTS:
                    self.connection.settimeout(None)
                    followers.serve(self.connection, FOLLOW_REQUESTS[command])
                    return
                answer = json.dumps(_answer(handler, command)).encode() + b"\n"
                try:
                    self.wfile.write(answer)
                except OSError:  # the client stopped waiting (or reading): it says so itself
                    log.debug("%s: the client left before the answer", command)

        old_umask = os.umask(0o177)
        try:
            self._server = _BoundedServer(str(self.path), _Connection)
        finally:
            os.umask(old_umask)
        threading.Thread(target=self._server.serve_forever, name="dictad-control", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._followers.close()
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


class _BoundedServer(socketserver.ThreadingUnixStreamServer):
    """A thread per connection, up to ``MAX_CONNECTIONS`` at once; one more is told so and closed."""

    daemon_threads = True

    def __init__(self, path: str, handler_class: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(path, handler_class)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse(request, f"too many connections ({MAX_CONNECTIONS} open): try again in a moment")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _read_request(connection: socket.socket) -> bytes:
    """The request line (at most one byte over ``MAX_REQUEST_BYTES``), within ``REQUEST_TIMEOUT_S``
    in all: a client that sends a byte at a time is held no longer than a silent one. Raises
    TimeoutError at that deadline."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    received = b""
    while b"\n" not in received and len(received) <= MAX_REQUEST_BYTES:
        connection.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = connection.recv(MAX_REQUEST_BYTES + 1 - len(received))
        if not chunk:
            break
        received += chunk
    return received.partition(b"\n")[0] if b"\n" in received else received


def _refuse(connection: socket.socket, why: str) -> None:
    """Say ``why`` in one error line, without waiting for a client that does not read."""
    try:
        line = json.dumps({"ok": False, "error": why}).encode() + b"\n"
        connection.send(line, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    except OSError:
        pass


class _Follower:
    """One ``follow`` connection, and the last line it was sent (a line that did not change is not sent)."""

    def __init__(self, connection: socket.socket, with_text: bool):
        self.connection = connection
        self.with_text = with_text
        self.last_line = b""

    def send(self, description: dict[str, Any]) -> bool:
        """Send the line for ``description`` if it changed; False if it could not go whole at once.
        The send never waits: a client that stops reading must not hold up the daemon."""
        line = self._line(description)
        if line == self.last_line:
            return True
        try:
            sent = self.connection.send(line, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
        except OSError:  # its buffer is full, or it has gone
            return False
        self.last_line = line
        return sent == len(line)

    def _line(self, description: dict[str, Any]) -> bytes:
        """The text's length always, the text itself only when asked for: a bar shows what it is given."""
        fields = {key: value for key, value in description.items() if key != "last_text"}
        fields["last_text_chars"] = len(description["last_text"])
        if self.with_text:
            fields["last_text"] = description["last_text"]
        return json.dumps(fields, ensure_ascii=False).encode() + b"\n"

    def drop(self) -> None:
        """End the connection: its thread, waiting for the client to leave, wakes and ends."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Followers:
    """The open ``follow`` connections; every line goes out under one lock, so each client gets the
    changes in order and never a line older than one it already has.

    The lines are made from the handler's ``status`` and ``recent`` answers, which only read; they are
    made under the state record's lock (when it calls), so the handler must never wait for that lock
    from another thread."""

    def __init__(self, handler: Handler):
        self._handler = handler
        self._lock = threading.Lock()
        self._open: list[_Follower] = []
        self._unwatch: Callable[[], None] | None = None
        self._closed = False

    def count(self) -> int:
        with self._lock:
            return len(self._open)

    def watch(self, record: StatusRecord) -> None:
        self._unwatch = record.watch(lambda status, shown: self.send_all())
        self.send_all()

    def serve(self, connection: socket.socket, with_text: bool) -> None:
        """Keep ``connection`` until the client leaves or is dropped; this thread only waits for that."""
        follower = _Follower(connection, with_text)
        with self._lock:
            if self._closed or not follower.send(_describe(self._handler)):
                return
            self._open.append(follower)
        try:
            while connection.recv(1024):  # a follower has nothing more to say: what it sends is ignored
                pass
        except OSError:
            pass
        finally:
            self._leave(follower)

    def send_all(self) -> None:
        """Send each follower the current line; drop those that cannot take it at once."""
        with self._lock:
            if not self._open:
                return
            description = _describe(self._handler)
            for follower in list(self._open):
                if not follower.send(description):
                    log.debug("dropped a `follow` client that fell behind or went away")
                    follower.drop()
                    self._open.remove(follower)

    def _leave(self, follower: _Follower) -> None:
        """Once this returns, no line is sent to ``follower``'s connection: it may be closed."""
        with self._lock:
            if follower in self._open:
                self._open.remove(follower)

    def close(self) -> None:
        """The server stops: stop watching, and end every connection (each client sees the daemon go)."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        with self._lock:
            self._closed = True
            for follower in self._open:
                follower.drop()
            self._open.clear()


def _describe(handler: Handler) -> dict[str, Any]:
    """What ``dictad status`` says, with the last dictated text ("" when none yet) for the lines to use."""
    description = {key: value for key, value in _answer(handler, "status").items() if key != "ok"}
    recent = _answer(handler, "recent").get("recent") or []
    description["last_text"] = recent[0] if recent else ""
    return description


def _answer(handler: Handler, command: str) -> dict[str, Any]:
    if command not in COMMANDS:
        expected = ", ".join((*COMMANDS, *FOLLOW_REQUESTS))
        return {"ok": False, "error": f"unknown command {command!r}: expected one of {expected}"}
    try:
        return {"ok": True, **handler(command)}
    except Exception as error:
        log.exception("control command %s failed", command)
        return {"ok": False, "error": str(error)}
