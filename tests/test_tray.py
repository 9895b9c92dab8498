"""The tray on a real desktop: real GTK icon in a real tray host, opened and clicked with the mouse.

The tray runs in the test's main thread, as in the daemon; the scenario drives it from a
second thread with xdotool and screenshots, and the fake daemon below records the calls.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import pytest
from PIL import ImageChops

from dictad.desktop import Desktop
from dictad.desktop.notify import choose_notifier
from dictad.desktop.session import current_session
from dictad.desktop.tray import (STATES, TrayIcon, TrayModel, TrayUnavailable, choose_tray, load_icon, recent_label,
                                 shorten, tooltip)
from tests.rig.display import running_tray_host, xdotool
from tests.rig.waiting import wait_until
from tests.rig.tray import TrayMenu, notification_popups, settled_pixels, tray_icon_box

pytestmark = pytest.mark.filterwarnings(
    # GtkStatusIcon, the XEmbed tray icon, is deprecated in GTK 3 (dictad uses it on purpose),
    # and pystray still calls GObject.idle_add.
    r"ignore:(Gtk|GObject)\.\S+ is deprecated:DeprecationWarning")

@dataclass
class FakeDaemon:
    """The daemon's side of the tray (TrayModel): plain values, and a record of every action."""

    cleanup_on: bool = True
    mode: str = "hold"
    paused: bool = False
    recent: list[str] = field(default_factory=lambda: ["newest dictation", "an older dictation"])
    pinned: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=lambda: ["plain", "email"])
    style: str = "plain"
    hotkey: str = "ctrl+alt"
    reload_error: Exception | None = None
    calls: list[tuple] = field(default_factory=list)

    def toggle_cleanup(self) -> None:
        self.calls.append(("toggle_cleanup",))
        self.cleanup_on = not self.cleanup_on

    def set_mode(self, mode: str) -> None:
        self.calls.append(("set_mode", mode))

    def toggle_pause(self) -> None:
        self.calls.append(("toggle_pause",))

    def copy_last(self) -> None:
        self.calls.append(("copy_last",))

    def paste_last(self) -> None:
        self.calls.append(("paste_last",))

    def copy_text(self, text: str) -> None:
        self.calls.append(("copy_text", text))

    def set_style(self, name: str) -> None:
        self.calls.append(("set_style", name))

    def open_config(self) -> None:
        self.calls.append(("open_config",))

    def reload_config(self) -> None:
        self.calls.append(("reload_config",))
        if self.reload_error:
            raise self.reload_error

    def quit(self) -> None:
        self.calls.append(("quit",))


def make_tray(model: TrayModel, name: str = "dictad") -> TrayIcon:
    """The tray the chooser picks for this session, telling of failed actions as the daemon does."""
    return choose_tray(current_session(), model, name, Desktop().notify)


def run_tray(tray: TrayIcon, scenario: Callable[[], None]) -> None:
    """Run ``tray`` in this (main) thread and ``scenario`` beside it once the icon is up;
    then stop the tray and raise what the scenario raised."""
    failures: list[BaseException] = []

    def drive() -> None:
        try:
            scenario()
        except BaseException as failure:
            failures.append(failure)
        finally:
            tray.stop()

    tray.run(lambda: threading.Thread(target=drive, daemon=True).start())
    if failures:
        raise failures[0]


@pytest.fixture
def desktop(tray_host, session_bus) -> None:
    """A tray host on the test display and a session bus, as in any desktop session."""


def test_committed_icons_are_what_the_script_draws() -> None:
    from dictad.icons.draw_icons import render

    for state in STATES:
        committed = load_icon(state)
        assert committed.size == (64, 64) and committed.mode == "RGBA", state
        difference = ImageChops.difference(committed, render(state))
        assert max(high for _, high in difference.getextrema()) <= 8, (
            f"icons/dictad-{state}.png is stale: run python icons/draw_icons.py")


def test_tooltip_names_state_detail_and_hotkey() -> None:
    assert tooltip("dictad", "recording", "3 s", "ctrl+alt") == "dictad — recording: 3 s (hotkey: ctrl+alt)"
    assert tooltip("dictad", "idle", "", "ctrl+alt") == "dictad — idle (hotkey: ctrl+alt)"


def test_a_recent_dictation_that_was_not_delivered_says_so_in_the_menu() -> None:
    assert recent_label("Call the plumber about the leak.", pinned=True) == "Not delivered: Call the plumber about the leak."
    assert recent_label("Call the plumber about the leak.", pinned=False) == "Call the plumber about the leak."


def test_long_recent_texts_are_shortened_to_one_line() -> None:
    label = shorten("Dear Sam,\n\nthanks for the report, I read it twice and have notes.", limit=30)
    assert label == "Dear Sam, thanks for the repo…"
    assert len(label) == 30
    assert shorten("short one") == "short one"


