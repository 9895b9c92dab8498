"""A real X desktop for tests: Xvfb, a session bus, notifications, a tray, and a window to type into.

Fixtures (import the ones a test module uses, or let conftest.py import them):
``x_display`` (session: a private Xvfb, DISPLAY set while the session runs),
``session_bus`` (session: dbus-launch, DBUS_SESSION_BUS_ADDRESS set),
``notification_daemon`` and ``tray_host`` (per test: the services are there only for tests that ask),
``target_window`` (per test: a focused Tk window) and ``target_window_factory`` (open more, or
ones that pose as terminals).
Helpers: ``wait_until`` (synchronise on conditions, never on bare sleeps), ``xdotool``, ``keys_held``.
Outside pytest (benchmarks), the same rig as context managers: ``running_xvfb``,
``running_session_bus`` and ``opened_target_window``.
The recipes are those of ../shared/desktop-test-rig.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest
from Xlib.display import Display

from tests.rig.environment import environment
from tests.rig.processes import dying_with_this_process
from tests.rig.speech import require_tools
from tests.rig.waiting import wait_until

T = TypeVar("T")

TARGET_APP = Path(__file__).with_name("target_app.py")
NOTIFICATION_DAEMON = "/usr/lib/notification-daemon/notification-daemon"
TRAYER_ARGS = ["--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200",
               "--height", "32", "--transparent", "false"]


def xdotool(*args: str) -> str:
    """Run xdotool on the current DISPLAY and return what it printed."""
    done = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def keyboard_layouts(layouts: str, options: str = "", variant: str = "") -> Iterator[None]:
    """Switch the test display to ``layouts`` (setxkbmap's, e.g. "us,ru") and back to plain "us"."""
    subprocess.run(["setxkbmap", "-layout", layouts, "-variant", variant, "-option", "", "-option", options],
                   check=True, timeout=10)
    try:
        yield
    finally:
        lock_layout(0)
        subprocess.run(["setxkbmap", "-layout", "us", "-variant", "", "-option", ""], check=True, timeout=10)


def lock_layout(index: int) -> None:
    """Turn on layout ``index`` (0 for the first), as a user's layout switch does; libX11's
    XkbLockGroup, since no xdotool key does it reliably on every keymap."""
    libx11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11"))
    libx11.XOpenDisplay.restype = ctypes.c_void_p
    display = ctypes.c_void_p(libx11.XOpenDisplay(None))
    try:
        use_core_keyboard = 0x100
        if not libx11.XkbLockGroup(display, use_core_keyboard, index):
            raise AssertionError("XkbLockGroup failed")
        libx11.XSync(display, 0)
    finally:
        libx11.XCloseDisplay(display)


@contextlib.contextmanager
def keys_held(combination: str) -> Iterator[None]:
    """Hold ``combination`` (xdotool syntax, e.g. "ctrl+alt+space") down, and always let go."""
    xdotool("keydown", combination)
    try:
        yield
    finally:
        xdotool("keyup", "+".join(reversed(combination.split("+"))))


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read_display_number(fd: int, process: subprocess.Popen, timeout: float) -> str:
    """Xvfb's -displayfd writes the number it chose, then a newline, once it accepts connections.

    The newline comes in a write of its own, and Xvfb dies if it cannot write it:
    the pipe must stay open until it has been read.
    """
    deadline = time.monotonic() + timeout
    received = b""
    while not received.endswith(b"\n") and time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        chunk = os.read(fd, 64) if readable else b""
        if readable and not chunk:
            break
        received += chunk
    if not received.endswith(b"\n"):
        _stop(process)
        raise RuntimeError(f"Xvfb did not start within {timeout:g} s")
    return received.decode().strip()


@contextlib.contextmanager
def running_xvfb() -> Iterator[str]:
    """A private Xvfb (never the developer's own desktop), as an X11 session: DISPLAY is set to it
    while it runs; yields DISPLAY."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        dying_with_this_process(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24",
                                 "-nolisten", "tcp", "-noreset"]),
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        display = ":" + _read_display_number(read_end, process, timeout=10)
    finally:
        os.close(read_end)
    with environment(DISPLAY=display, WAYLAND_DISPLAY=None, XDG_SESSION_TYPE="x11"):
        try:
            yield display
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A private Xvfb (never the developer's own desktop), as an X11 session, for the whole run."""
    require_tools("Xvfb", "xdotool")
    with running_xvfb() as display:
        yield display


@contextlib.contextmanager
def running_session_bus() -> Iterator[str]:
    """A private D-Bus session bus, with DBUS_SESSION_BUS_ADDRESS set to it while it runs; yields the address.
    It ends with the X server on DISPLAY, if not before."""
    output = subprocess.run(["dbus-launch", "--sh-syntax", "--exit-with-x11"], capture_output=True, text=True,
                            check=True, timeout=10).stdout
    address = re.search(r"DBUS_SESSION_BUS_ADDRESS='([^']+)'", output).group(1)
    pid = int(re.search(r"DBUS_SESSION_BUS_PID=(\d+)", output).group(1))
    with environment(DBUS_SESSION_BUS_ADDRESS=address):
        try:
            yield address
        finally:
            os.kill(pid, 15)


@pytest.fixture(scope="session")
def session_bus(x_display: str) -> Iterator[str]:
    """A private D-Bus session bus; yields its address."""
    require_tools("dbus-launch")
    with running_session_bus() as address:
        yield address


def _bus_name_has_owner(name: str) -> bool:
    reply = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
        capture_output=True, text=True, timeout=10,
    ).stdout
    return "boolean true" in reply


