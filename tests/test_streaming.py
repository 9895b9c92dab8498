"""Transcribing while the key is held: real speech, the real bundled model, no hardware.

The recording is fed to the streaming transcription the way the microphone delivers it, one
100 ms block at a time; each update runs to completion before the next block, so what is
drafted by release does not depend on how fast this machine is. Whether a long draft is
committed does (streaming.SLOW_DRAFT_S): the tests of commits set it.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.vad import get_vad_model

from dictad.audio_file import read_audio_file
from dictad.streaming import COMMIT_AFTER_S, StreamingTranscription, speech_span, transcribe_while_recording
from dictad import streaming as streaming_module
from dictad import short_window as short_window_module
from dictad.short_window import PHASES, ends_repeating, is_trusted, padded_with_silence, silence_level
from dictad.transcriber import SAMPLE_RATE, Transcriber
from dictad.vad import VAD_WINDOW, SpeechDetector
from tests.rig.speech import SENTENCES, SHORT_PHRASES, VOICES, silence, speak, word_error_rate, words

pytestmark = pytest.mark.slow

BLOCK = SAMPLE_RATE // 10


class CountingDecoder:
    """The real transcriber, noting how much audio each decode was given (to see what release
    decodes); everything else goes straight through."""

    def __init__(self, transcriber):
        self.transcriber = transcriber
        self.decoded_seconds: list[float] = []

    def speech_detector(self):
        return self.transcriber.speech_detector()

    def decode(self, audio: np.ndarray, full_windows_if: Callable[[], bool] = lambda: True) -> str | None:
        self.decoded_seconds.append(len(audio) / SAMPLE_RATE)
        return self.transcriber.decode(audio, full_windows_if)

    def decode_in_full_windows(self, audio: np.ndarray) -> str:
        return self.transcriber.decode_in_full_windows(audio)


class HeldDecoder(CountingDecoder):
    """Holds the decodes that ``hold`` picks until :meth:`let_go`: the streaming thread
    made slow at a chosen moment, so the order of events is the test's, not the machine's."""

    HOLD_LIMIT_S = 60

    def __init__(self, transcriber, hold: Callable[[np.ndarray], bool]):
        super().__init__(transcriber)
        self._hold = hold
        self._gate = threading.Event()
        self.holding = threading.Event()
        self.held_until_the_limit = False

    def decode(self, audio: np.ndarray, full_windows_if: Callable[[], bool] = lambda: True) -> str | None:
        if self._hold(audio):
            self.holding.set()
            self.held_until_the_limit |= not self._gate.wait(self.HOLD_LIMIT_S)
        return super().decode(audio, full_windows_if)

    def let_go(self) -> None:
        self._gate.set()


class KeyPressedAgain:
    """The recorder as the streaming thread sees it, its audio always the current dictation's: one
    100 ms block more at each look, and once :meth:`next_dictation` is called, the next dictation's,
    held until :meth:`release` (its blocks come every 10 ms: the test waits on nothing else)."""

    def __init__(self, first: np.ndarray, second: np.ndarray):
        self._dictations, self._current, self._end = [first, second], 0, 0
        self._pressed_again, self._released = threading.Event(), threading.Event()

    def wait_for_audio(self) -> bool:
        if self._current == 1:
            return not self._released.wait(0.01)
        if self._end >= len(self._dictations[0]) and not self._pressed_again.wait(60):
            return False
        self._end += BLOCK
        return True

    def snapshot(self) -> np.ndarray:
        return self._dictations[self._current][: self._end]

    def next_dictation(self) -> None:
        self._current, self._end = 1, 0
        self._pressed_again.set()

    def release(self) -> None:
        self._released.set()


def record(stream: StreamingTranscription, audio: np.ndarray) -> None:
    """Feed ``audio`` as the microphone would: the recording so far, a block longer each time."""
    for end in range(BLOCK, len(audio) + BLOCK, BLOCK):
        stream.update(audio[:end])


@pytest.fixture
def decoder(transcriber):
    return CountingDecoder(transcriber)


@pytest.fixture
def clip(make_clip):
    def load(text: str, voice: str = "en-us+m3") -> np.ndarray:
        return read_audio_file(make_clip(text, voice))

    return load


def test_released_after_a_pause_the_text_is_already_there(decoder, clip):
    # A sentence tiny.en hears right in every window: "report by Friday" (SENTENCES[0]) comes out
    # as "report on my Friday" from the batch path too.
    audio = np.concatenate([clip(SENTENCES[2]), silence(0.5)])
    stream = StreamingTranscription(decoder)
    record(stream, audio)
    decodes_while_recording = len(decoder.decoded_seconds)

    result = stream.finish(audio)

    assert result.from_draft
    assert len(decoder.decoded_seconds) == decodes_while_recording, "release decoded again"
    assert word_error_rate([(SENTENCES[2], result.text)]) <= 0.2, result.text


def test_released_mid_sentence_the_rest_is_decoded_and_nothing_is_lost(decoder, clip, transcriber):
    audio = clip(SENTENCES[8])
    cut = audio[: int(len(audio) * 0.6)]
    stream = StreamingTranscription(decoder)
    record(stream, cut)

    result = stream.finish(cut)

    assert not result.from_draft
    assert result.text == transcriber.decode(cut)
    assert stream.speech_continues(cut)


def test_streaming_gives_what_a_decode_at_release_gives(decoder, clip, transcriber):
    pairs_streamed, pairs_at_release, pairs_batch = [], [], []
    for text, voice in zip(SENTENCES[:6], ["en-us+m3", "en-gb+f3", "en-us+f2"] * 2):
        audio = np.concatenate([clip(text, voice), silence(0.4)])
        stream = StreamingTranscription(decoder)
        record(stream, audio)
        pairs_streamed.append((text, stream.finish(audio).text))
        pairs_at_release.append((text, StreamingTranscription(decoder).finish(audio).text))
        pairs_batch.append((text, transcriber.transcribe(audio).text))
    assert pairs_streamed == pairs_at_release
    assert word_error_rate(pairs_streamed) <= word_error_rate(pairs_batch) + 0.02, (pairs_streamed, pairs_batch)


def test_release_never_waits_for_a_draft_of_audio_it_does_not_need(transcriber, clip):
    first, second = clip(SENTENCES[0]), clip(SENTENCES[8])
    audio = np.concatenate([first, silence(0.5), second[: int(len(second) * 0.6)]])
    decoder = HeldDecoder(transcriber, hold=lambda speech: len(speech) < len(first) + SAMPLE_RATE // 2)
    stream = StreamingTranscription(decoder)
    streaming = threading.Thread(target=record, args=(stream, audio))
    streaming.start()
    assert decoder.holding.wait(60), "no draft of the first sentence was started"

    result = stream.finish(audio)  # the speaker went on: the held draft is of no use

    decoder.let_go()
    streaming.join(60)
    assert not decoder.held_until_the_limit, "release waited for the draft it did not need"
    final = speech_span(transcriber.speech_detector().update(audio, final=True))
    assert not result.from_draft
    assert result.text == transcriber.decode(audio[final.start : final.end])


def test_release_during_the_draft_of_its_own_audio_uses_that_draft(transcriber, clip):
    audio = np.concatenate([clip(SENTENCES[2]), silence(0.5)])
    final = speech_span(transcriber.speech_detector().update(audio, final=True))
    decoder = HeldDecoder(transcriber, hold=lambda speech: len(speech) == final.end - final.start)
    stream = StreamingTranscription(decoder)
    streaming = threading.Thread(target=record, args=(stream, audio))
    streaming.start()
    assert decoder.holding.wait(60), "no draft of the whole sentence was started while recording"
    results = []
    finishing = threading.Thread(target=lambda: results.append(stream.finish(audio)))
    finishing.start()

    decoder.let_go()

    finishing.join(60)
    streaming.join(60)
    assert results[0].from_draft
    assert decoder.decoded_seconds.count((final.end - final.start) / SAMPLE_RATE) == 1, "release decoded again"
    assert results[0].text == transcriber.decode(audio[final.start : final.end])


def test_a_draft_released_before_its_short_window_failed_leaves_the_full_windows_to_release(
        transcriber, clip, monkeypatch):
    """Started after release, the draft's full-window decode would take the cores from release's own."""
    monkeypatch.delitem(short_window_module.SHORT_WINDOWS, "tiny.en")  # no short window is ever trusted
    full_windows = spy_on(transcriber.model, "transcribe", monkeypatch)
    audio = np.concatenate([clip(SENTENCES[2]), silence(0.5)])
    final = speech_span(transcriber.speech_detector().update(audio, final=True))
    decoder = HeldDecoder(transcriber, hold=lambda speech: len(speech) == final.end - final.start)
    stream = StreamingTranscription(decoder)
    streaming = threading.Thread(target=record, args=(stream, audio))
    streaming.start()
    assert decoder.holding.wait(60), "no draft of the whole sentence was started while recording"
    stream.recording_ended()  # the key comes up while that draft decodes
    decoded_while_recording = len(full_windows)

    decoder.let_go()
    streaming.join(60)
    assert len(full_windows) == decoded_while_recording, "the draft started the full windows after release"
    result = stream.finish(audio)

    assert not result.from_draft
    assert len(full_windows) == decoded_while_recording + 1, "release did not decode in the full windows once"
    assert result.text == transcriber.decode_in_full_windows(audio[final.start : final.end])


def test_a_draft_decoding_at_release_does_not_carry_the_stream_into_the_next_dictation(transcriber, clip):
    first = np.concatenate([clip(SENTENCES[2]), silence(0.5)])
    second = np.concatenate([clip(SENTENCES[8]), silence(0.5)])
    decoder = HeldDecoder(transcriber, hold=lambda speech: not decoder.decoded_seconds)
    recording, stream = KeyPressedAgain(first, second), StreamingTranscription(decoder)
    streaming = threading.Thread(target=transcribe_while_recording, args=(recording, stream))
    streaming.start()
    assert decoder.holding.wait(60), "no draft was started"

    stream.recording_ended()  # the key comes up while that draft decodes...
    recording.next_dictation()  # ...and goes down again
    decoder.let_go()

    streaming.join(30)
    recording.release()
    assert not streaming.is_alive(), "the streaming thread went on into the next dictation"
    assert len(decoder.decoded_seconds) == 1, f"the next dictation's audio was decoded: {decoder.decoded_seconds}"
    final = speech_span(transcriber.speech_detector().update(first, final=True))
    assert stream.finish(first).text == transcriber.decode(first[final.start : final.end])


@pytest.fixture
def long_dictation(clip) -> tuple[np.ndarray, str, float]:
    """Three sentences with pauses to cut at, the first two past COMMIT_AFTER_S: the audio, its
    text and the last sentence's length in seconds."""
    before, after, last = SENTENCES[15], SENTENCES[12], SENTENCES[3]
    before_audio, after_audio, last_audio = clip(before), clip(after), clip(last)
    audio = np.concatenate([before_audio, silence(0.6), after_audio, silence(0.6), last_audio, silence(0.5)])
    assert len(before_audio) < COMMIT_AFTER_S * SAMPLE_RATE < len(before_audio) + len(after_audio)
    return audio, f"{before} {after} {last}", len(last_audio) / SAMPLE_RATE


