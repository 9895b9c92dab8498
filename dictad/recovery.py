"""What a crash left behind: the journal of a recording whose dictation never reached the history,
transcribed at the next start and kept there, marked recovered. Never delivered by itself: the
window it was meant for may be gone, and the user decides where it goes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dictad.history import Entry, History
from dictad.journal import read_journal
from dictad.pipeline import Dictation, SpeechToText, transcribe
from dictad.transcriber import SAMPLE_RATE

RECOVERED = "dictad was stopped before this dictation was delivered; it was recovered from its audio at the next start"
FIRST_WORDS = 8


def recover(journal: Path, transcriber: SpeechToText, finish: Callable[[str], Dictation],
            history: History) -> Entry | None:
    """The journal's dictation, kept in ``history`` and the journal removed once the history is on
    disk; None when it held no speech. Raises HistoryError when it cannot be kept: the journal stays
    for the next start (as it does while the history is in memory only)."""
    audio = read_journal(journal)
    raw = transcribe(audio, transcriber, None).text
    if not raw:
        journal.unlink(missing_ok=True)
        return None
    dictation = finish(raw)
    entry = history.add(Entry(0, journal.stat().st_mtime, raw, dictation.text, dictation.cleaner, reason=RECOVERED,
                              recovered=True, audio_seconds=len(audio) / SAMPLE_RATE), audio)
    if history.on_disk:
        journal.unlink(missing_ok=True)
    return entry


def recovered_message(entry: Entry) -> str:
    """What the user is told, once: the first words, and where the dictation is."""
    words = entry.text.split()
    first = " ".join(words[:FIRST_WORDS]) + ("\u2026" if len(words) > FIRST_WORDS else "")
    return (f"recovered a dictation that dictad was stopped during: \u201c{first}\u201d. It is in Recent dictations "
            "(tray) and `dictad history`; Paste last dictation again inserts it")
