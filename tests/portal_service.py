"""A stand-in xdg-desktop-portal: org.freedesktop.portal.Desktop on a real, private session bus.

No desktop with these portals can run here (KDE and GNOME do not start headless on this
machine), so this stands in for xdg-desktop-portal, and only for it: dictad's backends talk to
it through a real dbus-daemon, started by ``private_session_bus``. It speaks the documented
interfaces (https://flatpak.github.io/xdg-desktop-portal/docs/), written here with jeepney:

- ``Properties.Get``: each offered interface's ``version`` (2), RemoteDesktop's
  ``AvailableDeviceTypes`` (7); an interface it does not offer is GDBus's InvalidArgs.
- Requests get the handle ``/org/freedesktop/portal/desktop/request/SENDER/TOKEN`` from the
  caller's ``handle_token``; ``Response`` goes to the caller alone after the method's reply, as
  xdg-desktop-portal sends it (or before it, with ``answer_before_reply``). ``answers`` scripts a
  method's response code: 0 (the default) success, 1 the user cancelled, None never answered.
- GlobalShortcuts: CreateSession, BindShortcuts (every shortcut bound, its preferred trigger as
  its trigger description); ``emit`` sends Activated/Deactivated to the session that bound them.
- RemoteDesktop: CreateSession, SelectDevices, Start (a permission "dialog" unless a valid
  restore token was selected; tokens are single use, and a new one comes with each Start when
  ``persist_mode`` is 2), NotifyKeyboardKeysym (only on a started session with the keyboard).

It records what it was sent: ``calls`` (method, body), ``keysyms`` and ``dialogs``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jeepney import (DBusAddress, HeaderFields, Message, MessageType, message_bus, new_error, new_method_return,
                     new_signal)
from jeepney.io.blocking import open_dbus_connection

PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
IFACE = "org.freedesktop.portal."
DEVICE_TYPES = 7  # keyboard, pointer, touchscreen
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={directory}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def private_session_bus() -> Iterator[str]:
    """A dbus-daemon of its own (no service files: nothing is activated), ended by its PID; yields the address."""
    directory = tempfile.mkdtemp(prefix="dictad-bus-")  # short: a socket path has 108 bytes at most
    Path(directory, "bus.conf").write_text(_BUS_CONFIG.format(directory=directory))
    daemon = subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={directory}/bus.conf", "--print-address=1"],
                              stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([daemon.stdout], [], [], 10)
        assert ready, "dbus-daemon printed no address within 10 s"
        yield daemon.stdout.readline().strip()
    finally:
        os.kill(daemon.pid, 15)
        daemon.wait(timeout=10)
        daemon.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class _Session:
    sender: str
    interface: str
    devices: dict[str, Any] = field(default_factory=dict)  # SelectDevices' options, unwrapped
    started: bool = False
    shortcuts: list[str] = field(default_factory=list)


class PortalError(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name


class PortalService:
    """The stand-in portal, serving on its own connection and thread until ``stop()``."""

    def __init__(self, address: str, interfaces: tuple[str, ...] = ("GlobalShortcuts", "RemoteDesktop"),
                 answers: dict[str, int | None] | None = None, answer_before_reply: bool = False) -> None:
        self.interfaces = interfaces
        self.answers = answers or {}
        self.answer_before_reply = answer_before_reply
        self.calls: list[tuple[str, tuple]] = []
        self.keysyms: list[tuple[int, int]] = []
        self.dialogs = 0
        self.tokens_issued: list[str] = []
        self._valid_tokens: set[str] = set()
        self._sessions: dict[str, _Session] = {}
        self._send_lock = threading.Lock()
        self._connection = open_dbus_connection(address)
        reply = self._connection.send_and_get_reply(message_bus.RequestName(PORTAL, 4), timeout=5)  # do not queue
        assert reply.body == (1,), f"could not own {PORTAL}: {reply.body}"
        self._thread = threading.Thread(target=self._serve, name="portal-service", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._connection.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._connection.close()

    def calls_of(self, method: str) -> list[tuple]:
        return [body for name, body in self.calls if name == method]

    def emit(self, signal: str, shortcut_id: str = "dictate") -> None:
        """Activated or Deactivated of ``shortcut_id``, to the latest session that bound shortcuts."""
        path, session = next((path, session) for path, session in reversed(self._sessions.items())
                             if session.shortcuts)
        message = new_signal(DBusAddress(PATH, interface=IFACE + "GlobalShortcuts"), signal, "osta{sv}",
                             (path, shortcut_id, 1000, {}))
        self._send(message, to=session.sender)

    def _serve(self) -> None:
        while True:
            try:
                message = self._connection.receive()
            except (OSError, ValueError):
                return
            if message.header.message_type == MessageType.method_call:
                self._handle(message)

    def _handle(self, message: Message) -> None:
        fields = message.header.fields
        interface, member = fields.get(HeaderFields.interface, ""), fields[HeaderFields.member]
        self.calls.append((member, message.body))
        handler = self._handlers().get((interface, member))
        if handler is None:
            self._send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no {member}",)))
            return
        try:
            handler(message)
        except PortalError as failure:
            self._send(new_error(message, failure.name, "s", (str(failure),)))

    def _handlers(self) -> dict[tuple[str, str], Callable[[Message], None]]:
        """(interface, method) -> handler, for the offered interfaces only."""
        offered = {
            "GlobalShortcuts": {"CreateSession": self._create_session, "BindShortcuts": self._bind_shortcuts},
            "RemoteDesktop": {"CreateSession": self._create_session, "SelectDevices": self._select_devices,
                              "Start": self._start, "NotifyKeyboardKeysym": self._notify_keysym},
        }
        handlers = {(IFACE + name, method): handler for name in self.interfaces
                    for method, handler in offered[name].items()}
        handlers[("org.freedesktop.DBus.Properties", "Get")] = self._get_property
        handlers[(IFACE + "Session", "Close")] = self._close_session
        handlers[(IFACE + "Request", "Close")] = lambda message: None  # no reply: ours are sent without wanting one
        return handlers

    def _get_property(self, message: Message) -> None:
        interface, name = message.body
        values = {"version": ("u", 2), "AvailableDeviceTypes": ("u", DEVICE_TYPES)}
        if not interface.startswith(IFACE) or interface[len(IFACE):] not in self.interfaces or name not in values:
            raise PortalError("org.freedesktop.DBus.Error.InvalidArgs", f"No such interface or property {interface}")
        self._send(new_method_return(message, "v", (values[name],)))

    def _create_session(self, message: Message) -> None:
        (options,) = message.body
        path = f"{PATH}/session/{_path_part(message)}/{options['session_handle_token'][1]}"
        interface = message.header.fields[HeaderFields.interface]
        self._sessions[path] = _Session(message.header.fields[HeaderFields.sender], interface)
        self._answer(message, options, lambda: {"session_handle": ("s", path)})

    def _bind_shortcuts(self, message: Message) -> None:
        path, shortcuts, _parent_window, options = message.body
        session = self._session(path, message)

        def bound() -> dict[str, tuple[str, Any]]:
            session.shortcuts = [shortcut_id for shortcut_id, _ in shortcuts]
            described = [(shortcut_id, {"description": info["description"],
                                        "trigger_description": ("s", info.get("preferred_trigger", ("s", ""))[1])})
                         for shortcut_id, info in shortcuts]
            return {"shortcuts": ("a(sa{sv})", described)}

        self._answer(message, options, bound)

    def _select_devices(self, message: Message) -> None:
        path, options = message.body
        self._session(path, message).devices = {key: value for key, (_, value) in options.items()}
        self._answer(message, options, dict)

    def _start(self, message: Message) -> None:
        path, _parent_window, options = message.body
        session = self._session(path, message)
        token = session.devices.get("restore_token")
        restored = token in self._valid_tokens
        self._valid_tokens.discard(token)  # single use, whatever comes of it
        if not restored:
            self.dialogs += 1

        def started() -> dict[str, tuple[str, Any]]:
            session.started = True
            results = {"devices": ("u", session.devices.get("types", DEVICE_TYPES))}
            if session.devices.get("persist_mode") == 2:
                self.tokens_issued.append(new := f"token-{len(self.tokens_issued) + 1}")
                self._valid_tokens.add(new)
                results["restore_token"] = ("s", new)
            return results

        self._answer(message, options, started)

    def _notify_keysym(self, message: Message) -> None:
        path, _options, keysym, state = message.body
        session = self._session(path, message)
        if not session.started or not session.devices.get("types", DEVICE_TYPES) & 1:
            raise PortalError("org.freedesktop.portal.Error.NotAllowed", "the session has no keyboard access")
        self.keysyms.append((keysym, state))
        self._send(new_method_return(message))

    def _close_session(self, message: Message) -> None:
        self._sessions.pop(message.header.fields[HeaderFields.path], None)
        self._send(new_method_return(message))

    def _session(self, path: str, message: Message) -> _Session:
        session = self._sessions.get(path)
        if session is None or session.sender != message.header.fields[HeaderFields.sender]:
            raise PortalError("org.freedesktop.portal.Error.NotAllowed", f"no session {path} of this caller")
        return session

    def _answer(self, message: Message, options: dict, results: Callable[[], dict]) -> None:
        """Reply with the request handle, and send the scripted Response (results only on success)."""
        method = message.header.fields[HeaderFields.member]
        handle = f"{PATH}/request/{_path_part(message)}/{options['handle_token'][1]}"
        code = self.answers.get(method, 0)
        reply = new_method_return(message, "o", (handle,))
        if code is None:
            self._send(reply)
            return
        response = new_signal(DBusAddress(handle, interface="org.freedesktop.portal.Request"), "Response", "ua{sv}",
                              (code, results() if code == 0 else {}))
        first, then = (response, reply) if self.answer_before_reply else (reply, response)
        sender = message.header.fields[HeaderFields.sender]
        self._send(first, to=sender)
        self._send(then, to=sender)

    def _send(self, message: Message, to: str | None = None) -> None:
        if to is not None:
            message.header.fields[HeaderFields.destination] = to
        with self._send_lock:
            self._connection.send(message)


def _path_part(message: Message) -> str:
    """The caller's unique name as portal paths spell it: ":1.42" -> "1_42"."""
    return message.header.fields[HeaderFields.sender].lstrip(":").replace(".", "_")
