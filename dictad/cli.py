"""The ``dictad`` command: the daemon, one-shot transcription and cleanup, and diagnostics."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from typing import TYPE_CHECKING

from dictad import __version__

if TYPE_CHECKING:
    from dictad.config import Config

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a command ended by SIGPIPE."""
CONTROL_COMMANDS = {
    "toggle": "start dictating, or stop and deliver (bind this to a shortcut on Wayland)",
    "start": "start dictating in the running daemon",
    "stop": "stop dictating and deliver the text",
    "cancel": "stop dictating and throw the recording away",
    "status": "print the running daemon's state",
    "recent": "print the recent dictations, newest first, one a line (text that could not be delivered is here)",
    "reload": "read the config file again (a bad one keeps the running config and says why)",
    "quit": "end the running daemon, as the tray's Quit does",
}


QUICK_COMMANDS = ("start", "stop", "toggle", "cancel")
"""What compositor key bindings run on every press and release: sent without reading the config or
building the parser, so that the text is not held up by dictad's own start-up (bench/wayland_latency.py)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0] in QUICK_COMMANDS:
        return send_control(argv[0])
    import logging

    from dictad.typed_yaml import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv or ["run"])
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="dictad %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.debug:  # their INFO lines (each chat request to Ollama, say) are noise to users
        for chatty in ("faster_whisper", "httpx"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"dictad: bad config:\n{error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (dictad clean | head -1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dictad",
        description="Push-to-talk dictation: hold a key, speak, and clean text lands in the focused window.",
    )
    parser.add_argument("--version", action="version", version=f"dictad {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = _command(commands, "run", cmd_run, "run the dictation daemon (tray icon, hotkey, control socket)")
    run.add_argument("--events", type=Path, metavar="FILE",
                     help="append one JSON line per state change, with a monotonic time t in seconds")
    run.add_argument("--keep-audio", type=Path, metavar="DIR",
                     help="save each dictation's audio in DIR as a WAV (for bug reports and benchmarks)")
    for name, summary in CONTROL_COMMANDS.items():
        control = _command(commands, name, cmd_control, summary, config=False)
        control.set_defaults(control=name, follow=False, text=False)
        if name == "status":
            _add_follow_options(control)

    autostart = _command(commands, "autostart", cmd_autostart,
                         "start dictad when you log in (an XDG autostart entry), or stop doing so", config=False)
    autostart.add_argument("action", nargs="?", choices=["on", "off", "status"], default="status",
                           help="on: add the entry; off: remove it; status (the default): say whether it is there")

    history = _command(commands, "history", cmd_history,
                       "list, search, copy, insert, transcribe again or clear the dictations kept on disk")
    history.add_argument("--search", metavar="WORDS", default="", help="only those holding every one of WORDS")
    history.add_argument("--limit", type=_at_least_one, default=20, metavar="N",
                         help="at most N, newest first (default: 20)")
    history.add_argument("--json", action="store_true", help="one JSON object per dictation, with every field")
    action = history.add_mutually_exclusive_group()
    action.add_argument("--copy", type=int, metavar="ID", help="put dictation ID's text on the clipboard")
    action.add_argument("--insert", type=int, metavar="ID",
                        help="put dictation ID's text into the window that has the focus --after seconds from now")
    action.add_argument("--retranscribe", type=int, metavar="ID",
                        help="transcribe dictation ID again from its kept audio (history.audio), and print it")
    action.add_argument("--clear", action="store_true", help="forget every dictation (and its kept audio)")
    history.add_argument("--after", type=float, default=3.0, metavar="S",
                         help="with --insert: seconds to switch to the window first (default: 3)")
    history.add_argument("--model", help="with --retranscribe: a speech model (default: transcription.model)")
    _add_cleanup_choice(history, ["off", "rules", "llm"])

    transcribe = _command(commands, "transcribe", cmd_transcribe, "print the text of audio files")
    _add_cleanup_choice(transcribe, ["off", "rules", "llm"])
    transcribe.add_argument("--json", action="store_true",
                            help="one JSON object per file: file, raw, text, seconds, audio_seconds, cleaner")
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE",
                            help="audio files: WAV, FLAC, MP3, OGG, M4A..., any rate and channel count")

    clean = _command(commands, "clean", cmd_clean, "clean each TEXT argument, or each line of stdin")
    _add_cleanup_choice(clean, ["rules", "llm"])
    clean.add_argument("texts", nargs="*", metavar="TEXT")

    bindings = _command(commands, "bindings", cmd_bindings,
                        "print the key bindings for your compositor's config that hold the hotkey to dictate (Wayland)")
    bindings.add_argument("--compositor", choices=["sway", "hyprland", "river", "other"],
                          help="the compositor to print them for (default: the running one)")
    _command(commands, "doctor", cmd_doctor, "check the model, audio, desktop session and each desktop part, and Ollama")
    _command(commands, "config", cmd_config, "print where the config is read from and its effective values")
    return parser


def _load_config(path: Path | None) -> Config:
    from dictad.config import load_config

    return load_config(path)


def _default_config_path() -> Path:
    from dictad.config import default_config_path

    return default_config_path()


def _command(commands, name: str, handler, summary: str, config: bool = True) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
    parser.set_defaults(handler=handler)
    if config:
        parser.add_argument("--config", type=Path, metavar="PATH",
                            help=f"config file (default: {_default_config_path()})")
    parser.add_argument("--debug", action="store_true", help="debug logging (includes transcripts)")
    return parser


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not allowed: a whole number from 1 up")
    return number


def _add_follow_options(status: argparse.ArgumentParser) -> None:
    status.add_argument("--follow", action="store_true",
                        help="one JSON line now and one per change, until Ctrl+C (for bars: Waybar, i3status...)")
    status.add_argument("--text", action="store_true",
                        help="with --follow: each line also has last_text, the last dictated text")


def _add_cleanup_choice(parser: argparse.ArgumentParser, modes: list[str]) -> None:
    parser.add_argument("--cleanup", choices=modes, help="cleanup mode (default: cleanup.mode from the config)")


def cmd_run(args: argparse.Namespace) -> int:
    from dictad.app import run_daemon

    return run_daemon(_load_config(args.config), args.events, args.keep_audio)


def cmd_control(args: argparse.Namespace) -> int:
    if args.text and not args.follow:
        print("dictad: --text goes with --follow", file=sys.stderr)
        return EXIT_USAGE
    if args.follow:
        return follow_status(args.text)
    return send_control(args.control)


def send_control(command: str) -> int:
    """Send ``command`` to the running daemon and print its answer."""
    from dictad.control_client import NotRunning, send_command

    try:
        answer = send_command(command)
    except NotRunning as error:
        print(f"dictad: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        print(f"dictad: the running daemon did not answer: {error}", file=sys.stderr)
        return EXIT_FAILURE
    if not answer.get("ok"):
        print(f"dictad: {answer.get('error')}", file=sys.stderr)
        return EXIT_FAILURE
    if command == "recent":
        for text in answer["recent"]:
            print(text)
        if not answer["recent"]:
            print("dictad: no recent dictations", file=sys.stderr)
        return EXIT_OK
    details = ", ".join(f"{key}: {value}" for key, value in answer.items() if key not in ("ok",) and value is not None)
    print(details)
    return EXIT_OK


def follow_status(with_text: bool) -> int:
    """Print the daemon's status lines as they come, each flushed at once (a bar reads them live).
    Ctrl+C is how a user ends it, so that is a quiet success; the daemon going away is an error."""
    from dictad.control_client import NotRunning, Refused, follow

    try:
        for line in follow(with_text):
            print(json.dumps(line, ensure_ascii=False), flush=True)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # the reader left (dictad status --follow | head -1): main says so
        raise
    except (NotRunning, Refused) as error:
        print(f"dictad: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        print(f"dictad: the running daemon did not answer: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print("dictad: the running dictad went away (its control socket closed)", file=sys.stderr)
    return EXIT_FAILURE


def cmd_autostart(args: argparse.Namespace) -> int:
    from dictad import autostart

    try:
        print(autostart.ACTIONS[args.action]())
    except OSError as error:
        print(f"dictad: cannot change {error.filename or autostart.entry_path()}: {error.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from dictad.history_command import run_history_command

    return run_history_command(args, _load_config(args.config), _finisher)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from dictad.audio_file import AudioFileError, read_audio_file
    from dictad.transcriber import Transcriber
    from dictad.whisper_model import ModelLoadError

    config = _load_config(args.config)
    try:
        transcriber = Transcriber(config.transcription, config.vocabulary)
    except ModelLoadError as error:
        print(f"dictad: {error}", file=sys.stderr)
        return EXIT_FAILURE
    finish = _finisher(config, args.cleanup)
    status = EXIT_OK
    for path in args.files:
        started = time.perf_counter()
        try:
            audio = read_audio_file(path)
        except AudioFileError as error:
            print(f"dictad: {error}", file=sys.stderr)
            status = EXIT_FAILURE
            continue
        transcript = transcriber.transcribe(audio)
        dictation = finish(transcript.text)
        seconds = time.perf_counter() - started
        if not dictation.text:
            print(f"dictad: {path}: no speech found", file=sys.stderr)
        if args.json:
            print(json.dumps({
                "file": _printable(path), "raw": dictation.raw, "text": dictation.text,
                "seconds": round(seconds, 3), "audio_seconds": round(transcript.audio_seconds, 3),
                "cleaner": dictation.cleaner,
            }, ensure_ascii=False), flush=True)
        else:
            print(dictation.text, flush=True)
    return status


def _printable(path: Path) -> str:
    """``path`` as text that can be printed: a file name that is not valid UTF-8 gets U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def cmd_clean(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    mode = args.cleanup or (config.cleanup.mode if config.cleanup.mode != "off" else "rules")
    finish = _finisher(config, mode)
    lines = args.texts or (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        print(finish(line).text, flush=True)
    return EXIT_OK


def _finisher(config: Config, mode: str | None):
    from dictad.cleanup import make_cleaner
    from dictad.pipeline import finish_transcript
    from dictad.replacements import Replacer

    replace = Replacer(config.replacements)
    cleaner = make_cleaner(config.cleanup, config.vocabulary, mode, on_problem=_say_llm_problem,
                           english=config.transcription.english_only)
    return lambda raw: finish_transcript(raw, replace, cleaner)


def _say_llm_problem(message: str | None) -> None:
    """``--cleanup llm`` was asked for: say once why the rules clean instead (None: it answers again)."""
    if message is not None:
        print(f"dictad: LLM cleanup unavailable, using rules: {message}", file=sys.stderr)


def cmd_bindings(args: argparse.Namespace) -> int:
    from dictad.autostart import dictad_command
    from dictad.desktop.bindings import binding_lines
    from dictad.desktop.session import current_session
    from dictad.keyspec import parse_hotkey

    config = _load_config(args.config)
    compositor = args.compositor or current_session().desktop
    print(binding_lines(compositor, parse_hotkey(config.hotkey), dictad_command()))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from dictad.doctor import print_report, run_checks

    config = _load_config(args.config)
    checks = run_checks(config)
    print_report(checks)
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILURE


def cmd_config(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    if config.source is not None:
        print(f"# config read from {config.source}, over dictad's defaults")
    else:
        print(f"# no config file at {_default_config_path()}: dictad's defaults are in effect")
    import yaml

    from dictad.config import config_as_dict

    print(yaml.safe_dump(config_as_dict(config), sort_keys=False, allow_unicode=True), end="")
    return EXIT_OK
