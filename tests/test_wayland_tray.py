"""The tray on Wayland: dictad's StatusNotifierItem in swaybar, the tray of a headless sway.

The daemon runs as users run it (`dictad run`); swaybar is the real host: it owns the
StatusNotifierWatcher, registers the item and draws its icon, which the test sees in a screenshot
(grim). Menu clicks go over D-Bus (com.canonical.dbusmenu), as swaybar sends them when the user
clicks: the headless seat has no pointer to click swaybar itself.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dictad.icons import icon_file
from tests.rig.daemon import DaemonProcess, daemons
from tests.rig.speech import require_tools
from tests.rig.status_notifier import StatusNotifierHost
from tests.rig.waiting import wait_until
from tests.rig.wayland import SwaySession, running_sway

pytestmark = pytest.mark.slow

SWAYBAR = "bar {\n  tray_output *\n}\n"
RECORDING_RED, PAUSED_GREY = (217, 48, 37), (154, 160, 166)  # the icons' main colours (icons/draw_icons.py)
BAR_ROWS = 40  # swaybar sits at the bottom of the output
ICON_PIXELS = 10  # drawn at the bar's height, the paused icon keeps about 30 pixels near its grey, the red one 100
NEAR = 16  # per channel: scaling blends the icon's edges


@pytest.fixture
def sway_with_bar(tmp_path: Path, session_bus: str, audio_rig) -> Iterator[tuple[SwaySession, StatusNotifierHost]]:
    require_tools("swaybar", "grim")
    with running_sway(tmp_path / "sway", extra_config=SWAYBAR) as session:
        host = StatusNotifierHost()
        try:
            wait_until(host.has_watcher, 10, "swaybar to own the StatusNotifierWatcher")
            yield session, host
        finally:
            host.close()


@pytest.fixture
def start_daemon(sway_with_bar, tmp_path: Path) -> Iterator[Callable[[str], DaemonProcess]]:
    with daemons(tmp_path) as start:
        yield start


def pixels_in_the_bar(session: SwaySession, colour: tuple[int, int, int]) -> int:
    shot = session.screenshot()
    bar = shot.crop((0, shot.height - BAR_ROWS, shot.width, shot.height))
    return sum(1 for pixel in bar.get_flattened_data() if max(abs(a - b) for a, b in zip(pixel, colour)) <= NEAR)


def dictad(*args: str, check: bool = True) -> str:
    done = subprocess.run([sys.executable, "-m", "dictad", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return done.stdout


def test_swaybar_shows_dictads_state_and_its_menu_switches_the_daemon(sway_with_bar, start_daemon) -> None:
    session, host = sway_with_bar
    daemon = start_daemon("mode: hold\n")
    assert "[ok] tray: appindicator; skipped gtk: no X display" in dictad("doctor", check=False)  # no key bindings here
    item = wait_until(lambda: host.item_named("dictad"), 10, f"dictad's item in swaybar; log:\n{daemon.log()}")
    assert "Registering Status Notifier Item" in (session.folder / "sway.log").read_text()
    assert Path(host.property(item, "IconThemePath"), "dictad-idle.png") == Path(str(icon_file("idle")))
    assert host.property(item, "IconName") == "dictad-idle"
    assert host.property(item, "Title").startswith("dictad — idle")
    assert pixels_in_the_bar(session, RECORDING_RED) == 0

    dictad("start")
    wait_until(lambda: pixels_in_the_bar(session, RECORDING_RED) > ICON_PIXELS, 10, "the red icon in swaybar")
    assert host.property(item, "IconName") == "dictad-recording"
    assert host.property(item, "Title").startswith("dictad — recording")
    dictad("cancel")
    wait_until(lambda: host.property(item, "IconName") == "dictad-idle", 10, "the idle icon again")

    menu = host.menu(item)
    assert [entry.label for entry in menu.children if entry.label] == [
        "Cleanup", "Style", "Hold to talk", "Press to start, press to stop", "Pause dictation",
        "Copy last dictation", "Paste last dictation again", "Recent dictations", "Open config",
        "Reload config", "Quit"]
    assert menu.find("Pause dictation").toggle_state == 0
    host.click(item, menu.find("Pause dictation"))
    wait_until(lambda: dictad("status").startswith("state: disabled"), 10, "the daemon to be paused")
    wait_until(lambda: pixels_in_the_bar(session, PAUSED_GREY) > ICON_PIXELS, 10, "the paused icon in swaybar")
    wait_until(lambda: host.menu(item).find("Pause dictation").toggle_state == 1, 10, "Pause to be checked")
    assert pixels_in_the_bar(session, RECORDING_RED) == 0

    host.click(item, host.menu(item).find("Quit"))
    assert daemon.process.wait(timeout=15) == 0
    wait_until(lambda: host.item_named("dictad") is None, 10, "the item to leave swaybar")
