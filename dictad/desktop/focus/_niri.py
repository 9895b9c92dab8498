"""The focused window's app id from niri, over its IPC socket ($NIRI_SOCKET).

niri's IPC is one JSON request per line and one JSON reply per line: ``"FocusedWindow"`` answers
``{"Ok": {"FocusedWindow": {...window...} | null}}`` or ``{"Err": "..."}``. Asked directly rather
than through `niri msg`, which would cost a process start on every delivery.
XWayland windows (xwayland-satellite) carry their X11 class as the app id.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from dictad.desktop.focus import FocusUnavailable

REQUEST = b'"FocusedWindow"\n'
TIMEOUT_S = 1.0


class NiriFocus:
    def __init__(self, socket_path: str) -> None:
        self._socket_path = socket_path

    def focused_app(self) -> str:
        window = focused_window(self._ask())
        return (window.get("app_id") or "").lower() if window else ""

    def _ask(self) -> Any:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ipc:
                ipc.settimeout(TIMEOUT_S)
                ipc.connect(self._socket_path)
                ipc.sendall(REQUEST)
                return json.loads(ipc.makefile("rb").readline())
        except (OSError, ValueError) as failure:
            raise FocusUnavailable(f"niri's IPC socket {self._socket_path} did not answer: {failure}") from failure


def focused_window(reply: Any) -> dict[str, Any] | None:
    """The window in niri's reply to FocusedWindow; None when no window has the focus."""
    if not isinstance(reply, dict) or "Ok" not in reply:
        error = reply.get("Err") if isinstance(reply, dict) else reply
        raise FocusUnavailable(f"niri refused FocusedWindow: {error}")
    return (reply["Ok"] or {}).get("FocusedWindow")
