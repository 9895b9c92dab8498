"""dictad's file transcription next to faster-whisper called directly, on a generated speech corpus.

    python bench/transcribe.py [--model tiny.en] [--clips 24] [--repeats 3]

Both sides decode the same files with the same model, beam size and CPU threads; each clip is timed
`--repeats` times per side (alternating which side goes first) and the fastest run counts.
Prints word error rate and time per clip for both, and the pipeline's overhead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dictad.audio_file import read_audio_file  # noqa: E402
from dictad.config import load_config  # noqa: E402
from dictad.transcriber import Transcriber  # noqa: E402
from dictad.whisper_model import resolve_model, threads_per_decoder  # noqa: E402
from tests.rig.speech import SENTENCES, VOICES, speak, word_error_rate  # noqa: E402


def make_corpus(folder: Path, count: int) -> list[tuple[Path, str]]:
    corpus = []
    for index in range(count):
        text = SENTENCES[index % len(SENTENCES)]
        voice = VOICES[index % len(VOICES)]
        corpus.append((speak(text, folder / f"clip{index:02d}.wav", voice=voice), text))
    return corpus


def run_direct(model, path: Path, beam_size: int, language: str | None) -> str:
    from faster_whisper import decode_audio

    segments, _ = model.transcribe(decode_audio(str(path)), beam_size=beam_size, language=language)
    return " ".join(segment.text.strip() for segment in segments).strip()


def run_pipeline(transcriber: Transcriber, path: Path) -> str:
    return transcriber.transcribe(read_audio_file(path)).text


def fastest(call, repeats: int) -> tuple[str, float]:
    best, text = float("inf"), ""
    for _ in range(repeats):
        started = time.perf_counter()
        text = call()
        best = min(best, time.perf_counter() - started)
    return text, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from faster_whisper import WhisperModel

    defaults = load_config()
    config = defaults.transcription.__class__(**{**defaults.transcription.__dict__, "model": args.model})
    transcriber = Transcriber(config)
    direct_model = WhisperModel(resolve_model(args.model), device=config.device, compute_type=config.compute_type,
                                cpu_threads=threads_per_decoder(config.cpu_threads))

    with tempfile.TemporaryDirectory() as folder:
        corpus = make_corpus(Path(folder), args.clips)
        results = {"faster-whisper direct": ([], []), "dictad pipeline": ([], [])}
        for index, (path, reference) in enumerate(corpus):
            sides = [
                ("faster-whisper direct", lambda: run_direct(direct_model, path, config.beam_size, config.language)),
                ("dictad pipeline", lambda: run_pipeline(transcriber, path)),
            ]
            for name, call in sides if index % 2 else reversed(sides):
                text, seconds = fastest(call, args.repeats)
                results[name][0].append((reference, text))
                results[name][1].append(seconds)

    print(f"model {args.model}, beam {config.beam_size}, compute {config.compute_type}, "
          f"{len(corpus)} clips, fastest of {args.repeats} runs per clip")
    print(f"{'side':<24}{'WER':>8}{'median ms':>12}{'mean ms':>10}{'total s':>10}")
    for name, (pairs, times) in results.items():
        print(f"{name:<24}{word_error_rate(pairs):>8.1%}{statistics.median(times) * 1000:>12.0f}"
              f"{statistics.mean(times) * 1000:>10.0f}{sum(times):>10.2f}")
    direct_total = sum(results["faster-whisper direct"][1])
    pipeline_total = sum(results["dictad pipeline"][1])
    print(f"pipeline time vs direct: {pipeline_total / direct_total - 1:+.1%}")


if __name__ == "__main__":
    main()
