"""How dictad's streaming path decodes, measured without a microphone.

    python bench/window.py [--model tiny.en] [--clips 24] [--windows 1:0,1:12,6:12] [--shifts 8]
                           [--leading 0.3,0.4]

Table 1, the window: Whisper's encoder reads 30 s, however short the clip. Each clip is decoded
by faster-whisper's batch path (what ``streaming: false`` does) and by Transcriber.decode with
the window cut to the clip plus some padding, and no shorter than some length (each
``padding:shortest`` in seconds; what SHORT_WINDOWS chooses from). "untrusted" counts the clips
whose short window ran on or stopped early, so that Transcriber.decode fell back to the full
windows. Fastest of 2 runs per clip. "WER shifted" decodes the speech span of the shifted clips
of table 3 instead, as release does: on the clips as generated, windows of at least 8 s looked
as accurate as the full one, on shifted clips they were not.

Table 2, streaming: each clip is fed to a StreamingTranscription in real time, 100 ms blocks,
with the streaming thread running as in the daemon; at the end of the clip (the speech ended
0.4 s before) the key comes up and finish() is timed. This isolates the transcriber: the
microphone, the hotkey and the paste are measured by bench/latency.py on the desktop rig. As in
dictad, a long draft is committed only where it was slow to decode on this machine
(streaming.SLOW_DRAFT_S); bench/replay.py --commit always|never compares the two on the rig's
recordings.

Table 3, the edges of the speech: a microphone gives each clip after some pre-roll and with some
silence after it, and tiny.en's text changes with a shift of a few milliseconds (one draw of WER
over 24 clips moved between 5.9% and 9.2% with the silence before them). So each clip is
decoded ``--shifts`` times, after 0.2-0.6 s and before 0.1-0.3 s of silence (the same draws on
every row and in table 1; the batch path's WER on them is table 1's): as dictad decodes it with
each ``--leading`` silence kept before the speech: the speech span decoded once (as release does
with no draft), and streamed (each 100 ms block given to a StreamingTranscription at once, every
draft decoded before the next block).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.transcribe import fastest  # noqa: E402
from dictad import streaming as streaming_module  # noqa: E402
from dictad import short_window as short_window_module  # noqa: E402
from dictad.audio_file import read_audio_file  # noqa: E402
from dictad.config import load_config  # noqa: E402
from dictad.streaming import StreamingTranscription, speech_span, transcribe_while_recording  # noqa: E402
from dictad.short_window import ShortWindow  # noqa: E402
from dictad.transcriber import SAMPLE_RATE, Transcriber  # noqa: E402
from tests.rig.speech import dictation_corpus, silence, word_error_rate  # noqa: E402

BLOCK = SAMPLE_RATE // 10
REPEATS = 2


class RealTimeFeed:
    """A recording that grows by one 100 ms block every 100 ms, like the microphone."""

    def __init__(self, audio: np.ndarray):
        self.audio = audio
        self.length = 0
        self.ended = False
        self.grew = threading.Condition()

    def play(self) -> None:
        started = time.perf_counter()
        while self.length < len(self.audio):
            with self.grew:
                self.length += BLOCK
                self.grew.notify_all()
            time.sleep(max(0.0, started + self.length / SAMPLE_RATE - time.perf_counter()))

    def end(self) -> None:
        with self.grew:
            self.ended = True
            self.grew.notify_all()

    def wait_for_audio(self) -> bool:
        with self.grew:
            seen = self.length
            self.grew.wait_for(lambda: self.length > seen or self.ended, timeout=1.0)
            return not self.ended

    def snapshot(self) -> np.ndarray:
        return self.audio[: self.length].copy()


def short_window(model: str, pair: str) -> ShortWindow:
    """The window ``padding:shortest`` (seconds), heard in phases where ``model``'s own window is."""
    padding_s, shortest_s = (float(value) for value in pair.split(":"))
    own = short_window_module.SHORT_WINDOWS.get(Path(model).name, ShortWindow(padding_s, shortest_s))
    return replace(own, padding_s=padding_s, shortest_s=shortest_s)


def window_table(transcriber: Transcriber, clips: list[tuple[np.ndarray, str]],
                 shifted: list[tuple[np.ndarray, str]], windows: list[ShortWindow]) -> None:
    print(f"\n{'decoding':<34}{'WER':>8}{'median ms':>11}{'max ms':>9}{'untrusted':>11}{'WER shifted':>13}")
    batch = [(reference, *fastest(lambda: transcriber.transcribe(audio).text, REPEATS)) for audio, reference in clips]
    batch_shifted = word_error_rate([(r, transcriber.transcribe(audio).text) for audio, r in shifted])
    print_window_row("batch (30 s window)", batch, "", batch_shifted)
    for window in windows:
        with patch.dict(short_window_module.SHORT_WINDOWS, {transcriber.config.model: window}):
            untrusted = sum(transcriber.short_window.decode(audio) is None for audio, _ in clips)
            results = [(reference, *fastest(lambda: transcriber.decode(audio), REPEATS)) for audio, reference in clips]
            spans = word_error_rate([(reference, decode_speech_span(transcriber, audio)) for audio, reference in shifted])
        print_window_row(f"clip + {window.padding_s:g} s, at least {window.shortest_s:g} s", results, str(untrusted), spans)


