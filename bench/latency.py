"""Post-release latency of ``dictad run`` on the real desktop rig, next to faster-whisper's batch baseline.

    python bench/latency.py [--model tiny.en] [--clips 24] [--idle-seconds 60] [--streaming true]
                            [--history true] [--json FILE] [--keep DIR]

``--model`` is a model name or the path of a CTranslate2 Whisper model directory.

The bench starts its own Xvfb, session bus, PulseAudio with a virtual microphone and a Tk window,
and ``dictad run`` headless (no tray host). For each clip of a generated speech corpus (about
1-15 s, espeak-ng voices, the speech ending where the file ends) it holds the hotkey with xdotool,
plays the clip into the virtual microphone in real time, lets go 300-500 ms after the speech
(``xdotool keyup ctrl+alt+space``: Ctrl comes up first, Space last, as people often let go), and
takes the time from just before ``xdotool keyup`` to the moment the Tk window's text changed, as
the window itself logged it (time.monotonic() is CLOCK_MONOTONIC in every process).

With the daemon stopped, the batch baseline is faster-whisper on the same clip with the same model,
as a batch dictation would run after release: the fastest of 2 runs per clip with faster-whisper's
default CPU threads (CTranslate2's: up to 4, one a core) and 2 with dictad's threads a decoder (on
2 cores, one thread decodes a long clip faster than two). Word error rates:
dictad through the whole rig (microphone included), batch on the original files, and batch on the
audio dictad recorded (``--keep-audio``). Also measured: the daemon's CPU while idle, its memory,
the time from starting ``dictad run`` to its ``ready`` event, and the bytes it wrote to files per
minute of speech (``--history false`` runs without the history and the recording journal, to show
what they cost). p95 is the nearest-rank p95.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.transcribe import fastest  # noqa: E402
from dictad.whisper_model import resolve_model, threads_per_decoder  # noqa: E402
from tests.rig.audio import AudioRig, running_pulseaudio  # noqa: E402
from tests.rig.daemon import DaemonProcess  # noqa: E402
from tests.rig.display import (  # noqa: E402
    TargetWindow, opened_target_window, running_session_bus, running_xvfb, xdotool)
from tests.rig.speech import VOICES, dictation_corpus, wav_seconds, word_error_rate  # noqa: E402
from tests.rig.waiting import wait_until  # noqa: E402

T = TypeVar("T")

HOTKEY = "ctrl+alt+space"
HOLD_AFTER_SPEECH_S = [0.30, 0.35, 0.40, 0.45, 0.50]
"""How long the hotkey stays down after the clip has played, clip by clip in turn."""
BATCH_REPEATS = 2
READY_TIMEOUT_S = 120.0
DICTATION_TIMEOUT_S = 120.0
TERMINAL_EVENTS = ("injected", "discarded", "error")
RIG_TOOLS = ["Xvfb", "xdotool", "dbus-launch", "xclip", "pulseaudio", "pactl", "paplay", "espeak-ng", "sox"]

TARGETS = {"median_ms": 100.0, "p95_ms": 250.0, "ratio": 0.25, "wer_points": 0.01, "idle_cpu_percent": 1.0,
           "rss_mb": 450.0, "ready_s": 3.0}


@dataclass(frozen=True)
class Clip:
    path: Path
    text: str
    voice: str
    seconds: float


@dataclass
class ClipResult:
    index: int
    seconds: float
    voice: str
    reference: str
    hold_after_s: float
    outcome: str
    """The dictation's last event: injected, discarded or error."""
    spurious_recordings: int
    """Recordings started after the one of this clip, before the next clip: there should be none."""
    text: str
    latency_ms: float | None
    """Key release to the text appearing in the window, by the window's clock; None if none appeared."""
    keyup_ms: float
    """How long ``xdotool keyup`` itself took (included in the latency)."""
    stopped_ms: float | None
    transcribed_ms: float | None
    cleaned_ms: float | None
    injected_ms: float | None
    """Key release to dictad's recording_stopped, transcribed, cleaned and injected events, by
    dictad's clock (injected comes once the user's clipboard is back, after the text appeared)."""
    transcribe_s: float | None
    from_draft: bool | None
    pieces: int | None
    """Stretches of speech decoded apart: 1 means release had the whole dictation to decode, or
    waited for its draft."""
    recorded_s: float | None
    audio_file: str | None
    batch_ms: float | None = None
    batch_text: str = ""
    batch_recorded_text: str | None = None


