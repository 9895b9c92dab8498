"""The lines `dictad bindings` prints for each compositor's config; sway's are used for real by
tests/test_wayland.py, which starts sway with exactly these lines and holds the hotkey through them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dictad.desktop.bindings import binding_lines
from dictad.keyspec import parse_hotkey

COMMAND = ["/home/ann/.local/bin/dictad"]


@pytest.mark.parametrize("compositor, hotkey, lines", [
    ("sway", "<ctrl>+<alt>+space", "bindsym --no-repeat Ctrl+Alt+space exec /home/ann/.local/bin/dictad start\n"
                                   "bindsym --release Ctrl+Alt+space exec /home/ann/.local/bin/dictad stop"),
    ("sway", "<cmd>+<shift>+d", "bindsym --no-repeat Mod4+Shift+d exec /home/ann/.local/bin/dictad start\n"
                                "bindsym --release Mod4+Shift+d exec /home/ann/.local/bin/dictad stop"),
    ("hyprland", "<cmd>+<f9>", "bind = SUPER, F9, exec, /home/ann/.local/bin/dictad start\n"
                               "bindr = SUPER, F9, exec, /home/ann/.local/bin/dictad stop"),
    ("river", "<f9>", "riverctl map normal None F9 spawn '/home/ann/.local/bin/dictad start'\n"
                      "riverctl map -release normal None F9 spawn '/home/ann/.local/bin/dictad stop'"),
])
def test_each_compositor_gets_a_press_and_a_release_binding(compositor: str, hotkey: str, lines: str) -> None:
    assert binding_lines(compositor, parse_hotkey(hotkey), COMMAND) == lines


def test_a_desktop_that_binds_on_press_only_gets_the_toggle_command() -> None:
    advice = binding_lines("gnome", parse_hotkey("<ctrl>+<alt>+space"), COMMAND)
    assert advice.startswith("gnome runs a shortcut's command on the press only: bind "
                             "`/home/ann/.local/bin/dictad toggle` to a custom shortcut")


def test_a_command_with_spaces_is_quoted() -> None:
    lines = binding_lines("sway", parse_hotkey("<f9>"), ["/opt/my apps/python", "-m", "dictad"])
    assert lines.splitlines()[0] == "bindsym --no-repeat F9 exec '/opt/my apps/python' -m dictad start"


def test_the_command_prints_the_lines_for_the_named_compositor(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("hotkey: <ctrl>+<f10>\n")
    printed = subprocess.run([sys.executable, "-m", "dictad", "bindings", "--compositor", "hyprland", "--config",
                              str(config)], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("bind = CTRL, F10, exec, ")
    assert printed.stdout.splitlines()[1].startswith("bindr = CTRL, F10, exec, ")