def test_without_a_display_there_is_no_tray_and_it_says_why(monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(TrayUnavailable, match="DISPLAY is not set"):
        make_tray(FakeDaemon())


@pytest.mark.slow
def test_each_state_shows_its_own_icon_in_the_tray(desktop) -> None:
    tray = make_tray(FakeDaemon(), name="dictad-states")
    shots: dict[str, bytes] = {}

    def show_each_state() -> None:
        icon = tray_icon_box("dictad-states")
        previous = b""
        for state in STATES:
            tray.show(state, "testing")
            shots[state] = previous = settled_pixels(icon, unlike=previous, what=f"the {state} icon")

    run_tray(tray, show_each_state)
    look_alike = [(first, second) for first, second in combinations(STATES, 2)
                  if shots[first] == shots[second]]
    assert look_alike == []


@pytest.mark.slow
def test_cleanup_clicked_in_the_real_menu_flips_the_mode_and_its_check_mark(desktop) -> None:
    daemon = FakeDaemon(cleanup_on=True)
    tray = make_tray(daemon, name="dictad-menu")

    def click_cleanup() -> None:
        menu = TrayMenu(tray_icon_box("dictad-menu"))
        opened = menu.open()
        checked_row = menu.first_row(opened)
        menu.click_first_item(opened)
        assert daemon.calls == [("toggle_cleanup",)]
        assert daemon.cleanup_on is False

        opened = menu.open()
        unchecked_row = menu.first_row(opened)
        menu.close(opened)
        assert unchecked_row != checked_row, "the check mark stayed after cleanup was switched off"

        daemon.cleanup_on = True  # switched elsewhere, e.g. over the control socket
        opened = menu.open(button=1)  # a left click opens the same menu
        assert menu.first_row(opened) == checked_row, "the menu did not follow cleanup switched on elsewhere"
        menu.close(opened)

    run_tray(tray, click_cleanup)


@pytest.mark.slow
def test_a_display_without_a_tray_host_gives_no_tray(x_display) -> None:
    with pytest.raises(TrayUnavailable, match="no system tray"):
        make_tray(FakeDaemon())


@pytest.mark.slow
def test_notify_and_stop_survive_a_desktop_without_notification_service(desktop, caplog) -> None:
    tray = make_tray(FakeDaemon(), name="dictad-quiet")
    notifier = choose_notifier(current_session(), "dictad-quiet")
    with caplog.at_level(logging.WARNING, logger="dictad.desktop.notify._dbus"):
        run_tray(tray, lambda: notifier.notify("cleanup failed: Ollama is not running"))
    assert "notification not shown" in caplog.text
    assert "Ollama is not running" in caplog.text


@pytest.mark.slow
def test_notify_shows_a_desktop_notification(desktop, notifications_sent) -> None:
    tray = make_tray(FakeDaemon(), name="dictad-notify")
    notifier = choose_notifier(current_session(), "dictad-notify")

    def notify() -> None:
        popups_before = notification_popups()
        notifier.notify("cleanup failed: Ollama is not running")
        wait_until(lambda: notification_popups() - popups_before, what="a notification popup")
        assert '"cleanup failed: Ollama is not running"' in notifications_sent()

    run_tray(tray, notify)


@pytest.mark.slow
def test_a_recent_dictation_chosen_in_the_menu_is_copied(desktop) -> None:
    daemon = FakeDaemon(recent=["newest dictation", "an older dictation " * 10])
    tray = make_tray(daemon, name="dictad-recent")

    def copy_the_older_one() -> None:
        menu = TrayMenu(tray_icon_box("dictad-recent"))
        opened = menu.open()
        daemon.recent.insert(0, "a dictation that arrived while the menu was open")
        # Recent dictations is the 8th item; Right opens it on its first entry.
        xdotool("key", *["Down"] * 8, "Right", "Down", "Return")
        wait_until(lambda: not menu.is_open(opened), what="the menu to close")
        assert daemon.calls == [("copy_text", "an older dictation " * 10)]

    run_tray(tray, copy_the_older_one)


@pytest.mark.slow
def test_a_menu_action_that_fails_says_why(desktop, notifications_sent, caplog) -> None:
    daemon = FakeDaemon(reload_error=ValueError("config.yaml line 3: unknown key 'cleanp'"))
    tray = make_tray(daemon, name="dictad-reload")

    def reload_config() -> None:
        menu = TrayMenu(tray_icon_box("dictad-reload"))
        popups_before = notification_popups()
        menu.open()
        xdotool("key", "Up", "Up", "Return")  # from the bottom: Quit, then Reload config
        wait_until(lambda: notification_popups() - popups_before, what="a notification popup")
        assert daemon.calls == [("reload_config",)]
        assert "reload config failed: config.yaml line 3: unknown key 'cleanp'" in notifications_sent()

    with caplog.at_level(logging.ERROR, logger="dictad.desktop.tray._pystray"):
        run_tray(tray, reload_config)
    assert "reload config failed" in caplog.text
    assert "unknown key 'cleanp'" in caplog.text


@pytest.mark.slow
def test_the_icon_comes_back_after_a_panel_restart(desktop, tray_host) -> None:
    daemon = FakeDaemon()
    tray = make_tray(daemon, name="dictad-restart")

    def restart_the_panel() -> None:
        tray_icon_box("dictad-restart")
        tray_host.kill()
        tray_host.wait()
        tray.show("recording", "1 s")
        with running_tray_host():
            settled_pixels(tray_icon_box("dictad-restart"), what="the icon in the new panel")

    run_tray(tray, restart_the_panel)


@pytest.mark.slow
def test_an_x_error_in_the_tray_does_not_end_the_daemon(desktop) -> None:
    # GTK ends the whole process on an X error it has not trapped: in a child process, so that
    # the test fails rather than ending the test run.
    child = subprocess.run([sys.executable, "-m", "tests.rig.tray_meets_x_error"], cwd=Path(__file__).parents[1],
                           capture_output=True, text=True, timeout=60)
    assert (child.returncode, child.stdout.strip()) == (0, "stopped"), child.stderr