@dataclass
class Footprint:
    ready_s: float
    idle_cpu_percent: float
    idle_seconds: float
    rss_mb: float
    peak_rss_mb: float
    written_mb: float
    """Bytes the daemon wrote to files (its kept WAVs included), from /proc/PID/io's write_bytes."""


# -- the corpus ---------------------------------------------------------------------------------------


def make_corpus(folder: Path, count: int) -> list[Clip]:
    """``count`` clips of about 1 to 15 s, the same every run, the speech ending (almost) where the file ends."""
    return [Clip(path, text, voice, wav_seconds(path))
            for path, text, voice in dictation_corpus(folder, count, pad_after_s=0.05)]


# -- the daemon ---------------------------------------------------------------------------------------


class Daemon(DaemonProcess):
    def finished(self, after: int) -> dict | None:
        """The last event of the dictation begun after ``after`` (injected, discarded or error), once the
        daemon is done with it: neither recording nor working, so its audio has been kept too.

        A recording that a stray key press started (and that was discarded as too short) does not
        count: the dictation's own outcome is preferred to it."""
        events = self.events()
        ends = [event for event in events[after:] if event["event"] in TERMINAL_EVENTS]
        states = [event["state"] for event in events if event["event"] == "state"]
        if not ends or not states or states[-1] in ("recording", "working"):
            return None
        return next((event for event in ends if event.get("reason") != "too_short"), ends[0])

    def wait_for(self, condition: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
        """Wait until ``condition`` holds; fails with dictad's log when it times out or dictad exits."""
        def holds_while_running() -> T:
            if self.process.poll() is not None:
                raise RuntimeError(f"dictad exited ({self.process.returncode}) while the bench waited for {what}; "
                                   f"its log ends:\n{self.log()}")
            return condition()

        try:
            return wait_until(holds_while_running, timeout, what, interval)
        except AssertionError as timed_out:
            raise RuntimeError(f"{timed_out}; dictad's log ends:\n{self.log()}") from None


def write_config(path: Path, model: str, streaming: bool, history: bool) -> Path:
    config = {"mode": "hold", "hotkey": HOTKEY, "transcription": {"model": model, "streaming": streaming},
              "output": {"method": "paste"}, "history": {"enabled": history}}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def running_daemon(folder: Path, model: str, streaming: bool, history: bool) -> Iterator[tuple[Daemon, float]]:
    """``dictad run`` as tests/test_desktop.py starts it, with its audio kept; yields it and the seconds
    from starting it to its ``ready`` event appearing."""
    runtime_dir = folder / "run"
    runtime_dir.mkdir(mode=0o700, parents=True)
    config = write_config(folder / "config.yaml", model, streaming, history)
    events, log = folder / "events.jsonl", folder / "daemon.log"
    command = [sys.executable, "-m", "dictad", "run", "--config", str(config), "--events", str(events),
               "--keep-audio", str(folder / "audio")]
    # Its own control socket, history and journal: a dictad the developer (or a test run) has is left alone.
    environment = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), "XDG_DATA_HOME": str(folder / "data"),
                   "XDG_STATE_HOME": str(folder / "state")}
    with log.open("wb") as log_file:
        started_at = time.monotonic()
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=environment)
    daemon = Daemon(process, events, log)
    try:
        daemon.wait_for(lambda: daemon.event("ready", 0), READY_TIMEOUT_S, "dictad to be ready", interval=0.005)
        yield daemon, time.monotonic() - started_at
    finally:
        daemon.stop()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (its threads included, its children not)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bytes_written(pid: int) -> int:
    """Bytes process ``pid`` has sent to the storage layer so far, files deleted before writeback included."""
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(io["write_bytes"])


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of process ``pid`` in MiB: resident memory now, and its peak."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return tuple(int(status[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))


# -- one dictation on the rig ---------------------------------------------------------------------------


