"""A running ``dictad run`` and its ``--events`` log, for the desktop tests and bench/latency.py."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

LOG_TAIL_CHARS = 3000


@dataclass
class DaemonProcess:
    process: subprocess.Popen
    events_path: Path
    log_path: Path

    def events(self) -> list[dict]:
        """Every event logged so far; a line still being written is left for the next call."""
        if not self.events_path.exists():
            return []
        complete_lines = self.events_path.read_text(encoding="utf-8").split("\n")[:-1]
        return [json.loads(line) for line in complete_lines if line.strip()]

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
        """The end of the daemon's log (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
