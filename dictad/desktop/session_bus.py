"""Whether a service is on the D-Bus session bus (jeepney, blocking, bounded); the bus's address is
the session's (``Session.session_bus``)."""

from __future__ import annotations

ASK_TIMEOUT_S = 1.0


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