def dictate(daemon: Daemon, rig: AudioRig, window: TargetWindow, clip: Clip, index: int) -> ClipResult:
    """Hold the hotkey, play ``clip`` into the microphone, let go after a pause, and time the text."""
    hold_after_s = HOLD_AFTER_SPEECH_S[index % len(HOLD_AFTER_SPEECH_S)]
    length_before, changes_seen = len(window.text()), len(window.changes())
    mark = daemon.mark()
    xdotool("keydown", HOTKEY)
    daemon.wait_for(lambda: daemon.event("recording_started", mark), 30, "recording to start")
    rig.play(clip.path).wait()
    time.sleep(hold_after_s)  # the protocol: the key comes up this long after the speech
    released_at = time.monotonic()
    xdotool("keyup", HOTKEY)
    keyup_ms = (time.monotonic() - released_at) * 1000
    outcome = daemon.wait_for(lambda: daemon.finished(mark), DICTATION_TIMEOUT_S, "the dictation to finish")
    appeared_at = None
    if outcome["event"] == "injected":
        appeared_at = wait_until(lambda: first_growth(window, length_before, changes_seen), 10,
                                 "the injected text to appear in the window")

    def since_release_ms(name: str) -> float | None:
        event = daemon.event(name, mark)
        return None if event is None else (event["t"] - released_at) * 1000

    stopped, transcribed = daemon.event("recording_stopped", mark), daemon.event("transcribed", mark)
    return ClipResult(
        index=index, seconds=clip.seconds, voice=clip.voice, reference=clip.text, hold_after_s=hold_after_s,
        outcome=outcome["event"] + (f" ({outcome.get('reason') or outcome.get('message')})"
                                    if outcome["event"] != "injected" else ""),
        spurious_recordings=len(daemon.events_named("recording_started", mark)) - 1,
        text=window.text()[length_before:].strip(),
        latency_ms=None if appeared_at is None else (appeared_at - released_at) * 1000,
        keyup_ms=keyup_ms, stopped_ms=since_release_ms("recording_stopped"),
        transcribed_ms=since_release_ms("transcribed"), cleaned_ms=since_release_ms("cleaned"),
        injected_ms=since_release_ms("injected"),
        transcribe_s=field_of(transcribed, "seconds"), from_draft=field_of(transcribed, "from_draft"),
        pieces=field_of(transcribed, "pieces"),
        recorded_s=field_of(stopped, "seconds"), audio_file=field_of(stopped, "audio_file"),
    )


def field_of(event: dict | None, name: str) -> object:
    return None if event is None else event.get(name)


def first_growth(window: TargetWindow, length_before: int, changes_seen: int) -> float | None:
    """When (the window's time.monotonic()) its text first grew past ``length_before``."""
    return next((at for at, length in window.changes()[changes_seen:] if length > length_before), None)


def run_on_rig(folder: Path, corpus: list[Clip], model: str, streaming: bool, history: bool,
               idle_seconds: float) -> tuple[list[ClipResult], Footprint]:
    with contextlib.ExitStack() as rig:
        rig.enter_context(running_xvfb())
        rig.enter_context(running_session_bus())
        for part in ("pulseaudio", "window"):
            (folder / part).mkdir()
        audio = rig.enter_context(running_pulseaudio(folder / "pulseaudio"))
        window = rig.enter_context(opened_target_window(folder / "window"))
        daemon, ready_s = rig.enter_context(running_daemon(folder / "daemon", model, streaming, history))
        results = []
        for index, clip in enumerate(corpus):
            results.append(dictate(daemon, audio, window, clip, index))
            print(f"clip {index + 1}/{len(corpus)}: {results[-1].outcome}", file=sys.stderr)
        return results, footprint(daemon.process.pid, ready_s, idle_seconds)


def footprint(pid: int, ready_s: float, idle_seconds: float) -> Footprint:
    """Memory after the dictations, then CPU over ``idle_seconds`` of doing nothing."""
    rss_mb, peak_rss_mb = memory_mb(pid)
    written_mb = bytes_written(pid) / 2**20
    print(f"measuring idle CPU for {idle_seconds:g} s", file=sys.stderr)
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(idle_seconds)  # the measurement window itself
    cpu_percent = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started) * 100
    return Footprint(ready_s, cpu_percent, idle_seconds, rss_mb, peak_rss_mb, written_mb)


# -- the batch baseline -------------------------------------------------------------------------------


