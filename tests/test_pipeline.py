"""One dictation's trip as one function: real speech, the real bundled model, no thread, no display.

Only the window is a stand-in, one that keeps what it was given: delivery into real windows
is tested on the desktop rig (test_inject.py, test_desktop.py). The audio, the model, the
replacements and the rule cleaner are the real ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from dictad.audio_file import read_audio_file
from dictad.cleanup.rules import RuleCleaner
from dictad.inject import Delivery
from dictad.pipeline import Stages, Trip, finish_transcript, take_trip
from dictad.replacements import Replacer
from dictad.streaming import StreamingTranscription
from dictad.transcriber import SAMPLE_RATE, Transcript
from tests.rig.speech import silence, words

pytestmark = pytest.mark.slow

BLOCK = SAMPLE_RATE // 10


class Window:
    """Keeps what it is given; ``refuses`` with a reason, as a delivery does when no window has focus."""

    def __init__(self, refuses: str = "") -> None:
        self.refuses = refuses
        self.texts: list[str] = []

    def deliver(self, text: str) -> Delivery:
        if self.refuses:
            return Delivery(False, "paste", text, reason=self.refuses)
        self.texts.append(text)
        return Delivery(True, "paste", text, target="stand-in/window")


class Trail:
    """What the trip leaves behind: events, and the history."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.history: list[tuple[str, bool]] = []

    def emit(self, name: str, **fields: object) -> None:
        self.events.append((name, fields))

    def remember(self, trip: Trip) -> None:
        self.history.append((trip.text, trip.delivery.delivered))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def stages(transcriber, window: Window, trail: Trail) -> Stages:
    replace_words = Replacer({"report": "quarterly report"})
    return Stages(transcriber, lambda raw: finish_transcript(raw, replace_words, RuleCleaner(english=True)),
                  window.deliver, trail.remember, trail.emit)


@pytest.fixture
def speech(make_clip) -> np.ndarray:
    return read_audio_file(make_clip("Please send me the report by Friday."))


def test_a_dictation_goes_from_its_audio_to_the_window_and_the_history(transcriber, speech) -> None:
    window, trail = Window(), Trail()
    trip = take_trip(speech, stages(transcriber, window, trail))
    assert trip.outcome == "delivered"
    assert window.texts == [trip.text] and trail.history == [(trip.text, True)]
    assert "quarterly report" in trip.text.lower() and "report" in words(trip.raw), "the replacement was not made"
    assert trip.cleaner == "rules" and trip.delivery.target == "stand-in/window"
    assert trail.names() == ["transcribed", "cleaned", "injected"]
    assert trip.transcribe_s > 0 and trip.audio_seconds == pytest.approx(len(speech) / SAMPLE_RATE, abs=0.01)


def test_text_that_cannot_be_delivered_is_kept_with_the_reason(transcriber, speech) -> None:
    window, trail = Window(refuses="no window has focus"), Trail()
    trip = take_trip(speech, stages(transcriber, window, trail))
    assert trip.outcome == "undelivered" and trip.delivery.reason == "no window has focus"
    assert trail.history == [(trip.text, False)] and "quarterly report" in trip.text.lower()
    assert "injected" not in trail.names()


def test_silence_goes_nowhere(transcriber) -> None:
    window, trail = Window(), Trail()
    trip = take_trip(silence(2.0), stages(transcriber, window, trail))
    assert trip.outcome == "no_speech"
    assert window.texts == [] and trail.history == []
    assert trail.events == [("transcribed", trail.events[0][1]), ("discarded", {"reason": "no_speech"})]


def feed(drafts: StreamingTranscription, audio: np.ndarray) -> None:
    """The recording as the microphone delivers it, a block at a time, each look decoded in turn."""
    for end in range(BLOCK, len(audio) + BLOCK, BLOCK):
        drafts.update(audio[:end])


def test_drafts_give_the_same_text_ready_at_release(transcriber, speech) -> None:
    recording = np.concatenate([speech, silence(0.6)])
    drafted = StreamingTranscription(transcriber, "en")
    feed(drafted, recording)
    ready = take_trip(recording, stages(transcriber, Window(), Trail()), drafted)
    decoded_at_release = take_trip(recording, stages(transcriber, Window(), Trail()),
                                   StreamingTranscription(transcriber, "en"))
    assert ready.from_draft and not decoded_at_release.from_draft
    assert ready.text == decoded_at_release.text


class BrokenDrafts:
    """Drafts failing at release (onnxruntime cannot be made to fail for real on demand)."""

    def finish(self, audio: np.ndarray) -> Transcript:
        raise RuntimeError("onnxruntime: some failure")


def test_drafts_that_fail_cost_the_drafts_not_the_dictation(transcriber, speech) -> None:
    window, trail = Window(), Trail()
    trip = take_trip(speech, stages(transcriber, window, trail), BrokenDrafts())
    assert trip.outcome == "delivered" and "quarterly report" in window.texts[0].lower()
