"""How dictad's streaming path decodes, measured without a microphone.

    python bench/window.py [--model tiny.en] [--clips 24] [--padding 0.5,1,2]

Table 1, the window: Whisper's encoder reads 30 s, however short the clip. Each clip is decoded
by faster-whisper's batch path (what ``streaming: false`` does) and by Transcriber.decode with
the window cut to the clip plus each padding (what WINDOW_PADDING_S chooses from). Fastest of
2 runs per clip.

Table 2, streaming: each clip is fed to a StreamingTranscription in real time, 100 ms blocks,
with the streaming thread running as in the daemon; at the end of the clip (the speech ended
0.4 s before) the key comes up and finish() is timed. This isolates the transcriber: the
microphone, the hotkey and the paste are measured by bench/latency.py on the desktop rig.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dictad import transcriber as transcriber_module  # noqa: E402
from dictad.audio_file import read_audio_file  # noqa: E402
from dictad.config import load_config  # noqa: E402
from dictad.streaming import StreamingTranscription, transcribe_while_recording  # noqa: E402
from dictad.transcriber import SAMPLE_RATE, Transcriber  # noqa: E402
from tests.rig.speech import dictation_corpus, word_error_rate  # noqa: E402

BLOCK = SAMPLE_RATE // 10


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


def fastest(call, repeats: int = 2) -> tuple[str, float]:
    best, text = float("inf"), ""
    for _ in range(repeats):
        started = time.perf_counter()
        text = call()
        best = min(best, time.perf_counter() - started)
    return text, best


def window_table(transcriber: Transcriber, clips: list[tuple[np.ndarray, str]], paddings: list[float]) -> None:
    print(f"\n{'decoding':<28}{'WER':>8}{'median ms':>11}{'max ms':>9}")
    sides = [("batch (30 s window)", lambda audio: transcriber.transcribe(audio).text)]
    sides += [(f"window + {padding:g} s padding", padded_decode(transcriber, padding)) for padding in paddings]
    for name, decode in sides:
        results = [(reference, *fastest(lambda: decode(audio))) for audio, reference in clips]
        times = [seconds for _, _, seconds in results]
        print(f"{name:<28}{word_error_rate([(r, text) for r, text, _ in results]):>8.1%}"
              f"{statistics.median(times) * 1000:>11.0f}{max(times) * 1000:>9.0f}")


def padded_decode(transcriber: Transcriber, padding: float):
    def decode(audio: np.ndarray) -> str:
        saved = dict(transcriber_module.WINDOW_PADDING_S)
        transcriber_module.WINDOW_PADDING_S[transcriber.config.model] = padding
        try:
            return transcriber.decode(audio)
        finally:
            transcriber_module.WINDOW_PADDING_S.clear()
            transcriber_module.WINDOW_PADDING_S.update(saved)

    return decode


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--padding", default="0.5,1,2,3", help="comma-separated seconds of window padding")
    args = parser.parse_args()

    defaults = load_config().transcription
    config = defaults.__class__(**{**defaults.__dict__, "model": args.model})
    transcriber = Transcriber(config)
    transcriber.warm_up()
    with tempfile.TemporaryDirectory() as folder:
        clips = [(read_audio_file(path), text) for path, text in dictation_corpus(Path(folder), args.clips,
                                                                                  pad_after_s=0.4)]
    lengths = [len(audio) / SAMPLE_RATE for audio, _ in clips]
    print(f"model {args.model}, beam {config.beam_size}, {len(clips)} clips of {min(lengths):.1f}-{max(lengths):.1f} s")
    window_table(transcriber, clips, [float(value) for value in args.padding.split(",")])
    streaming_table(transcriber, clips)


if __name__ == "__main__":
    main()
