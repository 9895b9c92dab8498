"""What every X11 backend needs: keysyms, the XKB requests python-xlib lacks, and the connection.

The hotkey and keyboard backends both speak keysyms (``keysyms_of("<ctrl>")``), and both must
follow the keyboard map; they share these helpers so that neither imports the other.
"""

from __future__ import annotations

from Xlib import X, XK
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.protocol import rq

XK.load_keysym_group("xf86")
XK.load_keysym_group("xkb")

# keyspec's named keys -> X keysym names; the first is the one to press.
_KEYSYM_NAMES: dict[str, tuple[str, ...]] = {
    "alt": ("Alt_L", "Alt_R"), "alt_l": ("Alt_L",), "alt_r": ("Alt_R",),
    "alt_gr": ("ISO_Level3_Shift", "Mode_switch"),
    "cmd": ("Super_L", "Super_R"), "cmd_l": ("Super_L",), "cmd_r": ("Super_R",),
    "ctrl": ("Control_L", "Control_R"), "ctrl_l": ("Control_L",), "ctrl_r": ("Control_R",),
    "shift": ("Shift_L", "Shift_R"), "shift_l": ("Shift_L",), "shift_r": ("Shift_R",),
    "backspace": ("BackSpace",), "caps_lock": ("Caps_Lock",), "delete": ("Delete",),
    "down": ("Down",), "end": ("End",), "enter": ("Return",), "esc": ("Escape",),
    "home": ("Home",), "insert": ("Insert",), "left": ("Left",), "menu": ("Menu",),
    "num_lock": ("Num_Lock",), "page_down": ("Next",), "page_up": ("Prior",),
    "pause": ("Pause",), "print_screen": ("Print",), "right": ("Right",),
    "scroll_lock": ("Scroll_Lock",), "space": ("space",), "tab": ("Tab",), "up": ("Up",),
    "media_play_pause": ("XF86_AudioPlay",), "media_volume_mute": ("XF86_AudioMute",),
    "media_volume_down": ("XF86_AudioLowerVolume",), "media_volume_up": ("XF86_AudioRaiseVolume",),
    "media_previous": ("XF86_AudioPrev",), "media_next": ("XF86_AudioNext",),
    **{f"f{n}": (f"F{n}",) for n in range(1, 21)},
}

_KEYSYM_NAMES_BY_VALUE = {value: name[3:] for name, value in reversed(vars(XK).items()) if name.startswith("XK_")}
_XKB_USE_CORE_KEYBOARD = 0x100
_XKB_DETECTABLE_AUTOREPEAT = 1
_XKB_NEW_KEYBOARD_AND_MAP_NOTIFY = 0b11
_XKB_ALL_MAP_PARTS = 0xFF


def keysyms_of(part: str) -> tuple[int, ...]:
    """The X keysyms one canonical key part (``"<ctrl>"``, ``"v"``, ``"<65>"``) stands for."""
    if len(part) == 1:
        return (char_keysym(part),)
    name = part.strip("<>")
    if name.isdigit():
        return (int(name),)
    return tuple(XK.string_to_keysym(symbol) for symbol in _KEYSYM_NAMES[name])


def char_keysym(char: str) -> int:
    """Latin-1 characters are their own keysym; every other character has a Unicode keysym."""
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code


def keysym_name(keysym: int) -> str:
    """The X name of a keysym ("Control_L"), for messages."""
    return _KEYSYM_NAMES_BY_VALUE.get(keysym, f"keysym {keysym:#x}")


def modifier_masks(display: Display) -> dict[int, int]:
    """The modifier bit each modifier keysym sets on this server (Alt is usually Mod1, not always)."""
    masks: dict[int, int] = {}
    for bit, keycodes in enumerate(display.get_modifier_mapping()):
        for keycode in keycodes:
            if keycode:
                masks[display.keycode_to_keysym(keycode, 0)] = 1 << bit
    return masks


class _XkbUseExtension(rq.ReplyRequest):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(0), rq.RequestLength(),
        rq.Card16("wanted_major"), rq.Card16("wanted_minor"),
    )
    _reply = rq.Struct(
        rq.ReplyCode(), rq.Bool("supported"), rq.Card16("sequence_number"), rq.Card32("length"),
        rq.Card16("server_major"), rq.Card16("server_minor"), rq.Pad(20),
    )


