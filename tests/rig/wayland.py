"""A headless Wayland desktop for tests: sway with a virtual keyboard, a GTK 3 window and foot as targets.

Fixture: ``sway`` (per module: sway on its own socket in this run's runtime directory, with
WAYLAND_DISPLAY and SWAYSOCK set and DISPLAY unset while it runs). Context managers:
``running_sway`` (the same, with key bindings or a bar of the test's choosing) and ``running_weston`` (a
compositor with no virtual keyboard and no seat, the way GNOME looks to wtype).
The recipes and their traps are those of ../shared/wayland-test-rig.md: sway refuses to start
as root unless its setuid probe fails (a two-function LD_PRELOAD shim), and with no real keyboard
the seat loses its keyboard each time a wtype exits, so a holder wtype keeps one for the whole run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image

from tests.rig.environment import environment
from tests.rig.processes import dying_with_this_process
from tests.rig.speech import require_tools
from tests.rig.waiting import wait_until

GTK_TARGET = Path(__file__).with_name("wayland_target.py")
NO_SETUID = """#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/types.h>
static int in_sway(void) { return strcmp(program_invocation_short_name, "sway") == 0; }
int setuid(uid_t u) {
    if (in_sway()) { errno = EPERM; return -1; }
    return ((int (*)(uid_t))dlsym(RTLD_NEXT, "setuid"))(u);
}
int setgid(gid_t g) {
    if (in_sway()) { errno = EPERM; return -1; }
    return ((int (*)(gid_t))dlsym(RTLD_NEXT, "setgid"))(g);
}
"""
"""sway's setuid probe must fail; Xwayland, which inherits LD_PRELOAD, drops its privileges for real
before it runs xkbcomp (and gives up on the keymap when that fails)."""
SWAY_CONFIG = "output HEADLESS-1 resolution 1280x800\n"
SAY_DISPLAY = '#!/bin/sh\nprintf %s "$DISPLAY" > "$1.tmp" && mv "$1.tmp" "$1"\n'
"""sway sets DISPLAY to its XWayland's for the commands it runs: this one tells the rig which it is."""
STARTUP_TIMEOUT_S = 10.0


@dataclass
class WaylandTarget:
    """A window that reports the text it got through a file."""

    app_id: str
    out: Path
    process: subprocess.Popen

    def text(self) -> str:
        return self.out.read_bytes().decode("utf-8", errors="replace") if self.out.exists() else ""

    def wait_for_text(self, expected: str, timeout: float = 5.0) -> str:
        try:
            wait_until(lambda: expected in self.text(), timeout, f"{expected!r} in {self.app_id}")
        except AssertionError as failure:
            raise AssertionError(f"{failure}; it is {self.text()!r}") from None
        return self.text()


