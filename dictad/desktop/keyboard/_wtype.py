"""Keys into the focused Wayland window through the virtual-keyboard protocol, by running wtype.

wlroots compositors (sway, Hyprland, river, labwc, Wayfire) and niri offer the protocol; KDE and
GNOME do not, and there wtype exits 1 saying so: the probe at start-up finds that out once, so the
chooser moves on. wtype uploads a keymap of the keys it is about to send, which makes typing
independent of the user's layout (Unicode arrives exactly).

GTK 3 ignores a shortcut whose key is the highest keycode of that keymap (its keymap loop stops
one short), and wtype still exits 0: a spare key after the paste keys makes the paste key not the
last one (../shared/wayland-test-rig.md; tests/test_wayland.py pastes into a GTK 3 window).
"""

from __future__ import annotations

import subprocess

from dictad.desktop.keyboard import KeyboardUnavailable, KeysNotSent
from dictad.desktop.x11 import keysym_name, keysyms_of

PROBE_TIMEOUT_S = 3.0
KEYS_TIMEOUT_S = 3.0
TYPING_CHARS_PER_S = 50  # wtype typed about 170 a second on the rig: a third of that is the bound
SPARE_KEY = "Shift_L"
_MODIFIERS = {
    "<ctrl>": "ctrl", "<ctrl_l>": "ctrl", "<ctrl_r>": "ctrl", "<shift>": "shift", "<shift_l>": "shift",
    "<shift_r>": "shift", "<alt>": "alt", "<alt_l>": "alt", "<alt_r>": "alt", "<alt_gr>": "altgr",
    "<cmd>": "logo", "<cmd_l>": "logo", "<cmd_r>": "logo",
}


class WtypeKeyboard:
    """Runs wtype once per delivery; every run is bounded in time."""

    def __init__(self) -> None:
        failure = _run(["wtype", ""], PROBE_TIMEOUT_S)
        if failure:
            raise KeyboardUnavailable(f"wtype cannot type here: {failure}")

    def press_combination(self, keys: tuple[str, ...]) -> None:
        self._send(wtype_arguments(keys), KEYS_TIMEOUT_S)

    def type_text(self, text: str) -> None:
        self._send(["--", text], KEYS_TIMEOUT_S + len(text) / TYPING_CHARS_PER_S)

    @staticmethod
    def _send(arguments: list[str], timeout_s: float) -> None:
        failure = _run(["wtype", *arguments], timeout_s)
        if failure:
            raise KeysNotSent(f"wtype failed: {failure}")


def wtype_arguments(keys: tuple[str, ...]) -> list[str]:
    """wtype's arguments for pressing ``keys`` (parts as ``dictad.keyspec.parse_keys`` gives
    them): modifiers down, the keys, modifiers up, then the spare key (see the module's docstring)."""
    modifiers = [_MODIFIERS[part] for part in keys if part in _MODIFIERS]
    others = [keysym_name(keysyms_of(part)[0]) for part in keys if part not in _MODIFIERS]
    return ([arg for modifier in modifiers for arg in ("-M", modifier)]
            + [arg for key in others for arg in ("-k", key)]
            + [arg for modifier in reversed(modifiers) for arg in ("-m", modifier)]
            + ["-k", SPARE_KEY])


def _run(command: list[str], timeout_s: float) -> str:
    """Run ``command``; "" when it worked, else why not, in words for the user."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        return "wtype is not installed (install the wtype package)"
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout_s:.1f} s"
    if done.returncode != 0:
        return done.stderr.strip() or f"exit status {done.returncode}"
    return ""
