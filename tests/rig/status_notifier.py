"""What a StatusNotifier host (swaybar, Waybar, Plasma) reads of a tray item over the session bus:
the watcher's list of items, an item's properties, and its menu through com.canonical.dbusmenu,
whose entries a host clicks with an Event call. jeepney, the way dictad's portal code talks D-Bus."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from jeepney import DBusAddress, Properties, message_bus, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

WATCHER = DBusAddress("/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher", "org.kde.StatusNotifierWatcher")
ITEM_INTERFACE = "org.kde.StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
TIMEOUT_S = 5.0


@dataclass
class MenuEntry:
    id: int
    label: str
    toggle_state: int | None  # 1 checked, 0 not, None: not a check or radio item
    enabled: bool
    children: list[MenuEntry]

    def find(self, label: str) -> MenuEntry:
        for child in self.children:
            if child.label == label:
                return child
        raise AssertionError(f"no {label!r} in the menu: {[child.label for child in self.children]}")


class StatusNotifierHost:
    def __init__(self) -> None:
        self._bus: DBusConnection = open_dbus_connection("SESSION")

    def close(self) -> None:
        self._bus.close()

    def has_watcher(self) -> bool:
        (owned,) = self._call(message_bus.NameHasOwner(WATCHER.bus_name))
        return bool(owned)

    def items(self) -> list[str]:
        """The watcher's registered items, as ":1.5/org/ayatana/NotificationItem/dictad"."""
        return list(self._get(WATCHER, "RegisteredStatusNotifierItems"))

    def item_named(self, item_id: str) -> DBusAddress | None:
        """The registered item whose Id property is ``item_id`` (the tray's name)."""
        for registered in self.items():
            service, _, path = registered.partition("/")
            item = DBusAddress("/" + path, service, ITEM_INTERFACE)
            if self.property(item, "Id") == item_id:
                return item
        return None

    def property(self, item: DBusAddress, name: str) -> Any:
        return self._get(item, name)

    def menu(self, item: DBusAddress) -> MenuEntry:
        menu = self._menu_address(item)
        _revision, layout = self._call(new_method_call(menu, "GetLayout", "iias", (0, -1, [])))
        return _entry(layout)

    def click(self, item: DBusAddress, entry: MenuEntry) -> None:
        menu = self._menu_address(item)
        self._call(new_method_call(menu, "Event", "isvu", (entry.id, "clicked", ("i", 0), int(time.time()))))

    def _menu_address(self, item: DBusAddress) -> DBusAddress:
        return DBusAddress(self.property(item, "Menu"), item.bus_name, MENU_INTERFACE)

    def _get(self, address: DBusAddress, name: str) -> Any:
        (_signature, value), = self._call(Properties(address).get(name))
        return value

    def _call(self, message: Any) -> tuple:
        reply = self._bus.send_and_get_reply(message, timeout=TIMEOUT_S)
        if reply.header.message_type.name == "error":
            raise AssertionError(f"D-Bus error {reply.header.fields}: {reply.body}")
        return reply.body


def _entry(layout: tuple) -> MenuEntry:
    entry_id, properties, children = layout
    values = {name: value for name, (_signature, value) in properties.items()}
    return MenuEntry(entry_id, values.get("label", ""), values.get("toggle-state"), values.get("enabled", True),
                     [_entry(child) for _signature, child in children])
