"""The XDG desktop portal (org.freedesktop.portal.Desktop) over the session bus, for KDE and GNOME.

Shared by the GlobalShortcuts hotkey and the RemoteDesktop keyboard. jeepney, blocking: pure
Python, no GLib loop, one connection per backend, used by one thread at a time.

Every call is bounded (``CALL_TIMEOUT_S``, or the caller's own bound where a dialog may show):
a portal that hangs must cost a delivery seconds, never the daemon (OpenWhispr #1614). A
request's ``Response`` is subscribed to on its predicted path before the call, so that a quick
answer cannot slip past; each failure is one ``PortalUnavailable`` naming the portal and why.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections import deque
from typing import Any

from jeepney import (DBusAddress, DBusErrorResponse, HeaderFields, MatchRule, Message, MessageFlag, message_bus,
                     new_method_call)
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from dictad.desktop.choosing import Unavailable
from dictad.desktop.session import NO_SESSION_BUS, Session

PORTAL_BUS_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
CALL_TIMEOUT_S = 3.0
"""A call that shows no dialog answers in milliseconds; OpenWhispr bounds each one to 3 s too."""
_TOKEN_PREFIX = "dictad_"
_NO_PORTAL_ERRORS = ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner")
_REFUSALS = {1: "the user cancelled it", 2: "the portal ended it without success"}

Options = dict[str, tuple[str, Any]]  # a{sv} as jeepney spells it: {"types": ("u", 1)}


class PortalUnavailable(Unavailable):
    """A portal cannot serve here; the message names the portal and says why."""


def why_not_portal(session: Session) -> str | None:
    """The cheap check of the portal backends (no D-Bus call): a Wayland session with a session bus.
    On X11 the X backends serve without any permission dialog."""
    if session.kind != "wayland":
        return "not a Wayland session (the desktop portal serves KDE and GNOME on Wayland)"
    if not session.session_bus:
        return NO_SESSION_BUS
    return None


class Portal:
    """One connection to the session bus at ``bus``, talking to one portal interface (``name``: "RemoteDesktop")."""

    def __init__(self, name: str, bus: str) -> None:
        self.name = name
        self._bus = bus
        self.interface = f"org.freedesktop.portal.{name}"
        self._address = DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME, self.interface)
        self._connection = self._connect()
        try:
            self.version = int(self.property("version"))
        except PortalUnavailable:
            self.close()
            raise

    def error(self, why: str) -> PortalUnavailable:
        return PortalUnavailable(f"{self.name} portal: {why}")

    def property(self, name: str) -> Any:
        """A property of the interface; a portal without it is "unavailable", with the reason."""
        properties = DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME, "org.freedesktop.DBus.Properties")
        try:
            return self._reply(new_method_call(properties, "Get", "ss", (self.interface, name)), CALL_TIMEOUT_S)[0][1]
        except DBusErrorResponse as failure:
            if failure.name in _NO_PORTAL_ERRORS:
                raise self.error("no desktop portal on the session bus (is xdg-desktop-portal installed?)") from None
            raise self.error(f"the desktop portal has no {self.interface} ({failure.name}): "
                             "this desktop's portal backend does not offer it") from None

    def call(self, method: str, signature: str, body: tuple, timeout_s: float = CALL_TIMEOUT_S) -> tuple:
        """A method of the interface; its reply's body."""
        try:
            return self._reply(new_method_call(self._address, method, signature, body), timeout_s)
        except DBusErrorResponse as failure:
            raise self.error(f"{method} failed: {failure.name}: {' '.join(map(str, failure.data))}") from None

    def request(self, method: str, signature: str, args: tuple, options: Options, timeout_s: float,
                what: str = "") -> dict[str, Any]:
        """A method answered by a Request's Response signal: its results (variants unwrapped), or
        PortalUnavailable when the answer is not success or does not come within ``timeout_s``."""
        token = f"{_TOKEN_PREFIX}{secrets.token_hex(8)}"
        predicted = f"{PORTAL_PATH}/request/{self._sender_part()}/{token}"
        rules = [self._response_rule(predicted)]
        with self._connection.filter(self._response_rule(), queue=deque()) as responses:
            try:
                self._send_quietly(message_bus.AddMatch(rules[0]))
                (handle,) = self.call(method, signature, (*args, {**options, "handle_token": ("s", token)}))
                if handle != predicted:  # a portal older than 0.9 chose its own path
                    rules.append(self._response_rule(handle))
                    self._send_quietly(message_bus.AddMatch(rules[-1]))
                code, results = self._await_response(responses, handle, timeout_s, what or method)
            finally:
                for rule in rules:
                    self._send_quietly(message_bus.RemoveMatch(rule))
        if code != 0:
            raise self.error(f"{what or method} was refused: {_REFUSALS.get(code, f'response {code}')}")
        return {key: value for key, (_, value) in results.items()}

    def create_session(self) -> str:
        """A new portal session's handle (it ends when this connection closes)."""
        token = f"{_TOKEN_PREFIX}{secrets.token_hex(8)}"
        results = self.request("CreateSession", "a{sv}", (), {"session_handle_token": ("s", token)}, CALL_TIMEOUT_S)
        return str(results["session_handle"])

    def signals(self) -> deque[Message]:
        """A queue that the interface's signals go into from now on, as ``next_signal`` reads them."""
        rule = MatchRule(type="signal", interface=self.interface, path=PORTAL_PATH)
        queue: deque[Message] = deque()
        self._connection.filter(rule, queue=queue)
        self._send_quietly(message_bus.AddMatch(rule))
        return queue

    def next_signal(self, queue: deque[Message]) -> Message:
        """Wait for the next signal into ``queue``; raises OSError once ``interrupt()`` was called."""
        return self._connection.recv_until_filtered(queue)

    def interrupt(self) -> None:
        """Wake the thread in ``next_signal`` (it raises): shutting the socket down is what reaches it."""
        try:
            self._connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Disconnect; the portal closes this connection's sessions (the Session interface says so)."""
        self.interrupt()
        self._connection.close()

    def _connect(self) -> DBusConnection:
        if not self._bus:
            raise self.error(NO_SESSION_BUS)
        try:
            return open_dbus_connection(self._bus, auth_timeout=CALL_TIMEOUT_S)
        except (OSError, RuntimeError, ValueError) as failure:
            raise self.error(f"cannot connect to the D-Bus session bus at {self._bus}: {failure}") from None

    def _reply(self, message: Message, timeout_s: float) -> tuple:
        """Send ``message`` and return its reply's body; raises DBusErrorResponse for an error reply."""
        member = message.header.fields[HeaderFields.member]
        try:
            reply = self._connection.send_and_get_reply(message, timeout=timeout_s)
        except TimeoutError:
            raise self.error(f"no answer to {member} within {timeout_s:g} s") from None
        except OSError as failure:
            raise self.error(f"lost the session bus during {member}: {failure}") from None
        if reply.header.fields.get(HeaderFields.error_name):
            raise DBusErrorResponse(reply)
        return reply.body

    def _await_response(self, responses: deque[Message], handle: str, timeout_s: float, what: str
                        ) -> tuple[int, dict[str, tuple[str, Any]]]:
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                message = self._connection.recv_until_filtered(responses, timeout=max(deadline - time.monotonic(), 0))
                if message.header.fields.get(HeaderFields.path) == handle:
                    return message.body
        except TimeoutError:
            self._send_quietly(new_method_call(DBusAddress(handle, PORTAL_BUS_NAME, REQUEST_INTERFACE), "Close"))
            raise self.error(f"no answer to {what} within {timeout_s:g} s") from None
        except OSError as failure:
            raise self.error(f"lost the session bus while waiting for {what}: {failure}") from None

    def _send_quietly(self, message: Message) -> None:
        """Send without awaiting a reply (match rules, Close): nothing to wait for, nothing to fail on.
        xdg-desktop-portal sends its signals to us alone, and those reach us without a match rule."""
        message.header.flags |= MessageFlag.no_reply_expected
        try:
            self._connection.send(message)
        except OSError:
            pass

    def _sender_part(self) -> str:
        """Our unique name as a request path puts it: ":1.42" -> "1_42"."""
        return str(self._connection.unique_name).lstrip(":").replace(".", "_")

    @staticmethod
    def _response_rule(path: str | None = None) -> MatchRule:
        return MatchRule(type="signal", interface=REQUEST_INTERFACE, member="Response", path=path)