@pytest.fixture
def notification_daemon(x_display: str, session_bus: str) -> Iterator[subprocess.Popen]:
    """org.freedesktop.Notifications on the session bus, for this test only."""
    if not os.access(NOTIFICATION_DAEMON, os.X_OK):
        pytest.skip(f"{NOTIFICATION_DAEMON} missing (apt-get install notification-daemon)")
    require_tools("dbus-send")
    # an X client even while a Wayland test's compositor has DISPLAY unset (it cannot run on Wayland)
    process = subprocess.Popen([NOTIFICATION_DAEMON], env={**os.environ, "DISPLAY": x_display, "GDK_BACKEND": "x11"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _bus_name_has_owner("org.freedesktop.Notifications"), 10,
                   "notification-daemon to own org.freedesktop.Notifications")
        yield process
    finally:
        _stop(process)
        wait_until(lambda: not _bus_name_has_owner("org.freedesktop.Notifications"), 10,
                   "org.freedesktop.Notifications to be released")


@pytest.fixture
def notifications_sent(notification_daemon: subprocess.Popen, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """What the desktop notifications sent during the test said: a function returning dbus-monitor's
    record of every Notify call (summary and body as quoted strings). A popup on screen shows that
    a notification came; this shows what it says."""
    record = tmp_path / "notifications.txt"
    with record.open("w") as out:
        monitor = subprocess.Popen(
            dying_with_this_process(["dbus-monitor", "--session", "type='method_call',"
                                     "interface='org.freedesktop.Notifications',member='Notify'"]),
            stdout=out, stderr=subprocess.STDOUT)
    try:
        # dbus-monitor gives up its bus name once it has become a monitor: from then on it sees all.
        wait_until(lambda: "member=NameLost" in record.read_text(), 10, "dbus-monitor to listen")
        yield record.read_text
    finally:
        _stop(monitor)


def _tray_selection_owned() -> bool:
    with contextlib.closing(Display()) as display:
        tray = display.intern_atom(f"_NET_SYSTEM_TRAY_S{display.get_default_screen()}")
        return display.get_selection_owner(tray) != 0


@contextlib.contextmanager
def running_tray_host() -> Iterator[subprocess.Popen]:
    """A system tray (trayer, top right of the 1280x800 screen) on DISPLAY while the block runs."""
    require_tools("trayer")
    process = subprocess.Popen(["trayer", *TRAYER_ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(_tray_selection_owned, 10, "trayer to take the system tray selection")
        yield process
    finally:
        _stop(process)


@pytest.fixture
def tray_host(x_display: str) -> Iterator[subprocess.Popen]:
    """A system tray for this test only."""
    with running_tray_host() as process:
        yield process


@dataclass
class TargetWindow:
    """A running target_app.py: what it shows, the keys it got, and its X window."""

    process: subprocess.Popen
    out: Path
    wid: int
    class_name: str
    closed: bool = False

    def text(self) -> str:
        return (self.out / "text").read_text(encoding="utf-8")

    def changes(self) -> list[tuple[float, int]]:
        """(time.monotonic() in the window's process, length of the text) after every text change."""
        changes = self.out / "changes"
        if not changes.exists():
            return []
        complete_lines = changes.read_text(encoding="utf-8").split("\n")[:-1]
        return [(float(at), int(length)) for at, length in (line.split() for line in complete_lines)]

    def keys(self) -> list[str]:
        """The keysyms of every key press the window received, in order."""
        keys = self.out / "keys"
        return keys.read_text(encoding="utf-8").split() if keys.exists() else []

    def settle(self) -> None:
        """Wait until every key sent so far has reached the window: a marker key (F12, which Tk
        types nothing for) sent now arrives after them. Check that a key did *not* arrive after this."""
        markers = self.keys().count("F12")
        xdotool("key", "F12")
        wait_until(lambda: self.keys().count("F12") > markers, 5, "the marker key F12 to reach the window")

    def wait_for_text(self, expected: str | Callable[[str], bool], timeout: float = 5.0) -> str:
        """Wait until the text contains ``expected`` (or satisfies it); return the text."""
        check = expected if callable(expected) else (lambda text: expected in text)
        try:
            wait_until(lambda: check(self.text()), timeout, f"the target window's text to match {expected!r}")
        except AssertionError as failure:
            raise AssertionError(f"{failure}; it is {self.text()!r}, after key presses {self.keys()}") from None
        return self.text()

    def focus(self) -> None:
        xdotool("windowfocus", "--sync", str(self.wid))

    def close(self) -> None:
        if not self.closed:
            _stop(self.process)
            self.closed = True


@contextlib.contextmanager
def opened_target_window(folder: Path, class_name: str = "DictadTarget", paste: str = "tk") -> Iterator[TargetWindow]:
    """A focused Tk target window (target_app.py) that writes what it shows into ``folder``; closed afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(TARGET_APP), "--out", str(folder), "--class-name", class_name, "--paste", paste],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wid_file = folder / "wid"
    try:
        wait_until(lambda: wid_file.exists() or process.poll() is not None, 10, "the target window to map")
        if process.poll() is not None:
            raise RuntimeError(f"target_app.py failed: {process.stderr.read().decode()}")
    except BaseException:
        _stop(process)
        raise
    window = TargetWindow(process, folder, int(wid_file.read_text()), class_name)
    try:
        window.focus()
        yield window
    finally:
        window.close()


@pytest.fixture
def target_window_factory(x_display: str, tmp_path_factory: pytest.TempPathFactory
                          ) -> Iterator[Callable[..., TargetWindow]]:
    """Opens focused Tk target windows: ``open(class_name="kitty", paste="terminal")``."""
    with contextlib.ExitStack() as opened:
        def open_target_window(class_name: str = "DictadTarget", paste: str = "tk") -> TargetWindow:
            folder = tmp_path_factory.mktemp("target")
            return opened.enter_context(opened_target_window(folder, class_name, paste))

        yield open_target_window


@pytest.fixture
def target_window(target_window_factory: Callable[..., TargetWindow]) -> TargetWindow:
    """A focused Tk window with one Text widget: the app dictated text should land in."""
    return target_window_factory()
