"""Every dictation, kept: the tray's Recent dictations, ``dictad recent`` and ``dictad history``.

An SQLite file in the user's data directory, that only the user can read (0600 in a 0700
directory), one row per dictation: when, what was heard, the final text, how it was cleaned, where
it went or why not, and how long each stage took. What could not be delivered stays pinned in
Recent until the user takes it (copies or inserts it) or it ages out (``history.max_days``,
``history.max_entries``). With ``history.enabled: false`` the same store lives in memory only.

Nothing here may cost a dictation: a file that cannot be read is moved aside and a new one
started; one that cannot be written keeps the entries in memory, and says why (``problem``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path

import numpy as np
import platformdirs

from dictad.audio_file import write_wav
from dictad.config import APP_NAME, HistoryConfig

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"
RECENT_LIMIT = 10
"""How many dictations Recent shows, besides the pinned ones."""
_DAY_S = 86400.0


class HistoryError(Exception):
    """The history could not be read or written; the message says what and where."""


@dataclass(frozen=True)
class Entry:
    """One dictation as the history keeps it."""

    id: int
    at: float
    """When its recording ended (seconds since the epoch)."""
    raw: str
    """What the recogniser heard."""
    text: str
    """What the user got (or was to get)."""
    cleaner: str = ""
    delivered: bool = False
    method: str = ""
    """How it went in ("paste", "type"), or "clipboard" when it was left there for the user."""
    target: str = ""
    """The focused application it went to: window class on X11, app id on Wayland."""
    reason: str = ""
    """Why it was not delivered (or why it was typed instead of pasted)."""
    recovered: bool = False
    """Transcribed at a start from the audio a crash left behind."""
    taken: bool = False
    """An undelivered one that the user has since copied or inserted."""
    audio_seconds: float = 0.0
    transcribe_s: float = 0.0
    clean_s: float = 0.0
    deliver_s: float = 0.0
    audio_file: str = ""
    """Its audio, kept for ``history.audio`` days; "" when none is kept."""

    @property
    def pinned(self) -> bool:
        """Not delivered, and not taken yet: it stays at hand in Recent."""
        return not self.delivered and not self.taken


_COLUMNS = tuple(field.name for field in fields(Entry))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS dictations (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, raw TEXT NOT NULL, text TEXT NOT NULL, cleaner TEXT NOT NULL,
    delivered INTEGER NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL,
    recovered INTEGER NOT NULL, taken INTEGER NOT NULL, audio_seconds REAL NOT NULL, transcribe_s REAL NOT NULL,
    clean_s REAL NOT NULL, deliver_s REAL NOT NULL, audio_file TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dictations_at ON dictations (at);
"""
_UNREADABLE = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
"""The errors that mean the file is not a history dictad can read: it is moved aside. Others (a full
disk, a locked file, no permission) leave the file alone, for it may be whole."""


class _Damaged(sqlite3.DatabaseError):
    """The file opened, but its own check found it damaged."""



def data_folder() -> Path:
    """Where the history (and kept audio) live: ``$XDG_DATA_HOME/dictad``."""
    return Path(platformdirs.user_data_dir(APP_NAME))


