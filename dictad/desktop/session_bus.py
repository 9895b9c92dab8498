"""The D-Bus session bus: where it is, and whether a service is on it (jeepney, blocking, bounded)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

NO_SESSION_BUS = "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
ASK_TIMEOUT_S = 1.0


def session_bus_address(environ: Mapping[str, str] = os.environ) -> str | None:
    """DBUS_SESSION_BUS_ADDRESS, or systemd's per-user bus socket (jeepney looks only at the variable)."""
    if address := environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return address
    runtime_dir = environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir and Path(runtime_dir, "bus").exists():
        return f"unix:path={Path(runtime_dir, 'bus')}"
    return None


def why_no_service(name: str, address: str) -> str | None:
    """None when ``name`` is owned on the session bus at ``address``; otherwise why it cannot be reached."""
    from jeepney import message_bus
    from jeepney.io.blocking import open_dbus_connection

    try:
        with open_dbus_connection(address, auth_timeout=ASK_TIMEOUT_S) as bus:
            (owned,) = bus.send_and_get_reply(message_bus.NameHasOwner(name), timeout=ASK_TIMEOUT_S).body
    except (OSError, RuntimeError, ValueError, TimeoutError) as failure:
        return f"the D-Bus session bus at {address} did not answer: {failure}"
    return None if owned else f"nothing owns {name} on the session bus"
