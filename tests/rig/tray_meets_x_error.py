"""A tray whose loop meets an X error, as when a panel restarts. ``python -m
tests.rig.tray_meets_x_error`` on a display with a tray host prints "stopped" if the tray
outlived the error and stopped normally.

The panel's death destroys the icon's window before GTK hears of it, and GTK's next tooltip or
menu asks the X server about that window. Here a window is destroyed behind GTK's back and the
same question (where it is on the screen: request TranslateCoordinates) asked in the tray's loop.
"""

from __future__ import annotations

import gi
from Xlib import X
from Xlib.display import Display

from dictad.desktop.tray import TrayIcon
from tests.test_tray import FakeDaemon, make_tray

gi.require_version("GdkX11", "3.0")


def ask_about_a_window_that_went_away(tray: TrayIcon) -> None:
    from gi.repository import Gdk, GdkX11

    other_client = Display()
    window = other_client.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
    other_client.sync()
    seen_by_gtk = GdkX11.X11Window.foreign_new_for_display(Gdk.Display.get_default(), window.id)
    window.destroy()
    other_client.sync()
    seen_by_gtk.get_origin()
    tray.stop()


def main() -> None:
    tray = make_tray(FakeDaemon(), name="dictad-x-error")
    tray.run(lambda: ask_about_a_window_that_went_away(tray))
    print("stopped")


if __name__ == "__main__":
    main()
