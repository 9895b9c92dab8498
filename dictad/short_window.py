"""Decoding a dictation in a Whisper window cut to its length, as the streaming path does.

Whisper's encoder always reads a 30-second window, and most of the time for a short clip goes
into encoding the padding. For models in SHORT_WINDOWS the window is cut to the speech plus
some silence, but not so short that Whisper hears less well; text that runs on, repeats itself
or stops early again and again is not trusted, and the caller decodes it in faster-whisper's
full windows instead (dictad.transcriber). tiny.en hears a dictation of under 10 s twice,
10 ms apart, and the text Whisper is surer of is kept (PHASES). Re-measure every choice here
with ``python bench/window.py`` and ``python bench/replay.py RUN.json --windows ... --phases ...``;
the figures behind them are in bench/README.md.
"""

from __future__ import annotations

import logging
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dictad.config import TranscriptionConfig

FRAMES_PER_SECOND = 100
FULL_WINDOW_FRAMES = 3000


@dataclass(frozen=True)
class ShortWindow:
    """How far Whisper's 30-second window can be cut for one model: to the audio plus
    ``padding_s`` seconds of silence, but never below ``shortest_s`` nor above 30 s; and whether
    the model hears each window in all the PHASES (measured for tiny.en only)."""

    padding_s: float
    shortest_s: float
    phased: bool = False

    def frames_for(self, audio_frames: int) -> int:
        padded = math.ceil((audio_frames + self.padding_s * FRAMES_PER_SECOND) / 100) * 100
        return min(max(padded, round(self.shortest_s * FRAMES_PER_SECOND)), FULL_WINDOW_FRAMES)