def add_batch_baseline(results: list[ClipResult], corpus: list[Clip], model_name: str) -> None:
    """faster-whisper on each original clip and on dictad's recording, with its default CPU threads.
    The time is the fastest of BATCH_REPEATS runs with those and BATCH_REPEATS with dictad's threads
    a decoder: on 2 cores one thread decodes a long clip faster than faster-whisper's default."""
    from faster_whisper import WhisperModel, decode_audio

    default, dictads = (WhisperModel(resolve_model(model_name), device="cpu", compute_type="int8", cpu_threads=threads)
                        for threads in (0, threads_per_decoder(None)))

    def transcribe(model, audio) -> str:
        segments, _ = model.transcribe(audio, beam_size=5, language="en", vad_filter=True)
        return " ".join(segment.text.strip() for segment in segments).strip()

    for result, clip in zip(results, corpus):
        audio = decode_audio(str(clip.path))
        result.batch_text, default_s = fastest(lambda: transcribe(default, audio), BATCH_REPEATS)
        _, dictads_s = fastest(lambda: transcribe(dictads, audio), BATCH_REPEATS)
        result.batch_ms = min(default_s, dictads_s) * 1000
        if result.audio_file and Path(result.audio_file).exists():
            result.batch_recorded_text = transcribe(default, decode_audio(result.audio_file))


# -- the tables -----------------------------------------------------------------------------------------


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_clips(results: list[ClipResult]) -> None:
    """One row per clip; "held ms" is how long the key stayed down after the speech: the less, the
    less time a draft of the last words had before release."""
    print(f"{'clip':>4}{'s':>6}{'held ms':>9}{'release->text ms':>18}{'batch ms':>10}{'ratio':>7}{'draft':>7}"
          f"{'pieces':>7}  dictad text")
    for result in results:
        ratio = (result.latency_ms / result.batch_ms
                 if result.latency_ms is not None and result.batch_ms else None)
        draft = "-" if result.from_draft is None else ("yes" if result.from_draft else "no")
        text = result.text if result.outcome == "injected" else f"<{result.outcome}>"
        print(f"{result.index + 1:>4}{result.seconds:>6.1f}{result.hold_after_s * 1000:>9.0f}"
              f"{number(result.latency_ms):>18}{number(result.batch_ms):>10}{number(ratio, 2):>7}{draft:>7}"
              f"{number(result.pieces):>7}  {text[:60]}")


def print_breakdown(results: list[ClipResult]) -> None:
    """Medians, from key release, of what dictad logged (its clock) and what the window saw."""
    parts = [("xdotool keyup returned", "keyup_ms"), ("recording_stopped", "stopped_ms"),
             ("transcribed", "transcribed_ms"), ("cleaned", "cleaned_ms"), ("text in the window", "latency_ms"),
             ("injected", "injected_ms")]
    medians = []
    for label, name in parts:
        values = [getattr(result, name) for result in results if getattr(result, name) is not None]
        medians.append(f"{label} {statistics.median(values):.0f}" if values else f"{label} -")
    print("median ms after release: " + ", ".join(medians))


def summary_rows(results: list[ClipResult], footprint: Footprint) -> list[tuple[str, str, str, bool]]:
    delivered = [result for result in results if result.latency_ms is not None]
    latencies = [result.latency_ms for result in delivered]
    ratios = [result.latency_ms / result.batch_ms for result in delivered if result.batch_ms]
    wer_dictad = word_error_rate([(result.reference, result.text) for result in results])
    wer_files = word_error_rate([(result.reference, result.batch_text) for result in results])
    recorded = [result for result in results if result.batch_recorded_text is not None]
    wer_recorded = word_error_rate([(result.reference, result.batch_recorded_text) for result in recorded])
    spurious = sum(result.spurious_recordings for result in results)
    rows = [
        ("dictations delivered", f"all {len(results)}", f"{len(delivered)}", len(delivered) == len(results)),
        ("stray recordings at key release", "0", f"{spurious}", spurious == 0),
    ]
    if latencies:
        median, p95, worst = statistics.median(latencies), nearest_rank(latencies, 0.95), max(ratios, default=0)
        rows += [
            ("release -> text, median", f"<= {TARGETS['median_ms']:.0f} ms", f"{median:.0f} ms",
             median <= TARGETS["median_ms"]),
            ("release -> text, p95", f"<= {TARGETS['p95_ms']:.0f} ms", f"{p95:.0f} ms", p95 <= TARGETS["p95_ms"]),
            ("worst clip, dictad / batch", f"<= {TARGETS['ratio']:.2f}", f"{worst:.2f}", worst <= TARGETS["ratio"]),
        ]
    rows.append(("WER dictad (rig) vs batch on files", f"<= {wer_files:.1%} + 1.0 pt",
                 f"{wer_dictad:.1%}", wer_dictad <= wer_files + TARGETS["wer_points"] + 1e-9))
    if recorded:
        rows.append(("WER dictad vs batch on its recording", f"<= {wer_recorded:.1%}",
                     f"{wer_dictad:.1%}", wer_dictad <= wer_recorded + 1e-9))
    rows += [
        (f"idle CPU over {footprint.idle_seconds:g} s", f"< {TARGETS['idle_cpu_percent']:g}% of a core",
         f"{footprint.idle_cpu_percent:.2f}%", footprint.idle_cpu_percent < TARGETS["idle_cpu_percent"]),
        ("resident memory (peak)", f"<= {TARGETS['rss_mb']:.0f} MiB",
         f"{footprint.rss_mb:.0f} MiB ({footprint.peak_rss_mb:.0f})", footprint.rss_mb <= TARGETS["rss_mb"]),
        ("dictad run -> ready", f"<= {TARGETS['ready_s']:g} s", f"{footprint.ready_s:.2f} s",
         footprint.ready_s <= TARGETS["ready_s"]),
        ("written to files per minute of speech", "(shown)",
         f"{footprint.written_mb / (sum(result.seconds for result in results) / 60):.2f} MiB", True),
    ]
    return rows


