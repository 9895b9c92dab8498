"""The XDG desktop portal backends (GlobalShortcuts hotkey, RemoteDesktop keyboard) over real D-Bus.

No desktop with these portals can run on this machine (KDE and GNOME cannot be started headless
here), so the portal is a stand-in of our own, ``tests/portal_service.py``: a jeepney service that
owns org.freedesktop.portal.Desktop on a real private dbus-daemon started for each test, speaks
the documented interfaces and records what it was sent. dictad's backends are the real ones,
made through their choosers' ``Backend`` entries. What the stand-in cannot show is how a real
desktop behaves (its dialogs, KDE's indicator, GNOME 49's silence): that needs manual checks.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from Xlib import XK

from dictad.desktop import hotkey, keyboard
from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.hotkey import _portal as hotkey_portal
from dictad.desktop.keyboard import _portal as keyboard_portal
from dictad.desktop.keyboard._portal import restore_token_path
from dictad.desktop.portal import CALL_TIMEOUT_S
from dictad.desktop.session import Session, detect_session
from dictad.keyspec import parse_hotkey, parse_keys
from tests.portal_service import PortalService, private_session_bus

def wayland_kde() -> Session:
    """KDE on Wayland, on the session bus a test's ``bus`` fixture started (or on none)."""
    return Session("wayland", "kde", wayland_display="wayland-0", session_bus=os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""))
MARGIN_S = 1.5  # for a busy two-core machine; the bounds themselves are seconds
NOTHING = lambda: None  # noqa: E731


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:
    """A private session bus as this process's, and an empty state directory for restore tokens."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with private_session_bus() as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def portal(bus: str) -> Iterator[Callable[..., PortalService]]:
    """Starts the stand-in portal on ``bus`` (with a script, if given); stopped at the end."""
    services: list[PortalService] = []

    def start(**script: Any) -> PortalService:
        services.append(PortalService(bus, **script))
        return services[-1]

    yield start
    for service in services:
        service.stop()


@pytest.fixture
def made(bus: str) -> Iterator[list[Any]]:
    """Backends a test made: disconnected at its end, before the bus goes."""
    backends: list[Any] = []
    yield backends
    for backend in backends:
        backend.stop() if hasattr(backend, "stop") else backend.close()


def portal_backend(concern: ModuleType) -> Backend:
    return next(backend for backend in concern.BACKENDS if backend.name == "portal")


def make_keyboard(made: list[Any]) -> keyboard_portal.PortalKeyboard:
    made.append(portal_backend(keyboard).make(wayland_kde()))
    return made[-1]


def make_listener(made: list[Any], on_press: Callable[[], None] = NOTHING,
                  on_release: Callable[[], None] = NOTHING) -> hotkey_portal.PortalHotkeyListener:
    made.append(portal_backend(hotkey).make(wayland_kde(), parse_hotkey("<ctrl>+<alt>+space"), on_press, on_release,
                                            NOTHING))
    return made[-1]


def without_handle_token(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key != "handle_token"}


# -- choosing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("concern", [hotkey, keyboard])
def test_the_portal_is_tried_only_on_wayland_with_a_session_bus(concern: ModuleType, tmp_path) -> None:
    names = [backend.name for backend in concern.BACKENDS]
    assert "portal" in names and "xorg" in names  # wtype comes before the portal for the keyboard (wlroots)
    kde = {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE", "XDG_RUNTIME_DIR": str(tmp_path)}
    why_not = portal_backend(concern).why_not
    assert why_not(Session("x11", x_display=":0")).startswith("not a Wayland session")
    assert why_not(detect_session(kde, "linux")) == "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    (tmp_path / "bus").touch()  # systemd's per-user bus socket
    assert why_not(detect_session(kde, "linux")) is None


def x11_and_portal(concern: ModuleType) -> tuple[Backend, ...]:
    """The concern's backends that this file knows (others may join the list before the portal)."""
    return tuple(backend for backend in concern.BACKENDS if backend.name in ("xorg", "portal"))