def test_where_drafts_decode_slowly_a_long_dictation_is_committed_and_only_the_last_phrase_is_left(
        decoder, long_dictation, monkeypatch):
    # Whether this machine decodes a draft slower than SLOW_DRAFT_S depends on the machine: with the
    # threshold at 0, every draft is slow, as on a slower machine.
    monkeypatch.setattr(streaming_module, "SLOW_DRAFT_S", 0.0)
    audio, text, last_seconds = long_dictation
    stream = StreamingTranscription(decoder)
    record(stream, audio)
    result = stream.finish(audio)

    assert result.pieces == 2
    assert decoder.decoded_seconds[-1] < last_seconds + 1.0, "the last decode was not of the last phrase"
    assert word_error_rate([(text, result.text)]) <= 0.1, result.text


def test_where_drafts_decode_in_time_a_long_dictation_is_decoded_whole(decoder, long_dictation, transcriber,
                                                                       monkeypatch):
    # The other side of the same machine-dependent line: no draft counts as slow.
    monkeypatch.setattr(streaming_module, "SLOW_DRAFT_S", float("inf"))
    audio, text, _ = long_dictation
    stream = StreamingTranscription(decoder)
    record(stream, audio)
    decodes_while_recording = len(decoder.decoded_seconds)
    result = stream.finish(audio)

    assert (result.pieces, result.from_draft) == (1, True)
    assert len(decoder.decoded_seconds) == decodes_while_recording, "release decoded again"
    whole = speech_span(transcriber.speech_detector().update(audio, final=True))
    assert result.text == transcriber.decode(audio[whole.start : whole.end])
    assert word_error_rate([(text, result.text)]) <= 0.1, result.text


