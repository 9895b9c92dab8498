"""A Wayland-native GTK 3 window that writes the text it shows into a file every 50 ms, and at each
change of the text a line "time.monotonic() length" into OUT_FILE.changes (for bench/wayland_latency.py).

Usage: python wayland_target.py OUT_FILE APP_ID. The app id is what sway reports for the window.
"""

import os
import sys
import time

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

out, app_id = sys.argv[1], sys.argv[2]
GLib.set_prgname(app_id)
window = Gtk.Window(title="dictad target")
window.set_default_size(600, 300)
view = Gtk.TextView()
window.add(view)
buffer = view.get_buffer()


def dump() -> bool:
    with open(out + ".tmp", "w", encoding="utf-8") as file:
        file.write(buffer.get_text(buffer.get_start_iter(), buffer.get_end_iter(), True))
    os.replace(out + ".tmp", out)
    return True


def log_change(changed: Gtk.TextBuffer) -> None:
    with open(out + ".changes", "a", encoding="utf-8") as changes:
        changes.write(f"{time.monotonic()} {changed.get_char_count()}\n")


buffer.connect("changed", log_change)
GLib.timeout_add(50, dump)
window.connect("destroy", Gtk.main_quit)
window.show_all()
view.grab_focus()
Gtk.main()
