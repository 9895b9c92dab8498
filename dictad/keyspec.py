"""Key combinations in pynput's syntax (``<ctrl>+<alt>+space``), checked without a display.

Config files must be checked where there is no display too (``dictad config`` over SSH,
CI), so the syntax is parsed here, into the canonical parts that the X11 hotkey grab and
the key injection turn into keysyms.
"""

from __future__ import annotations

import difflib

# The names of pynput's ``keyboard.Key`` members that exist on every platform.
NAMED_KEYS = frozenset(
    {
        "alt", "alt_l", "alt_r", "alt_gr", "backspace", "caps_lock", "cmd", "cmd_l", "cmd_r",
        "ctrl", "ctrl_l", "ctrl_r", "delete", "down", "end", "enter", "esc", "home", "insert",
        "left", "menu", "num_lock", "page_down", "page_up", "pause", "print_screen", "right",
        "scroll_lock", "shift", "shift_l", "shift_r", "space", "tab", "up",
        "media_play_pause", "media_volume_mute", "media_volume_down", "media_volume_up",
        "media_previous", "media_next",
        *(f"f{n}" for n in range(1, 21)),
    }
)
MODIFIERS = frozenset(
    {"alt", "alt_l", "alt_r", "alt_gr", "cmd", "cmd_l", "cmd_r", "ctrl", "ctrl_l", "ctrl_r",
     "shift", "shift_l", "shift_r"}
)
ALIASES = {
    f"{alias}{side}": f"cmd{side}" for alias in ("super", "win", "meta") for side in ("", "_l", "_r")
}
"""Names desktops give the key pynput calls cmd (GNOME and sway say Super, KDE Meta, keyboards Win)."""
SYNTAX_HELP = (
    'keys joined by "+", named keys in angle brackets, single characters as they are: '
    'e.g. "<ctrl>+<alt>+space", "<ctrl>+<shift>+d", "<f9>"'
)


class KeySpecError(ValueError):
    """A key combination that cannot be parsed; the message says which part and why."""


def parse_keys(spec: str) -> tuple[str, ...]:
    """Parse ``spec`` into canonical parts: ``"<name>"`` for named keys, a character otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise KeySpecError(f"the combination is empty; expected {SYNTAX_HELP}")
    parts = [part.strip() for part in spec.split("+")]
    if "" in parts:
        raise KeySpecError(f"{spec!r} has an empty part (a stray '+'); expected {SYNTAX_HELP}")
    canonical = tuple(_canonical_part(part) for part in parts)
    if len(set(canonical)) != len(canonical):
        raise KeySpecError(f"{spec!r} names a key twice")
    return canonical


def parse_hotkey(spec: str) -> tuple[str, ...]:
    """Parse a hotkey: modifiers held, then one key (what a global key grab can watch for)."""
    keys = parse_keys(spec)
    *held, _ = keys
    others = [part for part in held if not is_modifier(part)]
    if others:
        raise KeySpecError(f"{spec!r} holds {', '.join(others)}, which is not a modifier: a hotkey is "
                           f"modifiers (ctrl, alt, shift, cmd or super) and then one key; expected {SYNTAX_HELP}")
    return keys


def format_keys(keys: tuple[str, ...]) -> str:
    """The pynput spelling of parsed keys, e.g. ``<ctrl>+<alt>+<space>``."""
    return "+".join(keys)


def is_modifier(part: str) -> bool:
    return part.strip("<>") in MODIFIERS and part.startswith("<")


def _canonical_part(part: str) -> str:
    if len(part) == 1:
        return part.lower()
    name = part[1:-1] if part.startswith("<") and part.endswith(">") else part
    name = ALIASES.get(name.lower(), name.lower())
    if name in NAMED_KEYS:
        return f"<{name}>"
    if name.isdigit():
        return f"<{name}>"
    close = difflib.get_close_matches(name, sorted(NAMED_KEYS | ALIASES.keys()), n=1)
    hint = f" (did you mean <{close[0]}>?)" if close else ""
    raise KeySpecError(f"unknown key {part!r}{hint}; expected {SYNTAX_HELP}")
