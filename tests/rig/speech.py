"""Spoken test clips made on the spot with espeak-ng and sox, and word error rate."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest


# Everyday dictation, as a corpus for tests and benchmarks.
SENTENCES = [
    "Please send me the report by Friday.",
    "The meeting moved to Thursday afternoon.",
    "Can you check whether the server is running?",
    "I will call you back in ten minutes.",
    "We should book a table for four people tonight.",
    "Remember to buy milk, bread and coffee.",
    "The train leaves at seven from platform two.",
    "Thanks for the update, I will review it today.",
    "Let's move the launch to next week and tell the whole team.",
    "Open the terminal and run the tests again.",
    "My flight lands at half past nine in the evening.",
    "Could you share the slides from yesterday's presentation?",
    "The kitchen needs new lights before the party on Saturday.",
    "I think the second option is cheaper but slower.",
    "Write a short note to the landlord about the broken heater.",
    "Our quarterly numbers look better than we expected, so let's celebrate with the team on Friday evening.",
]


SHORT_PHRASES = ["Sounds good.", "Call me later.", "Thank you.", "On my way.", "Yes, please."]
"""Very short dictations, for the 1-2 s end of a corpus."""
VOICES = ["en-us+m3", "en-gb+f3", "en-us+f2", "en-gb-x-rp+m1"]
SENTENCES_PER_CLIP = [0, 1, 2, 3, 1, 4, 0, 5]
"""A corpus cycles through these clip sizes; 0 is a short phrase of about a second."""
LONGEST_CLIP_S = 15.0


def dictation_corpus(folder: Path, count: int, pad_after_s: float = 0.4) -> list[tuple[Path, str, str]]:
    """``count`` (clip, text, voice) of about 1 to 15 s, the same every time: short phrases and one
    to five sentences in one breath, the voices taking turns, no two clips alike."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus, next_sentence = [], 0
    for index in range(count):
        size = SENTENCES_PER_CLIP[index % len(SENTENCES_PER_CLIP)]
        voice = VOICES[(index + index // len(SENTENCES_PER_CLIP)) % len(VOICES)]  # no clip twice
        path = folder / f"dictation{index:02d}.wav"
        if size == 0:
            texts = [SHORT_PHRASES[index // len(SENTENCES_PER_CLIP) % len(SHORT_PHRASES)]]
        else:
            texts = [SENTENCES[(next_sentence + offset) % len(SENTENCES)] for offset in range(size)]
            next_sentence += size
        speak(" ".join(texts), path, voice=voice, pad_after_s=pad_after_s)
        while wav_seconds(path) > LONGEST_CLIP_S and len(texts) > 1:
            texts.pop()
            speak(" ".join(texts), path, voice=voice, pad_after_s=pad_after_s)
        corpus.append((path, " ".join(texts), voice))
    return corpus


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def require_tools(*names: str) -> None:
    """Skip the test with a reason when a rig tool is missing (CI installs all of them)."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.skip(f"rig tools missing: {', '.join(missing)} (run .ci/run to install them)")


def silence(seconds: float) -> np.ndarray:
    """``seconds`` of digital silence at 16 kHz, float32, as dictad's recorder gives it."""
    return np.zeros(round(seconds * 16000), np.float32)


def speak(text: str, path: Path, voice: str = "en-us+m3", words_per_minute: int = 165,
          pad_before_s: float = 0.3, pad_after_s: float = 0.4) -> Path:
    """Write ``text`` spoken by espeak-ng as a 16 kHz mono 16-bit WAV with silence around it.

    espeak-ng ends its own output with 0.2-0.35 s of silence: it is cut off first, so the speech
    ends ``pad_after_s`` before the file does (a benchmark that lets go of the key some time
    after the file ends would otherwise let go that much later after the speech)."""
    require_tools("espeak-ng", "sox")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True)
    # -D: no dither, so the same text and voice always give the same file (sox's random dither
    # alone flipped words in tiny.en's output from one run of a benchmark to the next).
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path),
                    "reverse", "silence", "1", "0.01", "0.1%", "reverse",
                    "pad", str(pad_before_s), str(pad_after_s)], check=True)
    raw.unlink()
    return path


_NUMBER_WORDS = {
    word: str(value) for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}


def words(text: str) -> list[str]:
    """Lower-case words with punctuation dropped and small numbers as digits ("ten" and "10" agree)."""
    found = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [_NUMBER_WORDS.get(word, word) for word in found]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words) between two texts: the parts of a word error rate."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous_diagonal, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            previous_diagonal, row[j] = row[j], min(
                row[j] + 1, row[j - 1] + 1, previous_diagonal + (ref_word != hyp_word)
            )
    return row[-1], len(ref)


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Corpus WER over (reference, hypothesis) pairs."""
    edits = total = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        edits, total = edits + e, total + n
    return edits / max(total, 1)
