"""The control socket's client side: what `dictad start|stop|toggle|cancel|status` send.

Apart from the server (``dictad.control``) so that the `dictad stop` a compositor runs on every
key release imports only the standard library's socket and json (bench/wayland_latency.py).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class NotRunning(RuntimeError):
    """No dictad answers on the control socket."""


class Refused(RuntimeError):
    """The running dictad answered a request with an error."""


def socket_path() -> Path:
    """``$XDG_RUNTIME_DIR/dictad/control.sock`` on Linux, which is platformdirs' answer there, read
    without importing it; otherwise (no XDG_RUNTIME_DIR, another system) platformdirs'."""
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform.startswith("linux") and runtime_dir.strip():
        return Path(runtime_dir) / "dictad" / "control.sock"
    import warnings

    import platformdirs

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (over ssh, in a bare X session) platformdirs falls back to
        # /tmp/runtime-UID and warns with a Python warning; dictad's own messages name the path.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        return Path(platformdirs.user_runtime_dir("dictad", ensure_exists=False)) / "control.sock"


def send_command(command: str, path: Path | None = None, timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one command to the running daemon and return its answer."""
    path = path or socket_path()
    with _connect(path, timeout_s) as client:
        client.sendall(command.encode() + b"\n")
        answer = client.makefile("rb").readline()
    if not answer:
        raise NotRunning(f"dictad closed the control socket {path} without answering")
    return json.loads(answer)


def follow(with_text: bool = False, path: Path | None = None) -> Iterator[dict[str, Any]]:
    """Yield the running daemon's status lines as they come, the current one first; the end of the
    iteration is the daemon going away (a torn last line too: it dropped a reader that fell behind)."""
    path = path or socket_path()
    request = "follow text" if with_text else "follow"
    with _connect(path, timeout_s=5.0) as client:
        client.sendall(request.encode() + b"\n")
        client.settimeout(None)  # a line comes when the state changes, however long that takes
        for line in client.makefile("rb"):
            if not line.endswith(b"\n"):
                return
            answer = json.loads(line)
            if answer.get("ok") is False:  # a dictad from before `follow`, say
                raise Refused(answer.get("error", "the request was refused"))
            yield answer


def _connect(path: Path, timeout_s: float) -> socket.socket:
    """A connection to the daemon's socket, or NotRunning with what to do about it."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout_s)
    try:
        client.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError) as error:
        client.close()
        raise NotRunning(f"dictad is not running (no answer on {path}): start it with `dictad run`") from error
    except OSError:
        client.close()
        raise
    return client