def choose_with_a_spare(concern: ModuleType, *args: Any) -> Any:
    """What the concern's chooser makes from its X11 and portal backends and then a spare that always
    fits, on a KDE Wayland session: "spare" when the portal gave way."""
    spare = Backend("spare", lambda session: None, lambda session, *args: "spare")
    return choose(concern.CONCERN, (*x11_and_portal(concern), spare), wayland_kde(), Unavailable, *args, environ={})


HOTKEY_ARGS = (parse_hotkey("<ctrl>+<alt>+space"), NOTHING, NOTHING, NOTHING)


@pytest.mark.parametrize("concern, method, args, refused", [
    (keyboard, "Start", (), "RemoteDesktop portal: the remote control permission dialog was refused: "
                            "the user cancelled it"),
    (hotkey, "BindShortcuts", HOTKEY_ARGS, "GlobalShortcuts portal: binding the dictation shortcut was refused: "
                                           "the user cancelled it"),
])
def test_a_portal_that_refuses_gives_way_to_the_next_backend_at_once(
        portal: Callable[..., PortalService], concern: ModuleType, method: str, args: tuple, refused: str) -> None:
    portal(answers={method: 1})
    started = time.monotonic()
    assert choose_with_a_spare(concern, *args) == "spare"
    assert time.monotonic() - started < CALL_TIMEOUT_S  # no timeout paid for a refusal
    with pytest.raises(Unavailable, match=f"portal: {refused}") as no_backend:
        choose(concern.CONCERN, x11_and_portal(concern), wayland_kde(), Unavailable, *args, environ={})
    assert "xorg: Wayland session" in str(no_backend.value)


@pytest.mark.parametrize("concern, method, args, bound", [
    (keyboard, "Start", (), (keyboard_portal, "FIRST_START_TIMEOUT_S")),
    (hotkey, "BindShortcuts", HOTKEY_ARGS, (hotkey_portal, "BIND_TIMEOUT_S")),
])
def test_a_portal_that_never_answers_is_given_up_at_its_bound(
        portal: Callable[..., PortalService], monkeypatch: pytest.MonkeyPatch, concern: ModuleType, method: str,
        args: tuple, bound: tuple[ModuleType, str]) -> None:
    monkeypatch.setattr(*bound, 1.0)  # 15 s for real: the dialog waits for a person
    portal(answers={method: None})
    started = time.monotonic()
    assert choose_with_a_spare(concern, *args) == "spare"
    assert 1.0 <= time.monotonic() - started < 1.0 + MARGIN_S


def test_a_failed_keyboard_portal_is_not_asked_again_in_the_same_run(portal: Callable[..., PortalService],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyboard_portal, "FIRST_START_TIMEOUT_S", 1.0)
    service = portal(answers={"Start": None})
    with pytest.raises(Unavailable, match="no answer to the remote control permission dialog within 1 s"):
        portal_backend(keyboard).make(wayland_kde())
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"within 1 s \(remembered from an earlier try; restart dictad"):
        portal_backend(keyboard).make(wayland_kde())
    assert time.monotonic() - started < 0.5
    assert len(service.calls_of("Start")) == 1


def test_a_kept_token_whose_start_never_answers_costs_three_seconds_and_is_dropped(
        portal: Callable[..., PortalService]) -> None:
    restore_token_path().parent.mkdir(parents=True)
    restore_token_path().write_text("token-from-another-life")
    service = portal(answers={"Start": None})
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"no answer to Start \(restoring the kept permission\) within 3 s"):
        portal_backend(keyboard).make(wayland_kde())
    assert keyboard_portal.RESTORED_START_TIMEOUT_S <= time.monotonic() - started < 3.0 + MARGIN_S
    (_session, selected), = service.calls_of("SelectDevices")
    assert selected["restore_token"] == ("s", "token-from-another-life")
    assert not restore_token_path().exists()