class History:
    """The dictations kept so far. Safe from any thread; every call is short (one SQLite statement)."""

    def __init__(self, config: HistoryConfig, folder: Path | None = None):
        self._config = config
        self._lock = threading.Lock()
        self._unsaved: list[Entry] = []
        """Entries that could not be written, newest first: kept in memory until dictad quits."""
        self.problem: str | None = None
        """What went wrong with the file, for the user: moved aside, or kept in memory only."""
        self.folder = (folder or data_folder()) if config.enabled else None
        self._db_file = ":memory:"
        self._db = self._open()
        self._prune()

    def use_limits(self, config: HistoryConfig) -> None:
        """New ``max_days``, ``max_entries`` or ``audio`` (a reload), applied at once; ``enabled`` cannot change here."""
        self._config = config
        self._prune()

    # -- reading -----------------------------------------------------------------------------

    @property
    def on_disk(self) -> bool:
        """Whether what is added reaches a file (not when history is off, or no file could be used)."""
        return self._db_file != ":memory:"

    def recent(self, limit: int = RECENT_LIMIT) -> list[Entry]:
        """The last ``limit`` dictations and every pinned one, newest first."""
        rows = self._select("WHERE id IN (SELECT id FROM dictations ORDER BY id DESC LIMIT ?) "
                            "OR (delivered = 0 AND taken = 0) ORDER BY id DESC", (limit,))
        return self._with_unsaved(rows)

    def latest(self) -> Entry | None:
        entries = self.recent(limit=1)
        return entries[0] if entries else None

    def search(self, words: str = "", limit: int | None = None) -> list[Entry]:
        """Newest first, those whose text or transcript holds every word of ``words`` (any case)."""
        terms = words.split()
        where = " AND ".join("(text LIKE ? ESCAPE '\\' OR raw LIKE ? ESCAPE '\\')" for _ in terms) or "1"
        patterns = [pattern for term in terms for pattern in (_like(term),) * 2]
        rows = self._select(f"WHERE {where} ORDER BY id DESC LIMIT ?", (*patterns, -1 if limit is None else limit))
        return self._with_unsaved(rows, lambda entry: all(_holds(entry, term) for term in terms))[:limit]

    def get(self, entry_id: int) -> Entry | None:
        found = self._with_unsaved(self._select("WHERE id = ?", (entry_id,)), lambda entry: entry.id == entry_id)
        return found[0] if found else None

    def _with_unsaved(self, rows: list[Entry], wanted: Callable[[Entry], bool] = lambda entry: True) -> list[Entry]:
        """``rows`` and the ``wanted`` entries of those that could not be written, newest first."""
        with self._lock:
            unsaved = [entry for entry in self._unsaved if wanted(entry)]
        return sorted(unsaved + rows, key=lambda entry: entry.at, reverse=True)

    # -- writing -----------------------------------------------------------------------------

    def add(self, entry: Entry, audio: np.ndarray | None = None) -> Entry:
        """Keep ``entry`` (its id is given here), and its audio when ``history.audio`` keeps it.
        Raises HistoryError when it could not be written: it is then kept in memory."""
        values = astuple(replace(entry, id=None))  # SQLite numbers it
        try:
            with self._lock, self._db:
                entry_id = self._db.execute(f"INSERT INTO dictations VALUES ({', '.join('?' * len(_COLUMNS))})",
                                            values).lastrowid
        except sqlite3.Error as error:
            with self._lock:
                self._unsaved.insert(0, replace(entry, id=-len(self._unsaved) - 1))
            raise HistoryError(f"the dictation could not be written to {self._where()} ({error}); "
                               "it is kept in memory until dictad quits") from error
        kept = replace(entry, id=entry_id)
        if audio is not None and self.folder is not None and self._config.audio != "off":
            kept = self._keep_audio(kept, audio)
        self._prune()
        return kept

    def mark_taken(self, entry_id: int) -> None:
        """The user took this one (copied or inserted it): it is no longer pinned."""
        with self._lock:
            self._unsaved = [replace(entry, taken=True) if entry.id == entry_id else entry for entry in self._unsaved]
        self._write("UPDATE dictations SET taken = 1 WHERE id = ?", (entry_id,))

    def clear(self) -> int:
        """Forget every dictation (and its audio); returns how many there were."""
        entries = self.search()
        for entry in entries:
            _remove_quietly(entry.audio_file)
        with self._lock:
            self._unsaved.clear()
        self._write("DELETE FROM dictations", ())
        return len(entries)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the file ------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        """The history file, made user-only; one that is not a readable history is moved aside for a
        new one. In memory when history is off, or when no file can be used (a full disk, no
        permission): then nothing is renamed, and the file is used again at the next start."""
        if self.folder is None:
            return _connect(":memory:")
        path = self.folder / HISTORY_FILE
        try:
            return self._connect_file(path)
        except (sqlite3.Error, OSError) as error:
            if not _unreadable(error):
                return self._in_memory(f"{path} cannot be used ({error})")
            unreadable = f"{path} could not be read ({error})"
        try:
            aside = _move_aside(path)
            connection = self._connect_file(path)
        except (sqlite3.Error, OSError) as error:
            return self._in_memory(f"{unreadable}, nor a new one made ({error})")
        self.problem = f"{unreadable}: it was moved to {aside}, and a new history started"
        log.error("%s", self.problem)
        return connection

    def _connect_file(self, path: Path) -> sqlite3.Connection:
        _make_private(path)
        connection = _connect(str(path))
        self._db_file = str(path)
        return connection

    def _in_memory(self, why: str) -> sqlite3.Connection:
        self.problem = f"{why}: dictations are kept in memory until dictad quits"
        log.error("%s", self.problem)
        return _connect(":memory:")

    def _where(self) -> str:
        return str(self.folder / HISTORY_FILE) if self.folder else "the history"

    def _select(self, clause: str, parameters: tuple) -> list[Entry]:
        try:
            with self._lock:
                rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM dictations {clause}", parameters).fetchall()
        except sqlite3.Error as error:
            log.error("the history could not be read: %s", error)
            return []
        return [_entry(row) for row in rows]

    def _write(self, statement: str, parameters: tuple) -> None:
        try:
            with self._lock, self._db:
                self._db.execute(statement, parameters)
        except sqlite3.Error as error:
            raise HistoryError(f"{self._where()} could not be written ({error})") from error

    def _keep_audio(self, entry: Entry, audio: np.ndarray) -> Entry:
        path = self.folder / "audio" / f"{entry.id}.wav"
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            write_wav(path, audio)
            self._write("UPDATE dictations SET audio_file = ? WHERE id = ?", (str(path), entry.id))
        except (OSError, HistoryError) as error:
            log.warning("the dictation's audio is not kept: %s", error)
            return entry
        return replace(entry, audio_file=str(path))

    def _prune(self) -> None:
        """Forget what is older than ``history.max_days`` or beyond ``history.max_entries``, and
        audio older than ``history.audio`` days."""
        now, config = time.time(), self._config
        doomed = []
        if config.max_days is not None:
            doomed += self._select("WHERE at < ?", (now - config.max_days * _DAY_S,))
        if config.max_entries is not None:
            doomed += self._select("WHERE id NOT IN (SELECT id FROM dictations ORDER BY id DESC LIMIT ?)",
                                   (config.max_entries,))
        audio_days = 0 if config.audio == "off" else config.audio
        stale_audio = self._select("WHERE audio_file != '' AND at < ?", (now - audio_days * _DAY_S,))
        for entry in doomed + stale_audio:
            _remove_quietly(entry.audio_file)
        with contextlib.suppress(HistoryError):  # a full disk: pruning waits for the next dictation
            if doomed:
                self._write(f"DELETE FROM dictations WHERE id IN ({', '.join('?' * len(doomed))})",
                            tuple(entry.id for entry in doomed))
            if stale_audio:
                self._write(f"UPDATE dictations SET audio_file = '' WHERE id IN ({', '.join('?' * len(stale_audio))})",
                            tuple(entry.id for entry in stale_audio))