SHORT_WINDOWS: dict[str, ShortWindow] = {
    "tiny.en": ShortWindow(padding_s=6.0, shortest_s=12.0, phased=True),
    "base": ShortWindow(padding_s=3.0, shortest_s=8.0),
}
"""Models that decode as well from a cut window as from the full one (a model directory is known by
its folder name); others decode ahead in full windows. tiny.en keeps 6 s of silence after the
speech, in a window of at least 12 s: in shorter windows it ran on into loops or garbled the last
words of long dictations, and longer ones held more memory for no gain. The multilingual ``base``
broke in windows of the clip + 1 s and decoded well in windows of the clip + 3 s."""
COMPRESSION_RATIO_LIMIT = 2.4
"""faster-whisper's threshold: text that compresses better than this is repeating itself."""
EARLY_STOP_S = 1.0
"""Text whose last timestamp is this far before the end of the audio left speech out."""
LEAST_PADDING_FRAMES = FRAMES_PER_SECOND
"""Audio that would leave less padding than this in a 30 s window is decoded in full windows."""
MOST_SHORT_WINDOWS = 3
"""A text that still ends early after this many windows is decoded by the batch path."""
PHASES = (0, 1)
"""Feature frames (10 ms each) left out at the start of the speech: the first short window of a
phased model is decoded once per entry, all at once (one a decoder: whisper_model.DECODERS), and
the best trusted text is kept (see ShortWindowDecoder._hear_window). A microphone places the
speech anywhere against Whisper's 20 ms encoder steps, and tiny.en's text changes with a shift
of a few milliseconds: two hearings half a step apart, and Whisper's own confidence to choose
between them, cut its word error rate on the rig's recordings by about half a point."""
PHASES_BELOW_S = 10.0
"""A window with this much audio or more is decoded in the first phase only, as is a window that
goes on where another stopped early (leaving out its first frame could leave out a word's start).
Two phases at once take both cores, which slowed long releases on 2 cores, and long dictations
gained nothing from the second phase."""
TOKENS_PER_SECOND = 10
TOKENS_AT_LEAST = 12
WHISPER_SAMPLE_LENGTH = 224
"""The most tokens Whisper writes for one window: half its context of 448."""
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0
"""faster-whisper's thresholds: a window more likely silent than this, and written with less
confidence than that, holds no speech."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowText:
    """What Whisper wrote for one short window."""

    text: str
    timed_text: str
    """The text up to its last timestamp: all that is kept when the audio after that timestamp is
    decoded again (words after it would be written twice)."""
    ends_s: float
    """Where the last timestamp puts the end of the text, in seconds into the window."""
    score: float
    """Whisper's own measure of how sure it is: the text's log-probability per token."""

    @property
    def no_speech(self) -> bool:
        """Whisper heard no speech in the window (the text is empty)."""
        return self.ends_s == math.inf


def silence_level(features: np.ndarray) -> float:
    """The value digital silence takes in the log-mel ``features`` of one recording. Whisper's
    feature extractor raises every value to at least 8 below the loudest (2 once normalised), and
    zero audio sits at that floor, or at its own log10(1e-10) (-1.5 normalised) when everything
    is near-silent."""
    return max(float(features.max()) - 2.0, -1.5)


def padded_with_silence(features: np.ndarray, frames: int, silence: float) -> np.ndarray:
    """``features`` followed by ``silence`` (see :func:`silence_level`) up to ``frames`` frames.

    Whisper learned from audio padded with zeros to 30 s (openai-whisper still pads so);
    faster-whisper pads the features with 0 instead, a level no silence has, and tiny.en heard
    that padding as something to transcribe. Padded with silence it heard a point or so better,
    as fast (``python bench/window.py``; bench/README.md)."""
    window = np.full((features.shape[0], frames), silence, np.float32)
    window[:, : features.shape[-1]] = features
    return window


def token_budget(seconds: float) -> int:
    """The most tokens a short window may decode for ``seconds`` of audio: fast speech, every word
    a token of its own and a pair of timestamps every few words, stays well below it. Whisper
    running on into a loop is stopped at it instead of at its limit of half its context, seconds
    later."""
    return min(TOKENS_AT_LEAST + math.ceil(seconds * TOKENS_PER_SECOND), WHISPER_SAMPLE_LENGTH)


def generation_length(prompt_length: int, max_tokens: int) -> int:
    """The ``max_length`` that lets CTranslate2's Whisper ``generate`` write ``max_tokens`` after a
    prompt: it stops at half of ``max_length`` (as Whisper stops at half its context), and at
    ``max_length`` less the prompt."""
    return max(2 * max_tokens, prompt_length + max_tokens)


def is_trusted(decoded: WindowText | None) -> bool:
    """Whether a window's text shows no sign of going wrong: running on past its token budget
    (None), repeating itself, compressing too well."""
    from faster_whisper.transcribe import get_compression_ratio

    return decoded is not None and not ends_repeating(decoded.text) \
        and get_compression_ratio(decoded.text) <= COMPRESSION_RATIO_LIMIT


def ends_repeating(text: str) -> bool:
    """Whether ``text`` ends by saying its last two or more words again ("see you soon see you soon"):
    how Whisper runs on into the padding of a short window. Rare in speech, and then the full
    window decodes it anyway."""
    words = re.findall(r"[\w']+", text.lower())
    return any(words[-length:] == words[-2 * length : -length] for length in range(2, len(words) // 2 + 1))


class ShortWindowDecoder:
    """Decodes stretches of speech in cut windows with one loaded faster-whisper ``model``."""

    def __init__(self, model: Any, config: TranscriptionConfig, hotwords: str | None):
        self._model = model
        self._config = config
        self._hotwords = hotwords
        self._tokenizers: dict[str | None, Any] = {}
        # Enough threads for every phase of two decodes at once, a draft's and a release's.
        self._phases = ThreadPoolExecutor(2 * len(PHASES), thread_name_prefix="dictad-phase")

    def decode(self, audio: np.ndarray) -> str | None:
        """The text from windows cut to the audio plus the model's padding; None when the model
        has no measured window, the audio is too long, or the text shows signs of going wrong
        (running on past its token budget, repeating itself, stopping early again and again).

        Like faster-whisper's batch path, when Whisper's text ends before the audio does, the
        rest is decoded from where its last timestamp put the end, and only the text up to that
        timestamp is kept from the window before."""
        window = SHORT_WINDOWS.get(Path(self._config.model).name)
        if window is None:
            return None
        features = self._model.feature_extractor(audio)[:, :-1]
        silence = silence_level(features)
        texts: list[str] = []
        for _ in range(MOST_SHORT_WINDOWS):
            seconds = features.shape[-1] / FRAMES_PER_SECOND
            if features.shape[-1] + LEAST_PADDING_FRAMES > FULL_WINDOW_FRAMES:
                return None
            phases = PHASES if window.phased and not texts and seconds < PHASES_BELOW_S else PHASES[:1]
            decoded, heard = self._hear_window(features, phases, window.frames_for(features.shape[-1]), silence,
                                               max_tokens=token_budget(seconds))
            if decoded is None:
                return None
            if decoded.ends_s >= seconds - EARLY_STOP_S:
                return " ".join(part for part in [*texts, decoded.text] if part)
            if decoded.ends_s <= 0 or not decoded.timed_text:
                break
            texts.append(decoded.timed_text)
            features = heard[:, round(decoded.ends_s * FRAMES_PER_SECOND) :]
        log.debug("the short windows stopped early (%r): not trusted", texts)
        return None

    def _hear_window(self, features: np.ndarray, phases: tuple[int, ...], frames: int, silence: float,
                     max_tokens: int) -> tuple[WindowText | None, np.ndarray]:
        """One window of ``features`` (padded with ``silence`` to ``frames``) decoded in each of
        ``phases`` at once: the best trusted text, and the features of its phase; None when no
        phase is trusted. No speech heard in any phase wins, so that near-silence gets no more
        chances to become an invented "Thank you." than in one phase; then a text that reaches the
        end of the audio over one that stops early; then the surest (the best score)."""
        seconds = features.shape[-1] / FRAMES_PER_SECOND
        shifted = [features[:, dropped:] for dropped in phases]
        heard = list(self._phases.map(
            lambda phase: self._decode_window(padded_with_silence(phase, frames, silence), phase.shape[-1], max_tokens),
            shifted))
        trusted = [index for index, text in enumerate(heard) if is_trusted(text)]
        if not trusted:
            log.debug("the short window gave %r: not trusted", heard)
            return None, features

        def rank(index: int) -> tuple[bool, bool, float]:
            text = heard[index]
            return text.no_speech, text.ends_s >= seconds - EARLY_STOP_S, text.score

        chosen = max(trusted, key=rank)
        return heard[chosen], shifted[chosen]

    def _decode_window(self, window: np.ndarray, audio_frames: int, max_tokens: int) -> WindowText | None:
        """Decode one window of features (``audio_frames`` of them audio, the rest padding) with
        timestamps; None when the text is empty for no clear reason, or ran to ``max_tokens``."""
        encoded = self._model.encode(window)
        tokenizer = self._tokenizer(encoded)
        prompt = self._model.get_prompt(tokenizer, [], without_timestamps=False, hotwords=self._hotwords)
        result = self._model.model.generate(
            encoded, [prompt], beam_size=self._config.beam_size,
            max_length=generation_length(len(prompt), max_tokens),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1],
            max_initial_timestamp_index=round(1.0 / self._model.time_precision),
        )[0]
        tokens = result.sequences_ids[0]
        if len(tokens) >= max_tokens:
            return None
        score = result.scores[0]
        average_log_probability = score * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_PROBABILITY and average_log_probability < LOW_LOG_PROBABILITY:
            return WindowText("", "", math.inf, score)
        text = tokenizer.decode(tokens).strip()
        if not text:
            return None
        timestamps = [index for index, token in enumerate(tokens) if token >= tokenizer.timestamp_begin]
        if not timestamps:
            return WindowText(text, "", 0.0, score)
        last = timestamps[-1]
        if last == len(timestamps) - 1:
            # Only the opening timestamp, as tiny.en writes with hotwords in its prompt: where the
            # text ends comes from aligning it with the audio, as word timestamps do. None of it is
            # timed, so a text that ends early is not continued but decoded again in full windows.
            return WindowText(text, "", self._end_of_words(encoded, tokenizer, tokens[last + 1 :], audio_frames), score)
        return WindowText(text, tokenizer.decode(tokens[: last + 1]).strip(),
                          (tokens[last] - tokenizer.timestamp_begin) * self._model.time_precision, score)

    def _end_of_words(self, encoded: Any, tokenizer: Any, text_tokens: list[int], audio_frames: int) -> float:
        """Where the last word of ``text_tokens`` ends in the window, in seconds, by Whisper's
        cross-attention (faster-whisper's word timestamps)."""
        words = self._model.find_alignment(tokenizer, [text_tokens], encoded, [audio_frames])[0]
        return float(words[-1]["end"]) if words else 0.0

    def _tokenizer(self, encoded: Any) -> Any:
        """The tokenizer for the configured language, or for the one detected in ``encoded``."""
        from faster_whisper.tokenizer import Tokenizer

        language = self._config.language
        if language is None and self._model.model.is_multilingual:
            language = self._model.model.detect_language(encoded)[0][0][0][2:-2]
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                                   task="transcribe", language=language or "en")
        return self._tokenizers[language]
