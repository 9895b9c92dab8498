"""Which desktop session dictad runs in: X11, Wayland (and which compositor or desktop), or none.

Decided here, once, from the environment; every backend chooser asks ``current_session()``
rather than reading DISPLAY, WAYLAND_DISPLAY or the session bus's address itself. A Wayland marker wins over DISPLAY,
since DISPLAY on Wayland is XWayland's, which reaches only XWayland windows.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SessionKind = Literal["x11", "wayland", "none"]

_COMPOSITOR_SOCKETS = (("SWAYSOCK", "sway"), ("HYPRLAND_INSTANCE_SIGNATURE", "hyprland"), ("NIRI_SOCKET", "niri"))
_KNOWN_DESKTOPS = frozenset({
    "sway", "hyprland", "niri", "river", "labwc", "wayfire", "kde", "gnome", "xfce", "cinnamon", "mate",
    "lxqt", "budgie", "cosmic",
})
_READ = ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DISPLAY", "XDG_CURRENT_DESKTOP", "DBUS_SESSION_BUS_ADDRESS",
         "XDG_RUNTIME_DIR", *(name for name, _ in _COMPOSITOR_SOCKETS))
_NOT_X11_OR_WAYLAND = ("win32", "darwin")
NO_SESSION_FIX = "run dictad inside your desktop session (DISPLAY or WAYLAND_DISPLAY must be set)"
NO_SESSION_BUS = "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"


@dataclass(frozen=True)
class Session:
    kind: SessionKind
    desktop: str = ""  # the desktop or compositor, lower case ("sway", "gnome"); "" when unknown
    x_display: str = ""  # DISPLAY: the X server's, or XWayland's on Wayland
    wayland_display: str = ""  # WAYLAND_DISPLAY
    compositor_ipc: str = ""  # the compositor's own: SWAYSOCK's path, HYPRLAND_INSTANCE_SIGNATURE, NIRI_SOCKET
    platform: str = "linux"
    session_bus: str = ""  # the D-Bus session bus's address (portals, notifications, the tray); "" when none

    def describe(self) -> str:
        """For doctor and logs, e.g. "Wayland (sway) on wayland-1, XWayland :0"."""
        if self.platform in _NOT_X11_OR_WAYLAND:
            return f"{self.platform}: no X11 or Wayland session"
        desktop = f" ({self.desktop})" if self.desktop else ""
        if self.kind == "x11":
            return f"X11 display {self.x_display}{desktop}"
        if self.kind == "wayland":
            where = f"on {self.wayland_display}" if self.wayland_display else "(WAYLAND_DISPLAY is not set)"
            xwayland = f", XWayland {self.x_display}" if self.x_display else ""
            return f"Wayland{desktop} {where}{xwayland}"
        return "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def detect_session(environ: Mapping[str, str], platform: str = sys.platform) -> Session:
    """The session that the variables in ``environ`` describe."""
    x_display = environ.get("DISPLAY", "")
    wayland_display = environ.get("WAYLAND_DISPLAY", "")
    if platform in _NOT_X11_OR_WAYLAND:
        return Session("none", platform=platform)
    bus = _session_bus(environ)
    if wayland_display or environ.get("XDG_SESSION_TYPE") == "wayland":
        return Session("wayland", _desktop(environ), x_display, wayland_display, _compositor_ipc(environ), platform,
                       bus)
    if x_display:
        return Session("x11", _desktop(environ), x_display, platform=platform, session_bus=bus)
    return Session("none", platform=platform, session_bus=bus)


def current_session() -> Session:
    """This process's session, detected once for the environment as it is now."""
    return _detected(tuple(os.environ.get(name, "") for name in _READ), sys.platform)


@functools.cache
def _detected(values: tuple[str, ...], platform: str) -> Session:
    return detect_session(dict(zip(_READ, values)), platform)


def _session_bus(environ: Mapping[str, str]) -> str:
    """DBUS_SESSION_BUS_ADDRESS, or systemd's per-user bus socket (jeepney looks only at the variable)."""
    if address := environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return address
    runtime_dir = environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir and Path(runtime_dir, "bus").exists():
        return f"unix:path={Path(runtime_dir, 'bus')}"
    return ""


def _compositor_ipc(environ: Mapping[str, str]) -> str:
    return next((environ[variable] for variable, _ in _COMPOSITOR_SOCKETS if environ.get(variable)), "")


def _desktop(environ: Mapping[str, str]) -> str:
    """A compositor's own socket first; then XDG_CURRENT_DESKTOP's first known name ("ubuntu:GNOME"
    is gnome, "labwc:wlroots" labwc), or its first name when none is known."""
    for variable, compositor in _COMPOSITOR_SOCKETS:
        if environ.get(variable):
            return compositor
    names = [name.lower().removeprefix("x-") for name in environ.get("XDG_CURRENT_DESKTOP", "").split(":") if name]
    return next((name for name in names if name in _KNOWN_DESKTOPS), names[0] if names else "")


def why_no_xwayland(session: Session) -> str | None:
    """Why the X11 windows of this session cannot be reached through XWayland; None when they may be."""
    if session.kind != "wayland":
        return "not a Wayland session"
    if not session.x_display:
        return "no XWayland (DISPLAY is not set in this Wayland session)"
    return None
