"""The focused window's app id from sway, over its IPC socket ($SWAYSOCK).

sway speaks i3's IPC: a "i3-ipc" magic, the payload's length and the message type, then JSON.
GET_TREE is one round trip of a few milliseconds; the standard library does it, so no i3ipc package.
XWayland windows have no app id: their X11 instance and class name them instead.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from dictad.desktop.focus import FocusUnavailable

MAGIC = b"i3-ipc"
GET_TREE = 4
_HEADER = struct.Struct("=II")
TIMEOUT_S = 1.0


class SwayFocus:
    def __init__(self, socket_path: str) -> None:
        self._socket_path = socket_path

    def focused_app(self) -> str:
        node = focused_node(self._ask(GET_TREE))
        return app_names(node) if node else ""

    def _ask(self, message_type: int) -> Any:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ipc:
                ipc.settimeout(TIMEOUT_S)
                ipc.connect(self._socket_path)
                ipc.sendall(MAGIC + _HEADER.pack(0, message_type))
                length, _ = _HEADER.unpack(_read(ipc, len(MAGIC) + _HEADER.size)[len(MAGIC):])
                return json.loads(_read(ipc, length))
        except (OSError, ValueError) as failure:
            raise FocusUnavailable(f"sway's IPC socket {self._socket_path} did not answer: {failure}") from failure


def focused_node(tree: dict[str, Any]) -> dict[str, Any] | None:
    """The node with ``focused: true`` (a window, or a workspace when it is empty)."""
    if tree.get("focused"):
        return tree
    for child in tree.get("nodes", []) + tree.get("floating_nodes", []):
        found = focused_node(child)
        if found:
            return found
    return None


def app_names(node: dict[str, Any]) -> str:
    """"app_id" for a Wayland window, "instance/class" for an XWayland one, lower case; "" for
    anything else (an empty workspace has the focus)."""
    if node.get("app_id"):
        return node["app_id"].lower()
    properties = node.get("window_properties") or {}
    return "/".join(properties[name].lower() for name in ("instance", "class") if properties.get(name))


def _read(ipc: socket.socket, size: int) -> bytes:
    received = b""
    while len(received) < size:
        chunk = ipc.recv(size - len(received))
        if not chunk:
            raise ValueError("the socket closed mid-answer")
        received += chunk
    return received