@pytest.mark.parametrize("audio", [
    silence(3),
    np.random.default_rng(7).normal(0, 0.1, SAMPLE_RATE * 3).astype(np.float32),
], ids=["silence", "noise"])
def test_no_speech_gives_nothing_and_no_decoding(decoder, audio):
    stream = StreamingTranscription(decoder)
    record(stream, audio)
    assert stream.finish(audio).text == ""
    assert decoder.decoded_seconds == []
    assert not stream.speech_continues(audio)


def test_the_speech_detector_fed_block_by_block_scores_as_a_whole_clip_would(transcriber, clip):
    audio = np.concatenate([silence(0.5), clip(SENTENCES[4]), silence(0.6)])
    audio = audio[: len(audio) // VAD_WINDOW * VAD_WINDOW]
    fed_in_blocks = transcriber.speech_detector()
    for end in range(BLOCK, len(audio) + BLOCK, BLOCK):
        block_by_block = fed_in_blocks.update(audio[:end])
    at_once = transcriber.speech_detector().update(audio)
    whole_clip = get_vad_model()(audio).reshape(-1)

    np.testing.assert_array_equal(block_by_block, at_once)
    np.testing.assert_allclose(at_once, whole_clip, atol=0.05)
    speech_at = np.flatnonzero(at_once > 0.5) * VAD_WINDOW / SAMPLE_RATE
    assert speech_at[0] >= 0.5 and speech_at[-1] <= len(audio) / SAMPLE_RATE - 0.6, "speech found in the silence"
    assert len(speech_at) * VAD_WINDOW >= 0.7 * (len(audio) - 1.8 * SAMPLE_RATE), "speech missed"


def test_a_final_partial_window_is_scored_too(transcriber, clip):
    speech = clip(SENTENCES[1])
    cut = speech[: len(speech) // 2 // VAD_WINDOW * VAD_WINDOW + 200]  # ends mid-word, 200 samples into a window
    detector = SpeechDetector(get_vad_model())
    assert len(detector.update(cut)) == len(cut) // VAD_WINDOW
    assert len(detector.update(cut, final=True)) == len(cut) // VAD_WINDOW + 1


def test_short_phrases_decode_in_the_short_window_as_well_as_in_the_full_one(transcriber, make_clip):
    spans = []
    for phrase in SHORT_PHRASES:
        for voice in VOICES[:3]:
            audio = read_audio_file(make_clip(phrase, voice))
            span = speech_span(transcriber.speech_detector().update(audio, final=True))
            spans.append((phrase, audio[span.start : span.end]))
    short_window = [(phrase, transcriber.short_window.decode(speech)) for phrase, speech in spans]
    full_windows = [(phrase, transcriber.decode_in_full_windows(speech)) for phrase, speech in spans]

    # In 3 s windows a third of them ran on into loops and fell back; the guard may still catch one.
    assert len([phrase for phrase, text in short_window if text is None]) <= 2, short_window
    decoded = [(phrase, full if short is None else short)  # what decode() gives
               for (phrase, short), (_, full) in zip(short_window, full_windows)]
    assert word_error_rate(decoded) <= word_error_rate(full_windows) + 0.08, (short_window, full_windows)


def test_a_long_stretch_of_speech_is_decoded_to_its_end_in_short_windows(transcriber, make_clip, monkeypatch):
    text = " ".join(SENTENCES[7:11])  # 13 s in one breath: the first window's text stops after 11.4 s
    audio = read_audio_file(make_clip(text, "en-gb-x-rp+m1"))
    decodes = spy_on(transcriber.short_window, "_decode_window", monkeypatch)
    short_windows = transcriber.short_window.decode(audio)
    assert short_windows is not None, "fell back to the full windows"
    # Two windows, each decoded once: a window of 10 s or more is heard in one phase, and so is one
    # that goes on where another stopped.
    assert len(decodes) == 2, f"this clip was chosen for a first window that stops early: {decodes}"
    full_windows = transcriber.decode_in_full_windows(audio)
    assert word_error_rate([(text, short_windows)]) <= word_error_rate([(text, full_windows)]) + 0.1, short_windows


def spy_on(decoder: object, method: str, monkeypatch) -> list:
    """What each call of ``method`` returned, in the order they returned (a spy: every window is
    still decoded for real)."""
    returned = []
    decode = getattr(decoder, method)

    def noting_what_it_returns(*args, **kwargs):
        result = decode(*args, **kwargs)
        returned.append(result)
        return result

    monkeypatch.setattr(decoder, method, noting_what_it_returns)
    return returned


def test_each_window_is_heard_in_every_phase_and_the_text_whisper_is_surest_of_is_kept(
        transcriber, clip, monkeypatch):
    """A microphone places speech anywhere against Whisper's 20 ms encoder steps, and tiny.en's
    text changes with a shift of 10 ms: the phases that disagree here are what the choice is for."""
    sentences = [clip(sentence, voice) for sentence, voice in zip(SENTENCES[:8], VOICES * 2)]
    decoded = spy_on(transcriber.short_window, "_decode_window", monkeypatch)
    disagreements = 0
    for audio in sentences:
        decoded.clear()
        text = transcriber.short_window.decode(audio)
        assert len(decoded) == len(PHASES), "one window, decoded once in each phase"
        assert all(is_trusted(window) for window in decoded), decoded
        assert text == max(decoded, key=lambda window: window.score).text, "kept a text Whisper was less sure of"
        disagreements += len({window.text for window in decoded}) > 1
    # Were the phases not shifted, they would always agree: this is what shows they are.
    assert disagreements > 0, "every phase wrote the same text: nothing to choose between"


def test_noise_heard_as_silence_in_one_phase_is_silence_in_two(transcriber, monkeypatch):
    """The speech detector keeps noise from Whisper, but in a short window alone tiny.en writes "You"
    for most draws of noise. Were some to get past the detector, a second phase must not give it a
    second chance to become words: no speech heard in any phase wins."""
    draws = [np.random.default_rng(seed).normal(0, 0.1, SAMPLE_RATE * 3).astype(np.float32) for seed in range(10)]
    two_phases = [transcriber.short_window.decode(noise) for noise in draws]
    monkeypatch.setattr(short_window_module, "PHASES", PHASES[:1])
    one_phase = [transcriber.short_window.decode(noise) for noise in draws]
    assert "" in one_phase, "no draw was heard as silence: nothing to compare"
    assert all(two == "" for one, two in zip(one_phase, two_phases) if one == ""), (one_phase, two_phases)


@pytest.mark.parametrize("said", [
    "Deploy it with kubectl on the Kubernetes cluster.",
    " ".join(SENTENCES[7:11]),  # 13 s, where a window is likelier to stop before the speech does
])
def test_with_a_vocabulary_the_short_window_is_still_used_and_reaches_the_end(default_config, make_clip, said):
    """With hotwords in its prompt, tiny.en leaves the end of its text open (no closing timestamp)."""
    transcriber = Transcriber(default_config.transcription, ["kubectl", "Kubernetes"])
    audio = read_audio_file(make_clip(said))
    span = speech_span(transcriber.speech_detector().update(audio, final=True))
    speech = audio[span.start : span.end]
    short_window = transcriber.short_window.decode(speech)
    assert short_window is not None, "fell back to the full windows"
    full_windows = transcriber.decode_in_full_windows(speech)
    assert word_error_rate([(said, short_window)]) <= word_error_rate([(said, full_windows)]) + 0.1, short_window


FAST_DICTATION = ("The quick brown fox jumps over the lazy dog. Sphinx of black quartz, judge my vow. "
                  "Pack my box with five dozen liquor jugs. How vexingly quick daft zebras jump. "
                  "The five boxing wizards jump quickly. Jackdaws love my big sphinx of quartz.")
"""12 s at 240 words a minute: Whisper writes 67 tokens for it, more than five a second."""


def phrases_said_twice(text: str, length: int = 4) -> set[tuple[str, ...]]:
    """Runs of ``length`` words that ``text`` has more than once (the texts said here have none)."""
    said = words(text)
    runs = [tuple(said[i : i + length]) for i in range(len(said) - length + 1)]
    return {run for run in runs if runs.count(run) > 1}


@pytest.fixture(scope="module")
def fast_dictation(tmp_path_factory) -> np.ndarray:
    return read_audio_file(speak(FAST_DICTATION, tmp_path_factory.mktemp("fast") / "fast.wav", words_per_minute=240))


def test_fast_speech_is_decoded_in_short_windows_with_no_words_written_twice(transcriber, fast_dictation):
    short_windows = transcriber.short_window.decode(fast_dictation)
    assert short_windows is not None, "fell back to the full windows"
    assert not phrases_said_twice(short_windows), short_windows
    full_windows = transcriber.decode_in_full_windows(fast_dictation)
    assert word_error_rate([(FAST_DICTATION, short_windows)]) \
        <= word_error_rate([(FAST_DICTATION, full_windows)]) + 0.1, (short_windows, full_windows)


def test_a_text_within_its_token_budget_is_decoded_whole(transcriber, fast_dictation, monkeypatch):
    whole = transcriber.short_window.decode(fast_dictation)
    monkeypatch.setattr(short_window_module, "TOKENS_PER_SECOND", 6)  # 85 tokens for 12 s, 67 needed
    assert transcriber.short_window.decode(fast_dictation) == whole
    monkeypatch.setattr(short_window_module, "TOKENS_PER_SECOND", 4)  # 61
    assert transcriber.short_window.decode(fast_dictation) is None, "ran past its budget, yet trusted"


def test_words_after_the_last_timestamp_are_decoded_again_not_written_twice(transcriber, clip, monkeypatch):
    text = " ".join(SENTENCES[11:14])
    audio = clip(text)
    whole = transcriber.short_window.decode(audio)
    # Whisper made to stop after 30 tokens: mid-sentence, after words it has not given a timestamp yet.
    monkeypatch.setattr(short_window_module, "generation_length", lambda prompt_length, max_tokens: 60)
    cut_short = transcriber.short_window.decode(audio)
    assert cut_short is not None
    assert not phrases_said_twice(cut_short), cut_short
    assert word_error_rate([(text, cut_short)]) <= word_error_rate([(text, whole)]) + 0.05, (cut_short, whole)


def test_the_short_window_is_as_accurate_as_the_full_one(transcriber, clip):
    voices = ["en-us+m3", "en-gb+f3", "en-us+f2", "en-gb-x-rp+m1"]
    clips = [(text, np.concatenate([clip(text, voice), silence(0.3)]))
             for text, voice in zip(SENTENCES, voices * 4)]
    short_window = word_error_rate([(text, transcriber.decode(audio)) for text, audio in clips])
    full_window = word_error_rate([(text, transcriber.transcribe(audio).text) for text, audio in clips])
    assert short_window <= full_window + 0.01, (short_window, full_window)


@pytest.mark.parametrize("seconds", [1.0, 2.7])
def test_a_short_window_is_padded_with_what_silence_looks_like_to_whisper(clip, seconds):
    speech = clip(SENTENCES[1])[: int(seconds * SAMPLE_RATE)]  # cut off mid-word
    extract = FeatureExtractor()
    features = extract(speech)[:, :-1]
    window = padded_with_silence(features, 1200, silence_level(features))
    followed_by_silence = extract(np.concatenate([speech, silence(12.0)]))[:, :1200]

    assert window.shape == followed_by_silence.shape
    np.testing.assert_array_equal(window[:, : features.shape[-1]], features)
    after_the_speech = features.shape[-1] + 2  # frames that still overlap the speech's last samples
    np.testing.assert_allclose(window[:, after_the_speech:], followed_by_silence[:, after_the_speech:], atol=1e-6)


def test_a_near_silent_window_is_padded_with_the_floor_of_silence():
    features = FeatureExtractor()(np.full(SAMPLE_RATE, 1e-7, np.float32))[:, :-1]
    assert silence_level(features) == -1.5


@pytest.mark.parametrize("text, repeating", [
    ("see you soon see you soon", True),
    ("I will call you back. I will call you back.", True),
    ("the the report is ready", False),
    ("no no", False),
    ("Please send me the report by Friday.", False),
])
def test_whisper_running_on_into_the_padding_is_recognised(text, repeating):
    assert ends_repeating(text) is repeating
