"""The history on disk (a real SQLite file in this test's data directory) and `dictad history` as a
user runs it: listing, searching, copying, inserting into a real window, transcribing again."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dictad.audio_file import read_audio_file
from dictad.cleanup.rules import RuleCleaner
from dictad.config import HistoryConfig
from dictad.history import Entry, History, HistoryError, data_folder
from dictad.journal import journal_folder, leftovers, start_journal
from dictad.pipeline import finish_transcript
from dictad.recovery import recover, recovered_message
from dictad.replacements import Replacer
from tests.rig.display import TargetWindow
from tests.rig.speech import word_errors

KEEP_ALL = HistoryConfig(enabled=True, max_days=None, max_entries=None, audio="off")
SPOKEN = "Please send me the report by Friday."


def entry(text: str, delivered: bool = True, at: float | None = None) -> Entry:
    return Entry(0, time.time() if at is None else at, text.lower(), text, "rules", delivered,
                 "paste" if delivered else "clipboard", "kitty", "" if delivered else "no window has the focus")


def dictad_history(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictad", "history", *args], capture_output=True, text=True,
                          timeout=120)


def test_dictations_are_kept_newest_first_in_a_file_only_the_user_can_read() -> None:
    history = History(KEEP_ALL)
    for number in range(1, 4):
        history.add(entry(f"Dictation number {number}."))
    reopened = History(KEEP_ALL)
    assert [kept.text for kept in reopened.recent()] == ["Dictation number 3.", "Dictation number 2.",
                                                         "Dictation number 1."]
    assert stat.S_IMODE((data_folder() / "history.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_folder().stat().st_mode) == 0o700


def test_an_undelivered_one_stays_in_recent_until_it_is_taken() -> None:
    history = History(KEEP_ALL)
    lost = history.add(entry("Kept for later.", delivered=False))
    for number in range(12):
        history.add(entry(f"Delivered {number}."))
    assert "Kept for later." in [kept.text for kept in history.recent()]
    assert len(history.recent()) == 11  # the last ten, and the pinned one
    history.mark_taken(lost.id)
    assert "Kept for later." not in [kept.text for kept in history.recent()]


def test_old_and_surplus_dictations_and_old_audio_are_forgotten() -> None:
    config = HistoryConfig(enabled=True, max_days=30, max_entries=3, audio=1)
    history = History(config)
    two_days_ago, forty_days_ago = time.time() - 2 * 86400, time.time() - 40 * 86400
    audio = (0.1 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    history.add(entry("Too old.", at=forty_days_ago))
    with_audio = history.add(entry("Audio too old.", at=two_days_ago), audio)
    fresh = [history.add(entry(f"Fresh {number}."), audio) for number in range(3)]
    assert [kept.text for kept in history.search()] == ["Fresh 2.", "Fresh 1.", "Fresh 0."]
    assert not Path(with_audio.audio_file).exists()
    assert all(Path(kept.audio_file).is_file() for kept in fresh)


def test_search_finds_every_word_in_any_case_and_escapes_wildcards() -> None:
    history = History(KEEP_ALL)
    for text in ("The kitchen lights.", "The garden lights.", "100% sure_thing."):
        history.add(entry(text))
    assert [found.text for found in history.search("LIGHTS kitchen")] == ["The kitchen lights."]
    assert [found.text for found in history.search("100%")] == ["100% sure_thing."]
    assert history.search("0_") == []


def test_history_off_keeps_them_in_memory_only() -> None:
    history = History(replace(KEEP_ALL, enabled=False))
    history.add(entry("Secret."))
    assert [kept.text for kept in history.recent()] == ["Secret."]
    assert not data_folder().exists()


def test_an_unreadable_file_is_moved_aside_and_a_new_one_started() -> None:
    data_folder().mkdir(parents=True)
    (data_folder() / "history.sqlite3").write_bytes(b"\x00garbage" * 512)
    history = History(KEEP_ALL)
    assert history.problem.startswith(f"{data_folder() / 'history.sqlite3'} could not be read (file is not a "
                                      "database): it was moved to ")
    history.add(entry("After the move."))
    assert [kept.text for kept in History(KEEP_ALL).recent()] == ["After the move."]
    assert len(list(data_folder().glob("history.sqlite3.unreadable-*"))) == 1


def finish(raw: str):
    return finish_transcript(raw, Replacer({}), RuleCleaner(english=True))


def test_a_journal_left_by_a_crash_is_transcribed_into_the_history_and_removed(transcriber, make_clip) -> None:
    journal = start_journal(journal_folder())
    journal.complete(read_audio_file(make_clip(SPOKEN)))
    entry = recover(journal.path, transcriber, finish, History(KEEP_ALL))
    assert (entry.recovered, entry.pinned, entry.delivered) == (True, True, False)
    errors, total = word_errors(SPOKEN, entry.text)
    assert errors / total <= 0.35, entry.text
    assert recovered_message(entry).startswith(f"recovered a dictation that dictad was stopped during: \u201c{entry.text}")
    assert leftovers(journal_folder()) == []


def test_a_journal_that_cannot_be_kept_stays_for_the_next_start(transcriber, make_clip) -> None:
    journal = start_journal(journal_folder())
    journal.complete(read_audio_file(make_clip(SPOKEN)))
    unwritable = History(KEEP_ALL)
    unwritable.close()  # every write now fails, as on a full disk
    with pytest.raises(HistoryError, match="it is kept in memory until dictad quits"):
        recover(journal.path, transcriber, finish, unwritable)
    assert leftovers(journal_folder()) == [journal.path]


def test_a_history_that_cannot_be_used_now_is_left_alone_and_the_dictations_kept_in_memory() -> None:
    """Not damaged, just unusable (here its folder's place is taken by a file; a full disk is another
    case): nothing is renamed, so the next start finds the history again."""
    data_folder().parent.mkdir(parents=True)
    data_folder().write_text("a file where dictad's folder should be")
    history = History(KEEP_ALL)
    assert history.problem.startswith(f"{data_folder() / 'history.sqlite3'} cannot be used (")
    assert history.problem.endswith("dictations are kept in memory until dictad quits")
    assert not history.on_disk
    history.add(entry("Still here."))
    assert [kept.text for kept in history.recent()] == ["Still here."]
    assert data_folder().read_text() == "a file where dictad's folder should be"


# -- dictad history ------------------------------------------------------------------------------


def test_the_command_lists_searches_and_gives_every_field_as_json() -> None:
    history = History(KEEP_ALL)
    history.add(entry("The kitchen lights."))
    history.add(entry("Call the plumber.", delivered=False))
    listed = dictad_history()
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("#2  ") and lines[0].endswith("NOT DELIVERED: no window has the focus")
    assert lines[1] == "    Call the plumber."
    assert lines[2].endswith("pasted into kitty") and lines[3] == "    The kitchen lights."
    (found,) = [json.loads(line) for line in dictad_history("--json", "--search", "kitchen").stdout.splitlines()]
    assert (found["id"], found["text"], found["delivered"], found["pinned"], found["target"]) == \
        (1, "The kitchen lights.", True, False, "kitty")
    assert len(dictad_history("--limit", "1").stdout.splitlines()) == 2


def test_the_command_copies_one_and_it_is_no_longer_pinned(x_display) -> None:
    lost = History(KEEP_ALL).add(entry("Paste me later.", delivered=False))
    copied = dictad_history("--copy", str(lost.id))
    assert copied.stdout == f"dictation {lost.id} is on the clipboard\n", copied.stderr
    assert subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, text=True,
                          timeout=10).stdout == "Paste me later."
    assert not History(KEEP_ALL).get(lost.id).pinned


@pytest.mark.slow
def test_the_command_inserts_one_into_the_focused_window(target_window: TargetWindow) -> None:
    lost = History(KEEP_ALL).add(entry("Insert me now.", delivered=False))
    target_window.focus()
    inserted = dictad_history("--insert", str(lost.id), "--after", "0")
    assert inserted.returncode == 0, inserted.stderr
    assert target_window.wait_for_text("Insert me now.") == "Insert me now. "
    assert not History(KEEP_ALL).get(lost.id).pinned


@pytest.mark.slow
def test_the_command_transcribes_one_again_from_its_kept_audio(make_clip, tmp_path: Path) -> None:
    kept = History(replace(KEEP_ALL, audio=7)).add(entry("Whatever was heard then."),
                                                    read_audio_file(make_clip(SPOKEN)))
    config = tmp_path / "config.yaml"
    config.write_text("history:\n  audio: 7\n")
    again = dictad_history("--config", str(config), "--retranscribe", str(kept.id), "--json", "--cleanup", "off")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert (result["id"], result["model"], result["cleaner"]) == (kept.id, "tiny.en", "off")
    errors, total = word_errors(SPOKEN, result["text"])
    assert errors / total <= 0.35, result["text"]


def test_the_command_says_why_it_cannot_transcribe_without_audio_or_find_an_id() -> None:
    kept = History(KEEP_ALL).add(entry("No audio kept."))
    assert "has no kept audio: set history.audio to a number of days" in \
        dictad_history("--retranscribe", str(kept.id)).stderr
    missing = dictad_history("--copy", "99")
    assert missing.returncode == 1 and "no dictation 99 in the history" in missing.stderr


def test_the_command_forgets_them_all_and_history_off_says_so(tmp_path: Path) -> None:
    history = History(KEEP_ALL)
    history.add(entry("One."))
    history.add(entry("Two."))
    assert dictad_history("--clear").stdout == "forgot 2 dictations\n"
    assert dictad_history().stdout == ""
    config = tmp_path / "off.yaml"
    config.write_text("history:\n  enabled: false\n")
    off = dictad_history("--config", str(config))
    assert off.returncode == 1 and "history is off (history.enabled: false)" in off.stderr
