"""Notifications over the session bus (org.freedesktop.Notifications), with dictad's error icon."""

from __future__ import annotations

import logging

from dictad.icons import icon_file

log = logging.getLogger(__name__)

NOTIFY_TIMEOUT_MS = 3000


class DbusNotifier:
    def __init__(self, app_name: str) -> None:
        self._app_name = app_name

    def notify(self, message: str) -> None:
        try:
            self._send(message)
        except Exception as failure:  # a notification is never worth a crash
            log.warning("desktop notification not shown (%s): %s", failure, message)

    def _send(self, message: str) -> None:
        """A private connection per notification: GIO's shared session connection would end the
        whole process if the bus went away."""
        from gi.repository import Gio, GLib

        address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        bus = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        icon_path = str(icon_file("error"))
        name = self._app_name
        try:
            bus.call_sync(
                "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications", "Notify",
                GLib.Variant("(susssasa{sv}i)", (name, 0, icon_path, name, message, [], {}, -1)),
                GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, NOTIFY_TIMEOUT_MS, None)
        finally:
            bus.close_sync(None)
