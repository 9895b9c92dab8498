"""The event log: one JSON line per event (``--events FILE``), and the listeners that hear each.

Every stage of a dictation and every state change is an event (dictad.state emits ``state``),
each with a monotonic time ``t``, so that a user or a bench can see where the time goes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)


Listener = Callable[[str, dict[str, Any]], None]


class EventLog:
    """Appends ``{"event": name, "t": monotonic seconds, ...}`` lines and tells listeners."""

    def __init__(self, path: Path | None = None):
        self._file: TextIO | None = path.open("a", encoding="utf-8", buffering=1) if path else None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "t": round(time.monotonic(), 4), **fields}
        with self._lock:
            if self._file is not None:
                self._write(json.dumps(record, ensure_ascii=False) + "\n")
        for listener in self._listeners:
            try:
                listener(event, record)
            except Exception:
                log.exception("event listener failed on %s", event)

    def _write(self, line: str) -> None:
        """Append ``line``; a log that cannot be written (a full disk) is given up, not the dictation."""
        try:
            self._file.write(line)
        except OSError as error:
            log.error("the event log %s cannot be written (%s): no more events are written to it",
                      self._file.name, error.strerror)
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
