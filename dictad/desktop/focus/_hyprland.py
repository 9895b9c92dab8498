"""The focused window's class on Hyprland, from ``hyprctl activewindow -j``.

Hyprland's "class" is the Wayland app id (the X11 class for XWayland windows). One hyprctl run
takes a few milliseconds, once per delivery.
"""

from __future__ import annotations

import json
import subprocess

from dictad.desktop.focus import FocusUnavailable

TIMEOUT_S = 1.0


class HyprlandFocus:
    def focused_app(self) -> str:
        try:
            done = subprocess.run(["hyprctl", "activewindow", "-j"], capture_output=True, text=True, timeout=TIMEOUT_S)
            window = json.loads(done.stdout or "{}") if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError) as failure:
            raise FocusUnavailable(f"hyprctl did not say which window has the focus: {failure}") from failure
        if window is None:
            raise FocusUnavailable(f"hyprctl activewindow failed: {done.stderr.strip() or done.returncode}")
        names = dict.fromkeys(name.lower() for name in (window.get("initialClass"), window.get("class")) if name)
        return "/".join(names)
