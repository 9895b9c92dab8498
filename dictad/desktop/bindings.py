"""Hold-to-talk key bindings for compositors that run a command on a key's press and release.

No app can grab a global key on Wayland; sway, Hyprland and river can bind one themselves and run
``dictad start`` when it goes down and ``dictad stop`` when it comes up. ``dictad bindings`` prints
the lines for the running compositor (or for one named), ready to paste into its config. sway
needs ``--no-repeat`` on the press half: without it a held key runs the command again 25 times a
second (../shared/wayland-test-rig.md).
"""

from __future__ import annotations

import shlex

from dictad.desktop.x11 import keysym_name, keysyms_of
from dictad.keyspec import is_modifier

HOLD_COMPOSITORS = ("sway", "hyprland", "river")
_GENERIC = {"ctrl": "ctrl", "shift": "shift", "alt": "alt", "alt_gr": "altgr", "cmd": "super"}
_MODIFIER_NAMES = {
    "sway": {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "altgr": "Mod5", "super": "Mod4"},
    "hyprland": {"ctrl": "CTRL", "shift": "SHIFT", "alt": "ALT", "altgr": "MOD5", "super": "SUPER"},
    "river": {"ctrl": "Control", "shift": "Shift", "alt": "Alt", "altgr": "Mod5", "super": "Super"},
}


def binding_lines(compositor: str, keys: tuple[str, ...], command: list[str]) -> str:
    """The config lines that make ``keys`` (parts as ``dictad.keyspec.parse_hotkey`` gives them) run
    ``command start`` on press and ``command stop`` on release in ``compositor``; for a desktop that
    binds on press only, how to bind ``command toggle`` instead."""
    start, stop = (shlex.join([*command, action]) for action in ("start", "stop"))
    modifiers, key = _names(compositor, keys)
    if compositor == "sway":
        combination = "+".join([*modifiers, key])
        return (f"bindsym --no-repeat {combination} exec {start}\n"
                f"bindsym --release {combination} exec {stop}")
    if compositor == "hyprland":
        return f"bind = {' '.join(modifiers)}, {key}, exec, {start}\nbindr = {' '.join(modifiers)}, {key}, exec, {stop}"
    if compositor == "river":
        held = "+".join(modifiers) or "None"
        return (f"riverctl map normal {held} {key} spawn {shlex.quote(start)}\n"
                f"riverctl map -release normal {held} {key} spawn {shlex.quote(stop)}")
    toggle = shlex.join([*command, "toggle"])
    return (f"{compositor or 'this desktop'} runs a shortcut's command on the press only: bind `{toggle}` to a "
            "custom shortcut in its keyboard settings (press to start, press again to stop)")


def _names(compositor: str, keys: tuple[str, ...]) -> tuple[list[str], str]:
    """The modifiers' names in ``compositor``'s syntax, and the key's X keysym name ("space", "F9")."""
    names = _MODIFIER_NAMES.get(compositor, _MODIFIER_NAMES["sway"])
    *held, key = keys
    modifiers = [names[_GENERIC[part.strip("<>").removesuffix("_l").removesuffix("_r")]]
                 for part in held if is_modifier(part)]
    return modifiers, keysym_name(keysyms_of(key)[0])