def test_without_a_portal_or_its_interface_the_backends_say_which_and_why(
        bus: str, portal: Callable[..., PortalService]) -> None:
    with pytest.raises(Unavailable, match="^GlobalShortcuts portal: no desktop portal on the session bus"):
        portal_backend(hotkey).make(wayland_kde(), *HOTKEY_ARGS)
    portal(interfaces=("GlobalShortcuts",))
    with pytest.raises(Unavailable, match="^RemoteDesktop portal: the desktop portal has no "
                                          r"org\.freedesktop\.portal\.RemoteDesktop \(org.freedesktop.DBus.Error"):
        portal_backend(keyboard).make(wayland_kde())


# -- the keyboard -----------------------------------------------------------------------------------

def test_the_first_start_asks_once_and_its_token_spares_the_dialog_in_the_next_run(
        portal: Callable[..., PortalService], made: list[Any]) -> None:
    service = portal()
    make_keyboard(made).close()  # one run of dictad: the permission dialog, approved
    assert service.dialogs == 1
    assert restore_token_path().read_text() == service.tokens_issued[0]
    assert stat.S_IMODE(restore_token_path().stat().st_mode) == 0o600
    make_keyboard(made)  # the next run
    first, second = (without_handle_token(options) for _, options in service.calls_of("SelectDevices"))
    assert first == {"types": ("u", 1), "persist_mode": ("u", 2)}
    assert second == {**first, "restore_token": ("s", service.tokens_issued[0])}
    assert service.dialogs == 1
    assert restore_token_path().read_text() == service.tokens_issued[1]  # tokens are single use


def test_a_combination_is_pressed_in_order_and_released_in_reverse_as_keysyms(
        portal: Callable[..., PortalService], made: list[Any]) -> None:
    service = portal()
    keyboard = make_keyboard(made)
    keyboard.press_combination(parse_keys("<ctrl>+v"))
    assert service.keysyms == [(XK.XK_Control_L, 1), (XK.XK_v, 1), (XK.XK_v, 0), (XK.XK_Control_L, 0)]


def test_typed_text_is_one_keysym_per_character_unicode_ones_included(
        portal: Callable[..., PortalService], made: list[Any]) -> None:
    service = portal(answer_before_reply=True)  # a portal that answers before its reply arrives is caught too
    make_keyboard(made).type_text("café ✓")
    keysyms = [XK.XK_c, XK.XK_a, XK.XK_f, XK.XK_eacute, XK.XK_space, 0x01000000 + ord("✓")]
    assert service.keysyms == [(keysym, state) for keysym in keysyms for state in (1, 0)]


# -- the hotkey -------------------------------------------------------------------------------------

@pytest.mark.parametrize("keys, trigger", [
    ("<ctrl>+<alt>+space", "CTRL+ALT+space"), ("<cmd>+<shift>+d", "LOGO+SHIFT+d"), ("<f9>", "F9"),
    ("<ctrl_r>+<alt_l>+<page_down>", "CTRL+ALT+Next"),
])
def test_the_preferred_trigger_is_spelled_as_the_shortcuts_spec_says(keys: str, trigger: str) -> None:
    assert hotkey_portal.preferred_trigger(parse_hotkey(keys)) == trigger


def test_activated_and_deactivated_reach_on_press_and_on_release(
        portal: Callable[..., PortalService], made: list[Any]) -> None:
    service = portal()
    events: list[str] = []
    pressed, released = threading.Event(), threading.Event()
    listener = make_listener(made, lambda: (events.append("press"), pressed.set()),
                             lambda: (events.append("release"), released.set()))
    (_session, shortcuts, _parent, _options), = service.calls_of("BindShortcuts")
    assert shortcuts == [("dictate", {"description": ("s", "Hold to dictate"),
                                      "preferred_trigger": ("s", "CTRL+ALT+space")})]
    listener.start()
    listener.set_escape_grab(True)  # nothing to grab through the portal; it must not fail
    service.emit("Activated", "someone-elses-shortcut")
    service.emit("Activated")
    assert pressed.wait(5)
    service.emit("Deactivated")
    assert released.wait(5)
    assert events == ["press", "release"]