class _XkbPerClientFlags(rq.ReplyRequest):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(21), rq.RequestLength(),
        rq.Card16("device_spec"), rq.Pad(2), rq.Card32("change"), rq.Card32("value"),
        rq.Card32("ctrls_to_change"), rq.Card32("auto_ctrls"), rq.Card32("auto_ctrl_values"),
    )
    _reply = rq.Struct(
        rq.ReplyCode(), rq.Card8("device_id"), rq.Card16("sequence_number"), rq.Card32("length"),
        rq.Card32("supported"), rq.Card32("value"), rq.Card32("auto_ctrls"),
        rq.Card32("auto_ctrl_values"), rq.Pad(8),
    )


class _XkbSelectEvents(rq.Request):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(1), rq.RequestLength(),
        rq.Card16("device_spec"), rq.Card16("affect_which"), rq.Card16("clear"), rq.Card16("select_all"),
        rq.Card16("affect_map"), rq.Card16("map"),
    )


def watch_keyboard_map(display: Display) -> int | None:
    """Ask XKB for an event whenever the keyboard map changes, and return that event's type. A
    client that has asked XKB for anything (the autorepeat setting) no longer gets the core
    MappingNotify."""
    extension = display.query_extension("XKEYBOARD")
    if not extension.present:
        return None
    _XkbSelectEvents(display=display.display, opcode=extension.major_opcode, device_spec=_XKB_USE_CORE_KEYBOARD,
                     affect_which=_XKB_NEW_KEYBOARD_AND_MAP_NOTIFY, clear=0,
                     select_all=_XKB_NEW_KEYBOARD_AND_MAP_NOTIFY, affect_map=_XKB_ALL_MAP_PARTS,
                     map=_XKB_ALL_MAP_PARTS)
    return extension.first_event


def enable_detectable_autorepeat(display: Display) -> bool:
    """Ask XKB to drop the fake release before each repeated press (python-xlib has no XKB module)."""
    extension = display.query_extension("XKEYBOARD")
    if not extension.present:
        return False
    opcode = extension.major_opcode
    if not _XkbUseExtension(display=display.display, opcode=opcode, wanted_major=1, wanted_minor=0).supported:
        return False
    reply = _XkbPerClientFlags(
        display=display.display, opcode=opcode, device_spec=_XKB_USE_CORE_KEYBOARD,
        change=_XKB_DETECTABLE_AUTOREPEAT, value=_XKB_DETECTABLE_AUTOREPEAT,
        ctrls_to_change=0, auto_ctrls=0, auto_ctrl_values=0,
    )
    return bool(reply.value & _XKB_DETECTABLE_AUTOREPEAT)


def connect(display_name: str, error: type[Exception]) -> Display:
    """A connection to the X display ``display_name``; raises ``error`` (a concern's own) saying why not."""
    try:
        return Display(display_name)
    except Exception as failure:  # python-xlib raises several unrelated types here
        raise error(f"cannot connect to the X display {display_name!r}: {failure}") from failure


def x_window_is_active(display: Display) -> bool:
    """Whether an X11 window has the focus, as the window manager says (``_NET_ACTIVE_WINDOW``).

    On Wayland, XWayland's window manager (the compositor) sets it to an X window while one is
    focused and to none while a Wayland window is: keys sent through XWayland reach only the former.
    """
    atom = display.intern_atom("_NET_ACTIVE_WINDOW")
    active = display.screen().root.get_full_property(atom, X.AnyPropertyType)
    return bool(active and active.value and active.value[0])


def close_quietly(display: Display) -> None:
    try:
        display.close()
    except (xerror.ConnectionClosedError, OSError):
        pass


def why_no_system_tray(display_name: str) -> str | None:
    """Why no tray icon can be shown on ``display_name``: no panel owns its system tray selection."""
    try:
        display = connect(display_name, ConnectionError)
    except ConnectionError as failure:
        return str(failure)
    try:
        selection = display.intern_atom(f"_NET_SYSTEM_TRAY_S{display.get_default_screen()}")
        if display.get_selection_owner(selection) == X.NONE:
            return f"no system tray on display {display_name} (no panel with a notification area is running)"
        return None
    finally:
        display.close()
