"""``dictad history``: the dictations kept on disk, listed, searched, copied, inserted, transcribed
again or forgotten. It reads the history file itself: no running daemon is needed."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from dictad.config import Config
from dictad.history import Entry, History, HistoryError

EXIT_OK, EXIT_FAILURE = 0, 1
PAST_TENSE = {"paste": "pasted", "type": "typed"}


def run_history_command(args: argparse.Namespace, config: Config,
                        finisher: Callable[[Config, str | None], Callable[[str], Any]]) -> int:
    """``finisher(config, cleanup_mode)`` makes the replacements-and-cleanup step (dictad.cli's)."""
    if not config.history.enabled:
        _say("history is off (history.enabled: false): nothing is kept on disk; `dictad recent` shows what the "
             "running dictad has in memory")
        return EXIT_FAILURE
    history = History(config.history)
    if history.problem:
        _say(history.problem)
    try:
        if args.clear:
            print(f"forgot {history.clear()} dictations")
            return EXIT_OK
        chosen = next((value for value in (args.copy, args.insert, args.retranscribe) if value is not None), None)
        if chosen is None:
            for entry in history.search(args.search, args.limit):
                print(_as_json(entry) if args.json else shown(entry))
            return EXIT_OK
        entry = history.get(chosen)
        if entry is None:
            _say(f"no dictation {chosen} in the history (`dictad history` lists them)")
            return EXIT_FAILURE
        if args.retranscribe is not None:
            return _transcribe_again(entry, config, args, finisher)
        return _copy(history, entry) if args.copy is not None else _insert(history, entry, config, args.after)
    except HistoryError as error:
        _say(str(error))
        return EXIT_FAILURE
    finally:
        history.close()


def shown(entry: Entry) -> str:
    """Two lines: "#12  2026-12-06 01:40  pasted into foot", then the text, indented."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.at))
    if entry.delivered:
        where = f"{PAST_TENSE.get(entry.method, entry.method)} into {entry.target or 'the focused window'}"
    else:
        where = f"NOT DELIVERED: {entry.reason}" if entry.pinned else "not delivered, taken since"
    recovered = "recovered, " if entry.recovered else ""
    return f"#{entry.id}  {when}  {recovered}{where}\n    {entry.text}"


def _as_json(entry: Entry) -> str:
    return json.dumps({**asdict(entry), "pinned": entry.pinned}, ensure_ascii=False)


def _copy(history: History, entry: Entry) -> int:
    from dictad.desktop import Desktop
    from dictad.desktop.clipboard import ClipboardUnavailable

    try:
        with _clipboard_tools_off_our_output():
            Desktop().copy(entry.text)
    except ClipboardUnavailable as error:
        _say(f"cannot copy: {error}")
        return EXIT_FAILURE
    history.mark_taken(entry.id)
    print(f"dictation {entry.id} is on the clipboard")
    return EXIT_OK


def _insert(history: History, entry: Entry, config: Config, after_s: float) -> int:
    """Put the text into the window focused ``after_s`` seconds from now, as a dictation would be."""
    from dictad.inject import deliver

    print(f"dictation {entry.id} goes into the window that has the focus in {after_s:g} s", flush=True)
    time.sleep(after_s)  # the user's time to switch to that window
    with _clipboard_tools_off_our_output():
        delivery = deliver(entry.text, config.output)
    if not delivery.delivered:
        _say(f"dictation {entry.id} was not inserted: {delivery.reason}")
        return EXIT_FAILURE
    history.mark_taken(entry.id)
    print(f"dictation {entry.id} {PAST_TENSE.get(delivery.method, delivery.method)} into "
          f"{delivery.target or 'the focused window'}")
    return EXIT_OK


def _transcribe_again(entry: Entry, config: Config, args: argparse.Namespace,
                      finisher: Callable[[Config, str | None], Callable[[str], Any]]) -> int:
    """The kept audio through another model or cleanup mode: printed, the history left as it was."""
    from dictad.audio_file import AudioFileError, read_audio_file
    from dictad.transcriber import Transcriber
    from dictad.whisper_model import ModelLoadError

    if not entry.audio_file:
        _say(f"dictation {entry.id} has no kept audio: set history.audio to a number of days to keep it")
        return EXIT_FAILURE
    transcription = replace(config.transcription, model=args.model or config.transcription.model)
    try:
        audio = read_audio_file(Path(entry.audio_file))
        transcriber = Transcriber(transcription, config.vocabulary)
    except (AudioFileError, ModelLoadError) as error:
        _say(str(error))
        return EXIT_FAILURE
    dictation = finisher(config, args.cleanup)(transcriber.transcribe(audio).text)
    print(json.dumps({"id": entry.id, "model": transcription.model, "raw": dictation.raw, "text": dictation.text,
                      "cleaner": dictation.cleaner}, ensure_ascii=False) if args.json else dictation.text)
    return EXIT_OK


@contextlib.contextmanager
def _clipboard_tools_off_our_output() -> Iterator[None]:
    """xclip stays behind to serve the clipboard, holding the stdout and stderr it was given: ours, so
    that `dictad history --copy 3 | cat` would never end. It gets /dev/null instead (this command
    prints nothing meanwhile)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _say(message: str) -> None:
    print(f"dictad: {message}", file=sys.stderr)