def print_summary(rows: list[tuple[str, str, str, bool]]) -> None:
    print(f"{'metric':<38}{'target':<22}{'measured':<18}")
    for name, target, measured, passed in rows:
        print(f"{name:<38}{target:<22}{measured:<18}{'PASS' if passed else 'FAIL'}")


def check_rig_tools() -> None:
    missing = [tool for tool in RIG_TOOLS if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"rig tools missing: {', '.join(missing)} (see shared/desktop-test-rig.md, or run .ci/setup)")


@contextlib.contextmanager
def working_folder(kept: Path | None) -> Iterator[Path]:
    if kept is None:
        with tempfile.TemporaryDirectory(prefix="dictad-latency-") as scratch:
            yield Path(scratch)
        return
    kept.mkdir(parents=True, exist_ok=True)
    if any(kept.iterdir()):
        raise SystemExit(f"--keep {kept}: the folder is not empty")
    yield kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en", help="model name or CTranslate2 model directory")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--streaming", choices=("true", "false"), default="true",
                        help="transcription.streaming for dictad (false: its batch path after release)")
    parser.add_argument("--history", choices=("true", "false"), default="true",
                        help="history.enabled for dictad (false: no history and no recording journal)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="save the raw per-clip results here")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (new or empty) and keep it: clips, recordings, dictad's log and events")
    args = parser.parse_args()
    check_rig_tools()
    streaming = args.streaming == "true"

    with working_folder(args.keep) as folder:
        corpus = make_corpus(folder / "clips", args.clips)
        results, measured = run_on_rig(folder, corpus, args.model, streaming, args.history == "true",
                                       args.idle_seconds)
        add_batch_baseline(results, corpus, args.model)

    seconds = [clip.seconds for clip in corpus]
    print(f"model {args.model}, streaming {args.streaming}, history {args.history}, {len(corpus)} clips of "
          f"{min(seconds):.1f}-{max(seconds):.1f} s, voices {', '.join(VOICES)}; key released "
          f"{HOLD_AFTER_SPEECH_S[0] * 1000:.0f}-{HOLD_AFTER_SPEECH_S[-1] * 1000:.0f} ms after the speech; "
          f"batch: faster-whisper beam 5, int8, fastest of {BATCH_REPEATS} with its default CPU threads "
          f"and {BATCH_REPEATS} with {threads_per_decoder(None)} (dictad's)")
    print_clips(results)
    print_breakdown(results)
    print(f"targets are for the default model (tiny.en); p95 by nearest rank over {len(results)} clips")
    print_summary(summary_rows(results, measured))
    print("one run's WER is one draw: tiny.en's text changes with a few ms more or less pre-roll; "
          "bench/window.py compares WERs over shifted copies of each clip")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "streaming": streaming, "footprint": asdict(measured),
                                         "clips": [asdict(result) for result in results]}, indent=2))


if __name__ == "__main__":
    main()
