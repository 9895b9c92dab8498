"""The audio of a recording in progress, on disk as it arrives, so that a crash loses no words.

One file per recording in ``$XDG_STATE_HOME/dictad/journal``, user-only: 16 kHz mono 16-bit PCM,
extended at every block the microphone delivers (100 ms, 3.2 kB), completed when the recording
stops, and removed once its dictation is in the history (or delivered). A file found there at
start is a dictation that a crash (or a kill) interrupted: the daemon transcribes it and keeps it
in the history, marked recovered. Plain writes, no fsync: a killed process loses nothing the
kernel already has; the cost is measured by ``python bench/latency.py --history true|false``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import platformdirs

from dictad.config import APP_NAME

log = logging.getLogger(__name__)

SUFFIX = ".s16"


def journal_folder() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "journal"


class JournalFile:
    """One recording's audio on disk. Safe from two threads: the one that journals the blocks as
    they come, and the one that stops the recording."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND, 0o600)
        self._written = 0
        self._lock = threading.Lock()

    @property
    def samples_written(self) -> int:
        return self._written

    def extend(self, samples: np.ndarray, offset: int) -> None:
        """Write what is new in ``samples``, which begin at sample ``offset`` of the recording.
        A failed write (a full disk) ends the journal, never the recording."""
        with self._lock:
            new = samples[self._written - offset:] if offset <= self._written else samples[:0]
            if self._fd is None or not len(new):
                return
            try:
                os.write(self._fd, (np.clip(new, -1.0, 1.0) * 32767).astype("<i2").tobytes())
            except OSError as error:
                log.warning("the recording is no longer journaled (%s): a crash now would lose it", error)
                self._close()
                return
            self._written += len(new)

    def complete(self, audio: np.ndarray) -> None:
        """The recording stopped with ``audio``: write the rest; the file stays until ``discard``."""
        self.extend(audio, 0)
        with self._lock:
            self._close()

    def discard(self) -> None:
        """Its dictation is safe (in the history, or delivered), or was thrown away: remove it."""
        with self._lock:
            self._close()
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("the journal %s could not be removed: %s", self.path, error)

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError as error:  # a network file system may report a failed write only here
                log.warning("the journal %s may be incomplete: %s", self.path, error)


def start_journal(folder: Path) -> JournalFile | None:
    """A journal for a new recording; None (and a warning) when none can be made here."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return JournalFile(folder / f"{time.time_ns()}{SUFFIX}")
    except OSError as error:
        log.warning("the recording is not journaled (%s): a crash would lose it", error)
        return None


def leftovers(folder: Path) -> list[Path]:
    """Journals a crash left behind, oldest first."""
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def read_journal(path: Path) -> np.ndarray:
    """A journal's audio, float32 16 kHz (a torn last sample is dropped)."""
    data = path.read_bytes()
    return np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32767
