"""Key release -> text in the window on Wayland, with the stop arriving through sway's own key binding.

    python bench/wayland_latency.py [--model tiny.en] [--clips 12] [--streaming true]

The bench starts a headless sway (tests/rig/wayland.py) whose config has the lines `dictad bindings`
prints, its own PulseAudio with a virtual microphone, a GTK 3 window as the target and `dictad run`.
For each clip of bench/latency.py's corpus, one wtype process presses the hotkey, holds it while the
clip plays into the microphone (the pre-roll covers the moment `dictad start` takes to arrive) and
lets go 300-500 ms after the speech. sway then runs `dictad stop` in a new process: its start-up is
on this path. The release is taken as the moment that wtype exited (its last act is letting go,
so this is at most a millisecond late), the text's arrival as the GTK window logged it
(time.monotonic() is CLOCK_MONOTONIC in every process). Press -> recording is from starting wtype
to dictad's recording_started event.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import (  # noqa: E402
    DICTATION_TIMEOUT_S, HOLD_AFTER_SPEECH_S, HOTKEY, READY_TIMEOUT_S, Clip, Daemon, make_corpus, nearest_rank,
    write_config)
from dictad.desktop.bindings import binding_lines  # noqa: E402
from dictad.keyspec import parse_hotkey  # noqa: E402
from tests.rig.audio import AudioRig, running_pulseaudio  # noqa: E402
from tests.rig.environment import environment  # noqa: E402
from tests.rig.speech import word_error_rate  # noqa: E402
from tests.rig.wayland import WaylandTarget, running_sway  # noqa: E402

TARGET_MEDIAN_MS = 100.0
WTYPE_HOTKEY = ["-M", "ctrl", "-M", "alt", "-P", "space"]
WTYPE_LET_GO = ["-p", "space", "-m", "alt", "-m", "ctrl"]


@dataclass
class Dictation:
    seconds: float
    latency_ms: float | None
    stop_ms: float | None
    """Release -> dictad's recording_stopped: the binding's `dictad stop` process and its start-up."""
    injected_ms: float | None
    press_to_recording_ms: float
    text: str
    reference: str


def changes(target: WaylandTarget) -> list[tuple[float, int]]:
    path = Path(f"{target.out}.changes")
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    return [(float(at), int(length)) for at, length in (line.split() for line in lines)]


def dictate(daemon: Daemon, rig: AudioRig, target: WaylandTarget, clip: Clip, index: int) -> Dictation:
    hold_ms = int(1000 * (clip.seconds + HOLD_AFTER_SPEECH_S[index % len(HOLD_AFTER_SPEECH_S)]))
    mark, length_before, seen = daemon.mark(), len(target.text()), len(changes(target))
    released: list[float] = []
    pressed_at = time.monotonic()
    holding = subprocess.Popen(["wtype", *WTYPE_HOTKEY, "-s", str(hold_ms), *WTYPE_LET_GO])
    waiter = threading.Thread(target=lambda: (holding.wait(), released.append(time.monotonic())))
    waiter.start()
    rig.play(clip.path).wait()
    started = daemon.wait_for(lambda: daemon.event("recording_started", mark), 30, "recording to start")
    waiter.join()
    outcome = daemon.wait_for(lambda: daemon.finished(mark), DICTATION_TIMEOUT_S, "the dictation to finish")
    appeared = None
    if outcome["event"] == "injected":
        appeared = daemon.wait_for(
            lambda: next((at for at, length in changes(target)[seen:] if length > length_before), None),
            10, "the text to appear in the window")
    def since_release_ms(event: dict | None) -> float | None:
        return None if event is None else (event["t"] - released[0]) * 1000

    return Dictation(clip.seconds, None if appeared is None else (appeared - released[0]) * 1000,
                     since_release_ms(daemon.event("recording_stopped", mark)),
                     since_release_ms(daemon.event("injected", mark)),
                     (started["t"] - pressed_at) * 1000, target.text()[length_before:].strip(), clip.text)


def start_daemon(folder: Path, model: str, streaming: bool) -> Daemon:
    config = write_config(folder / "config.yaml", model, streaming, history=True)
    events, log = folder / "events.jsonl", folder / "daemon.log"
    # its own history and journal: a dictad the developer has is left alone
    environment = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_STATE_HOME": str(folder / "state")}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "dictad", "run", "--config", str(config),
                                    "--events", str(events)], stdout=out, stderr=subprocess.STDOUT, env=environment)
    daemon = Daemon(process, events, log)
    daemon.wait_for(lambda: daemon.event("ready", 0), READY_TIMEOUT_S, "dictad to be ready")
    return daemon


def run(folder: Path, corpus: list[Clip], model: str, streaming: bool) -> list[Dictation]:
    bindings = binding_lines("sway", parse_hotkey(HOTKEY), [sys.executable, "-m", "dictad"])
    runtime_dir = folder / "run"
    runtime_dir.mkdir(mode=0o700)
    (folder / "pulse").mkdir()
    with environment(XDG_RUNTIME_DIR=str(runtime_dir)), running_pulseaudio(folder / "pulse") as rig, \
            running_sway(folder / "sway", bindings + "\n") as sway:
        daemon = start_daemon(folder, model, streaming)
        try:
            target = sway.open_gtk_window("dictad-bench")
            return [dictate(daemon, rig, target, clip, index) for index, clip in enumerate(corpus)]
        finally:
            daemon.stop()


def print_table(results: list[Dictation]) -> None:
    print(f"{'clip':>4} {'seconds':>7} {'release->text ms':>17} {'->stopped':>9} {'->injected':>10} "
          f"{'press->recording ms':>20}  text")
    for index, result in enumerate(results):
        latency, stop, injected = (f"{value:.0f}" if value is not None else "-"
                                   for value in (result.latency_ms, result.stop_ms, result.injected_ms))
        print(f"{index:>4} {result.seconds:>7.1f} {latency:>17} {stop:>9} {injected:>10} "
              f"{result.press_to_recording_ms:>20.0f}  {result.text}")
    latencies = [result.latency_ms for result in results if result.latency_ms is not None]
    presses = [result.press_to_recording_ms for result in results]
    wer = word_error_rate([(result.reference, result.text) for result in results])
    median = statistics.median(latencies) if latencies else float("inf")
    print(f"\n{'metric':<32}{'target':<12}{'measured':<12}")
    print(f"{'release -> text, median':<32}{f'<= {TARGET_MEDIAN_MS:.0f} ms':<12}{median:<12.0f}"
          f"{'PASS' if median <= TARGET_MEDIAN_MS else 'FAIL'}")
    print(f"{'release -> text, p95':<32}{'':<12}{nearest_rank(latencies, 0.95) if latencies else 0:<12.0f}")
    print(f"{'press -> recording, median':<32}{'':<12}{statistics.median(presses):<12.0f}")
    print(f"{'delivered':<32}{'':<12}{f'{len(latencies)} of {len(results)}':<12}")
    print(f"{'WER':<32}{'':<12}{f'{100 * wer:.1f}%':<12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--streaming", choices=("true", "false"), default="true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dictad-wayland-latency-") as scratch:
        folder = Path(scratch)
        corpus = make_corpus(folder / "clips", args.clips)
        results = run(folder, corpus, args.model, args.streaming == "true")
    print(f"sway headless, model {args.model}, streaming {args.streaming}, "
          f"{len(corpus)} clips; stop through `bindsym --release` running `dictad stop`")
    print_table(results)


if __name__ == "__main__":
    main()