def print_window_row(name: str, results: list[tuple[str, str, float]], untrusted: str, shifted_wer: float) -> None:
    times = [seconds for _, _, seconds in results]
    print(f"{name:<34}{word_error_rate([(r, text) for r, text, _ in results]):>8.1%}"
          f"{statistics.median(times) * 1000:>11.0f}{max(times) * 1000:>9.0f}{untrusted:>11}{shifted_wer:>13.1%}")


def streaming_table(transcriber: Transcriber, clips: list[tuple[np.ndarray, str]]) -> None:
    pairs, batch_pairs, release_times, from_draft = [], [], [], 0
    for audio, reference in clips:
        feed, stream = RealTimeFeed(audio), StreamingTranscription(transcriber)
        thread = threading.Thread(target=transcribe_while_recording, args=(feed, stream))
        thread.start()
        feed.play()
        released = time.perf_counter()
        feed.end()
        transcript = stream.finish(audio)
        release_times.append(time.perf_counter() - released)
        thread.join()
        pairs.append((reference, transcript.text))
        batch_pairs.append((reference, transcriber.transcribe(audio).text))
        from_draft += transcript.from_draft
    print(f"\nstreamed in real time: WER {word_error_rate(pairs):.1%} (batch on the same clips "
          f"{word_error_rate(batch_pairs):.1%}); release to text: median "
          f"{statistics.median(release_times) * 1000:.0f} ms, max {max(release_times) * 1000:.0f} ms; "
          f"ready at release (draft used) {from_draft}/{len(clips)}")


def shifted_copies(clips: list[tuple[np.ndarray, str]], shifts: int) -> list[tuple[np.ndarray, str]]:
    """Each clip ``shifts`` times, after 0.2-0.6 s and before 0.1-0.3 s of silence (the same draws every run)."""
    draws = random.Random(0)
    return [(np.concatenate([silence(draws.uniform(0.2, 0.6)), audio, silence(draws.uniform(0.1, 0.3))]), reference)
            for audio, reference in clips for _ in range(shifts)]


def edges_table(transcriber: Transcriber, shifted: list[tuple[np.ndarray, str]], leading: list[float]) -> None:
    print(f"\n{len(shifted)} shifted clips{'':<20}{'WER':>8}")
    for seconds in leading:
        with patch.object(streaming_module, "LEADING_SILENCE_S", seconds):
            once = word_error_rate([(r, decode_speech_span(transcriber, a)) for a, r in shifted])
            streamed = word_error_rate([(r, stream_at_once(transcriber, a)) for a, r in shifted])
        print(f"{f'{seconds:g} s before the speech, decoded once':<40}{once:>8.1%}")
        print(f"{f'{seconds:g} s before the speech, streamed':<40}{streamed:>8.1%}")


def decode_speech_span(transcriber: Transcriber, audio: np.ndarray) -> str:
    span = speech_span(transcriber.speech_detector().update(audio, final=True))
    return "" if span is None else transcriber.decode(audio[span.start : span.end])


def stream_at_once(transcriber: Transcriber, audio: np.ndarray) -> str:
    stream = StreamingTranscription(transcriber)
    for end in range(BLOCK, len(audio) + 1, BLOCK):
        stream.update(audio[:end])
    return stream.finish(audio).text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--windows", default="1:0,1:12,6:12",
                        help="comma-separated padding:shortest window lengths, in seconds")
    parser.add_argument("--shifts", type=int, default=8, help="shifted copies of each clip in tables 1 and 3")
    parser.add_argument("--leading", default=str(streaming_module.LEADING_SILENCE_S),
                        help="comma-separated silences kept before the speech in table 3, in seconds")
    args = parser.parse_args()

    defaults = load_config().transcription
    config = defaults.__class__(**{**defaults.__dict__, "model": args.model})
    transcriber = Transcriber(config)
    transcriber.warm_up()
    with tempfile.TemporaryDirectory() as folder:
        clips = [(read_audio_file(path), text) for path, text, _ in dictation_corpus(Path(folder), args.clips)]
    lengths = [len(audio) / SAMPLE_RATE for audio, _ in clips]
    print(f"model {args.model}, beam {config.beam_size}, {len(clips)} clips of {min(lengths):.1f}-{max(lengths):.1f} s")
    windows = [short_window(args.model, pair) for pair in args.windows.split(",")]
    shifted = shifted_copies(clips, args.shifts)
    window_table(transcriber, clips, shifted, windows)
    streaming_table(transcriber, clips)
    edges_table(transcriber, shifted, [float(value) for value in args.leading.split(",")])


if __name__ == "__main__":
    main()
