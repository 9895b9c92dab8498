"""``dictad autostart on|off``: start dictad when the user logs in, through an XDG autostart entry.

GNOME, KDE, Xfce, Cinnamon, MATE and LXQt run what ``$XDG_CONFIG_HOME/autostart/*.desktop`` says at
login; sway and Hyprland do not by default, so for them dictad prints the line for their config
rather than editing a file it does not own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from dictad.icons import icon_file

COMMENT = "Push-to-talk dictation: hold a key, speak, and the text lands in the focused window"
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
"""Characters that make the Desktop Entry spec require an Exec argument to be quoted."""
_SWITCHED_OFF = frozenset({"Hidden=true", "X-GNOME-Autostart-enabled=false"})
"""Lines with which a desktop's settings turn an entry off without removing it."""


def entry_path() -> Path:
    """Where the entry goes: ``$XDG_CONFIG_HOME/autostart``, or ``~/.config/autostart`` when that is
    unset or relative (the XDG Base Directory rule, which the desktops follow too)."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "autostart" / "dictad.desktop"


def dictad_command() -> list[str]:
    """The command that runs this dictad: the installed script found on PATH, by its absolute path
    (a session's PATH may lack ~/.local/bin), else this Python with ``-m dictad`` (a checkout)."""
    script = shutil.which("dictad")
    return [os.path.abspath(script)] if script else [os.path.abspath(sys.executable), "-m", "dictad"]


def entry_text(command: list[str]) -> str:
    """The desktop entry that runs ``command run`` at login."""
    fields = {
        "Type": "Application", "Name": "dictad", "Comment": COMMENT, "Exec": exec_value([*command, "run"]),
        "Icon": _escape(_icon() or ""), "Terminal": "false", "X-GNOME-Autostart-enabled": "true",
    }
    return "[Desktop Entry]\n" + "".join(f"{key}={value}\n" for key, value in fields.items() if value)


def exec_value(command: list[str]) -> str:
    """``command`` as an Exec value: each argument quoted where the spec asks, ``%`` doubled (it starts
    field codes), then escaped as a desktop-file string, which readers undo first."""
    return _escape(" ".join(_exec_argument(argument) for argument in command))


def _exec_argument(argument: str) -> str:
    argument = argument.replace("%", "%%")
    if not _RESERVED & set(argument):
        return argument
    return '"' + "".join("\\" + char if char in '"`$\\' else char for char in argument) + '"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _icon() -> str | None:
    """The idle tray icon's file, when the package's icons are plain files (they are, once installed)."""
    icon = icon_file("idle")
    return str(icon) if isinstance(icon, Path) and icon.is_file() else None


def turn_on() -> str:
    """Write the entry, replacing one already there: ``on`` again refreshes the command (a moved venv)."""
    path, command = entry_path(), dictad_command()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(entry_text(command), encoding="utf-8")
    os.replace(partial, path)  # a desktop reading the folder meanwhile never sees half an entry
    return f"autostart is on: {path} starts `{shlex.join([*command, 'run'])}` when you log in\n" + _compositors(command)


def turn_off() -> str:
    """Remove the entry; one that is not there is already what was asked for."""
    path = entry_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return f"autostart is already off: there is no {path}"
    return (f"autostart is off: removed {path}\n"
            "If you added `dictad run` to a sway or Hyprland config yourself, remove that line there.")


def status() -> str:
    """Whether the entry is there and enabled, and where it is; the sway and Hyprland lines either
    way, since on those an entry that is on starts nothing."""
    path = entry_path()
    try:
        lines = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    except FileNotFoundError:
        return f"autostart is off: there is no {path}\n" + _compositors(dictad_command())
    if lines & _SWITCHED_OFF:
        return f"autostart is off: {path} is there but switched off in your desktop's settings"
    command = next((line.removeprefix("Exec=") for line in lines if line.startswith("Exec=")), "?")
    return f"autostart is on: {path} starts `{command}` when you log in\n" + _compositors(dictad_command())


def _compositors(command: list[str]) -> str:
    """sway and Hyprland skip XDG autostart by default: the one line each needs in its own config."""
    run = shlex.join([*command, "run"])
    return ("sway and Hyprland do not read XDG autostart entries; add the line for yours to its config instead:\n"
            f"  sway (~/.config/sway/config):             exec {run}\n"
            f"  Hyprland (~/.config/hypr/hyprland.conf):  exec-once = {run}")


ACTIONS: dict[str, Callable[[], str]] = {"on": turn_on, "off": turn_off, "status": status}
"""What ``dictad autostart ACTION`` does, each returning what to print."""