@dataclass
class SwaySession:
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    x_display: str = ""  # XWayland's DISPLAY, when sway runs one

    def swaymsg(self, *args: str) -> str:
        done = subprocess.run(["swaymsg", *args], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise AssertionError(f"swaymsg {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def focused_app_id(self) -> str:
        tree = json.loads(self.swaymsg("-t", "get_tree"))
        return _focused_app_id(tree) or ""

    def open_gtk_window(self, app_id: str = "dictad-target", backend: str = "wayland") -> WaylandTarget:
        """A GTK 3 TextView that takes the focus (sway focuses a new window); with ``backend="x11"``,
        an X11 window under XWayland, whose instance name is ``app_id``."""
        out = self.folder / f"{app_id}.txt"
        process = self._start([sys.executable, str(GTK_TARGET), str(out), app_id],
                              GDK_BACKEND=backend, NO_AT_BRIDGE="1", DISPLAY=self.x_display)
        return self._focused(WaylandTarget(app_id, out, process))

    def open_xterm(self) -> WaylandTarget:
        """xterm under XWayland running ``cat`` into a file, like ``open_foot``."""
        out = self.folder / "xterm.txt"
        out.write_bytes(b"")
        process = self._start(["xterm", "-e", "sh", "-c", f"stty -icanon -echo; exec cat > {out}"],
                              DISPLAY=self.x_display)
        return self._focused(WaylandTarget("xterm", out, process))

    def open_foot(self) -> WaylandTarget:
        """foot (app id "foot") running ``cat`` into a file: every byte the terminal's program gets."""
        out = self.folder / "foot.txt"
        out.write_bytes(b"")
        process = self._start(["foot", "sh", "-c", f"stty -icanon -echo; exec cat > {out}"])
        return self._focused(WaylandTarget("foot", out, process))

    def screenshot(self) -> Image.Image:
        """The whole output as the compositor composes it (grim)."""
        shot = self.folder / "screenshot.png"
        subprocess.run(["grim", str(shot)], check=True, timeout=10)
        with Image.open(shot) as image:
            return image.convert("RGB")

    def wtype(self, *args: str) -> None:
        subprocess.run(["wtype", *args], check=True, timeout=10)

    def _start(self, command: list[str], **variables: str) -> subprocess.Popen:
        process = subprocess.Popen(command, env={**os.environ, **variables},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def _focused(self, target: WaylandTarget) -> WaylandTarget:
        wait_until(lambda: self.focused_app_id() == target.app_id, STARTUP_TIMEOUT_S, f"{target.app_id} to have the focus")
        wait_until(lambda: target.out.exists(), STARTUP_TIMEOUT_S, f"{target.app_id} to write its text")
        return target


def _focused_app_id(node: dict) -> str | None:
    """The focused window's app id; an XWayland window's X11 instance name."""
    if node.get("focused"):
        return node.get("app_id") or node.get("window_properties", {}).get("instance")
    for child in node.get("nodes", []) + node.get("floating_nodes", []):
        found = _focused_app_id(child)
        if found is not None:
            return found
    return None


def _no_setuid_shim(folder: Path) -> Path:
    source, shim = folder / "nosetuid.c", folder / "nosetuid.so"
    source.write_text(NO_SETUID)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(source)], check=True, timeout=60)
    return shim


def _stop_all(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _new_socket(runtime_dir: Path, pattern: str, before: set[Path], process: subprocess.Popen, log: Path) -> Path:
    def appeared() -> Path | None:
        if process.poll() is not None:
            raise AssertionError(f"the compositor exited: {log.read_text()[-2000:]}")
        return next((path for path in runtime_dir.glob(pattern) if path not in before), None)
    return wait_until(appeared, STARTUP_TIMEOUT_S, f"{pattern} in {runtime_dir}")


@contextlib.contextmanager
def running_sway(folder: Path, extra_config: str = "", xwayland: bool = False) -> Iterator[SwaySession]:
    """sway, headless, in this process's XDG_RUNTIME_DIR (where a binding's `dictad stop` finds the
    daemon's control socket), with ``extra_config`` (key bindings, a bar) added to its config, and a
    holder keyboard. With ``xwayland``, sway runs XWayland too, and DISPLAY is set to it."""
    require_tools("sway", "swaymsg", "wtype", "wl-copy", "gcc", *(("Xwayland", "xdpyinfo") if xwayland else ()))
    runtime_dir = Path(os.environ["XDG_RUNTIME_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sway.conf"
    config.write_text(SWAY_CONFIG + _xwayland_config(folder, xwayland) + extra_config)
    log = folder / "sway.log"
    before = set(runtime_dir.glob("wayland-*")) | set(runtime_dir.glob("sway-ipc.*.sock"))
    variables = dict(WLR_BACKENDS="headless", WLR_LIBINPUT_NO_DEVICES="1", WLR_RENDERER="pixman",
                     LD_PRELOAD=str(_no_setuid_shim(folder)))
    with log.open("w") as output, environment(DISPLAY=None, WAYLAND_DISPLAY=None):
        # a group of its own, ended whole (XWayland with it); XWayland dumps core in its working directory
        sway = subprocess.Popen(dying_with_this_process(["sway", "-c", str(config)]), cwd=folder,
                                env={**os.environ, **variables}, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)
    session = SwaySession(folder, [sway])
    try:
        ipc = _new_socket(runtime_dir, "sway-ipc.*.sock", before, sway, log)
        display = _new_socket(runtime_dir, "wayland-[0-9]", before, sway, log)
        if xwayland:
            session.x_display = _xwayland_display(folder, sway, log)
        with environment(WAYLAND_DISPLAY=display.name, SWAYSOCK=str(ipc), DISPLAY=session.x_display or None,
                         XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="sway"):
            session.processes.append(subprocess.Popen(dying_with_this_process(["wtype", "-s", "3600000"])))
            yield session
    finally:
        _stop_all(session.processes)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sway.pid, signal.SIGKILL)


def _xwayland_config(folder: Path, xwayland: bool) -> str:
    if not xwayland:
        return "xwayland disable\n"
    say_display = folder / "say_display.sh"
    say_display.write_text(SAY_DISPLAY)
    say_display.chmod(0o755)
    return f"xwayland force\nexec {say_display} {folder / 'display'}\n"


def _xwayland_display(folder: Path, sway: subprocess.Popen, log: Path) -> str:
    """XWayland's DISPLAY, once it answers (it starts with sway, and takes the first free display number)."""
    said = folder / "display"

    def answering() -> str | None:
        if sway.poll() is not None:
            raise AssertionError(f"sway exited: {log.read_text()[-2000:]}")
        if not said.exists():
            return None
        name = said.read_text()
        done = subprocess.run(["xdpyinfo", "-display", name], capture_output=True, timeout=10)
        return name if done.returncode == 0 else None
    return wait_until(answering, STARTUP_TIMEOUT_S, "XWayland to answer")


@pytest.fixture(scope="module")
def sway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwaySession]:
    with running_sway(tmp_path_factory.mktemp("sway")) as session:
        yield session


@contextlib.contextmanager
def running_weston(folder: Path) -> Iterator[None]:
    """weston, headless: no virtual-keyboard protocol and no seat (wtype and wl-copy both refuse)."""
    require_tools("weston")
    runtime_dir = Path(os.environ["XDG_RUNTIME_DIR"])
    name = f"wayland-weston-{os.getpid()}"
    log = folder / "weston.log"
    with log.open("w") as output:
        weston = subprocess.Popen(
            dying_with_this_process(["weston", "--backend=headless-backend.so", f"--socket={name}", "--idle-time=0"]),
            stdout=output, stderr=subprocess.STDOUT)
    try:
        _new_socket(runtime_dir, name, set(), weston, log)
        with environment(WAYLAND_DISPLAY=name, DISPLAY=None, SWAYSOCK=None, XDG_SESSION_TYPE="wayland",
                         XDG_CURRENT_DESKTOP="weston"):
            yield
    finally:
        _stop_all([weston])
