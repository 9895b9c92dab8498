"""The rig's recordings replayed through the streaming transcriber in real time, without the rig.

    python bench/replay.py RUN.json [RUN.json ...] [--min-seconds 8] [--commit auto|always|never]
    python bench/replay.py RUN.json [RUN.json ...] [--min-seconds 8] --windows 1:12,6:12 [--phases 0 0,1]

``bench/latency.py --json RUN.json --keep DIR`` keeps dictad's own recording of each dictation,
from its pre-roll to the moment the key came up. Each recording is fed to a StreamingTranscription
in 100 ms blocks, in real time, with the streaming thread running as in the daemon, and the key
comes up at its end. Per recording: when the key came up after the end of the speech (as the VAD
places it), each decode (the seconds of speech, then when it started and ended, from the end of the
speech), how long release waited, and how many pieces the text came in; then the WER of all of them.
``--commit always`` and ``never`` set streaming.SLOW_DRAFT_S to 0 and to infinity: what committing
costs, or saves, on the same recordings and this machine.

With ``--windows`` (``padding:shortest`` in seconds, as in bench/window.py), nothing is streamed:
each recording's speech is decoded once, as release decodes it when nothing was committed, in each
of those short windows, and the WER and decode times of each are printed; with ``--phases``, in each
of those sets of short_window.PHASES too (feature frames left out at the start, one decode each).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.transcribe import fastest  # noqa: E402
from bench.window import RealTimeFeed, short_window  # noqa: E402
from dictad import streaming as streaming_module  # noqa: E402
from dictad import short_window as short_window_module  # noqa: E402
from dictad.audio_file import read_audio_file  # noqa: E402
from dictad.config import load_config  # noqa: E402
from dictad.streaming import StreamingTranscription, speech_span, transcribe_while_recording  # noqa: E402
from dictad.transcriber import SAMPLE_RATE, Transcriber  # noqa: E402
from tests.rig.speech import word_error_rate  # noqa: E402

SLOW_DRAFT = {"auto": streaming_module.SLOW_DRAFT_S, "always": 0.0, "never": float("inf")}


class TimedDecodes:
    """The transcriber with each draft's decode's start, end and seconds of speech noted."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self.decodes: list[tuple[float, float, float]] = []

    def speech_detector(self):
        return self.transcriber.speech_detector()

    def decode(self, audio: np.ndarray, full_windows_if: Callable[[], bool] = lambda: True) -> str | None:
        started = time.perf_counter()
        text = self.transcriber.decode(audio, full_windows_if)
        self.decodes.append((len(audio) / SAMPLE_RATE, started, time.perf_counter()))
        return text

    def decode_in_full_windows(self, audio: np.ndarray) -> str:
        return self.transcriber.decode_in_full_windows(audio)


@dataclass
class Replayed:
    text: str
    pieces: int
    key_up_s: float
    """When the key came up, in seconds after the end of the speech."""
    waited_s: float
    decodes: list[tuple[float, float, float]]
    """Each decode's seconds of speech, start and end, in seconds after the end of the speech."""


def replay(decoder: TimedDecodes, audio: np.ndarray) -> Replayed:
    """Stream ``audio`` in real time, the key coming up at its end."""
    speech = speech_span(decoder.transcriber.speech_detector().update(audio, final=True))
    speech_ends_s = len(audio) / SAMPLE_RATE if speech is None else \
        speech.end / SAMPLE_RATE - streaming_module.TRAILING_SILENCE_S
    decoder.decodes.clear()
    feed, stream = RealTimeFeed(audio), StreamingTranscription(decoder)
    streaming = threading.Thread(target=transcribe_while_recording, args=(feed, stream))
    streaming.start()
    speech_ended_at = time.perf_counter() + speech_ends_s
    feed.play()
    released = time.perf_counter()
    feed.end()
    transcript = stream.finish(audio)
    waited_s = time.perf_counter() - released
    streaming.join()
    decodes = [(seconds, start - speech_ended_at, end - speech_ended_at) for seconds, start, end in decoder.decodes]
    return Replayed(transcript.text, transcript.pieces, released - speech_ended_at, waited_s, decodes)


def compare_windows(transcriber: Transcriber, recordings: list[tuple[str, np.ndarray]], windows: str,
                    phase_sets: list[tuple[int, ...]]) -> None:
    spans = [(reference, audio[span.start : span.end]) for reference, audio in recordings
             if (span := speech_span(transcriber.speech_detector().update(audio, final=True))) is not None]
    print(f"{len(spans)} recordings' speech decoded once")
    for pair in windows.split(","):
        window = short_window(transcriber.config.model, pair)
        for phases in phase_sets:
            with patch.dict(short_window_module.SHORT_WINDOWS, {Path(transcriber.config.model).name: window}), \
                    patch.object(short_window_module, "PHASES", phases):
                timed = [(reference, *fastest(lambda: transcriber.decode(speech), 1)) for reference, speech in spans]
            times = [seconds for _, _, seconds in timed]
            print(f"clip + {window.padding_s:g} s, at least {window.shortest_s:g} s, phases {phases}: "
                  f"WER {word_error_rate([(reference, text) for reference, text, _ in timed]):.2%}, decode median "
                  f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms", flush=True)


def phase_set(text: str) -> tuple[int, ...]:
    return tuple(int(frames) for frames in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="bench/latency.py --json files, run with --keep")
    parser.add_argument("--min-seconds", type=float, default=0.0, help="replay only clips at least this long")
    parser.add_argument("--commit", choices=SLOW_DRAFT, default="auto")
    parser.add_argument("--windows", help="decode each recording once in these short windows (padding:shortest,...)")
    parser.add_argument("--phases", nargs="+", type=phase_set, default=[short_window_module.PHASES],
                        help="with --windows: sets of feature frames left out at the start (0,1 0 ...)")
    args = parser.parse_args()

    clips = [(run, clip) for run in args.runs for clip in json.loads(run.read_text())["clips"]
             if clip["seconds"] >= args.min_seconds and clip.get("audio_file")]
    decoder = TimedDecodes(Transcriber(load_config().transcription))
    decoder.transcriber.warm_up()
    if args.windows:
        recordings = [(clip["reference"], read_audio_file(Path(clip["audio_file"]))) for _, clip in clips]
        compare_windows(decoder.transcriber, recordings, args.windows, args.phases)
        return
    pairs, waits = [], []
    print(f"{'clip':>20}{'s':>6}{'key up':>8}{'wait ms':>9}{'pieces':>8}  decodes: seconds of speech, from .. to")
    with patch.object(streaming_module, "SLOW_DRAFT_S", SLOW_DRAFT[args.commit]):
        for run, clip in clips:
            replayed = replay(decoder, read_audio_file(Path(clip["audio_file"])))
            pairs.append((clip["reference"], replayed.text))
            waits.append(replayed.waited_s)
            decodes = " ".join(f"[{seconds:.1f} s {start:+.2f}..{end:+.2f}]"
                               for seconds, start, end in replayed.decodes)
            print(f"{run.stem + ' #' + str(clip['index'] + 1):>20}{clip['seconds']:>6.1f}{replayed.key_up_s:>+8.2f}"
                  f"{replayed.waited_s * 1000:>9.0f}{replayed.pieces:>8}  {decodes}", flush=True)
    print(f"{len(pairs)} recordings, commits {args.commit}: release waited median "
          f"{statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms; WER {word_error_rate(pairs):.2%}")


if __name__ == "__main__":
    main()
