"""A running ``dictad run`` and its ``--events`` log, for the desktop tests and bench/latency.py."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.rig.waiting import wait_until

LOG_TAIL_CHARS = 3000


@dataclass
class DaemonProcess:
    process: subprocess.Popen
    events_path: Path
    log_path: Path
    _events: list[dict] = field(default_factory=list, init=False, repr=False)
    _bytes_read: int = field(default=0, init=False, repr=False)

    def events(self) -> list[dict]:
        """Every event logged so far; a line still being written is left for the next call.

        Only the bytes added since the last call are read: callers poll this every 20 ms while
        dictad decodes on the same cores, and parsing the whole log each time slowed its decodes
        by a tenth (bench/README.md).
        """
        if self.events_path.exists():
            with self.events_path.open("rb") as log:
                log.seek(self._bytes_read)
                added = log.read()
            complete = added[: added.rfind(b"\n") + 1]
            self._bytes_read += len(complete)
            self._events += [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]
        return list(self._events)

    def events_named(self, name: str, after: int = 0) -> list[dict]:
        """The ``name`` events after the first ``after`` events."""
        return [event for event in self.events()[after:] if event["event"] == name]

    def event(self, name: str, after: int = 0) -> dict | None:
        """The first ``name`` event after the first ``after`` events, if it has come."""
        return next(iter(self.events_named(name, after)), None)

    def mark(self) -> int:
        """How many events there are so far: pass it as ``after`` to look only at later ones."""
        return len(self.events())

    def log(self) -> str:
        """The end of the daemon's log (stdout and stderr), and its exit status if it has ended."""
        log = self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:] if self.log_path.exists() else ""
        ended = self.process.poll()
        return log if ended is None else f"{log}\n(dictad exited with status {ended})"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def daemons(folder: Path) -> Iterator[Callable[[str], DaemonProcess]]:
    """A function that starts `dictad run` with a config text and waits for it to be ready; every
    daemon it started is stopped afterwards."""
    started: list[DaemonProcess] = []

    def start(config_text: str = "mode: hold\n") -> DaemonProcess:
        number = len(started)
        config, events, log = folder / f"config{number}.yaml", folder / f"events{number}.jsonl", folder / f"daemon{number}.log"
        config.write_text(config_text)
        with log.open("w") as out:
            # faulthandler: a crash in a C library shows its Python stack in the log
            process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "dictad", "run", "--config",
                                        str(config), "--events", str(events)], stdout=out, stderr=subprocess.STDOUT)
        daemon = DaemonProcess(process, events, log)
        started.append(daemon)
        wait_until(lambda: daemon.event("ready"), 60, f"the daemon to be ready; its log:\n{daemon.log()}")
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            daemon.stop()


def auto_device() -> str:
    """Where ``transcription.device: auto`` puts the speech model on this machine: CTranslate2's choice."""
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() else "cpu"