def _connect(target: str) -> sqlite3.Connection:
    connection = sqlite3.connect(target, check_same_thread=False, timeout=5.0)
    try:
        connection.execute("PRAGMA temp_store = MEMORY")  # no temporary files beside it
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise _Damaged("the file is damaged (PRAGMA quick_check)")
        connection.executescript(_SCHEMA)
        if connection.execute("PRAGMA user_version").fetchone()[0] == 0:
            connection.execute("PRAGMA user_version = 1")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _unreadable(error: Exception) -> bool:
    return isinstance(error, _Damaged) or getattr(error, "sqlite_errorname", "") in _UNREADABLE


def _make_private(path: Path) -> None:
    """The folder 0700 and the file 0600, made so before SQLite writes a byte (it gives its
    journal files the database's permissions)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _move_aside(path: Path) -> Path:
    """Rename an unreadable history file (and SQLite's rollback journal beside it) out of the way, keeping them."""
    aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
    journal = path.with_name(path.name + "-journal")
    if journal.exists():
        journal.rename(aside.with_name(aside.name + "-journal"))
    path.rename(aside)
    return aside


def _remove_quietly(path: str) -> None:
    if path:
        with contextlib.suppress(OSError):
            Path(path).unlink()


def _entry(row: tuple) -> Entry:
    values = dict(zip(_COLUMNS, row))
    for flag in ("delivered", "recovered", "taken"):
        values[flag] = bool(values[flag])
    return Entry(**values)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _holds(entry: Entry, term: str) -> bool:
    return term.lower() in entry.text.lower() or term.lower() in entry.raw.lower()
