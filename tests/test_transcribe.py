"""Real speech through the real bundled model: accuracy, silence, vocabulary, and the dictad CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from dictad.audio_file import read_audio_file
from dictad.config import TranscriptionConfig
from dictad.transcriber import Transcriber
from dictad.whisper_model import ModelLoadError, load_whisper_model
from tests.rig.speech import SENTENCES as CORPUS, word_error_rate

pytestmark = pytest.mark.slow

SENTENCES = CORPUS[:8]


def dictad(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictad", *args], capture_output=True, text=True, input=stdin,
                          timeout=300)


def encoded(wav: Path, target: Path, codec: str, rate: int) -> Path:
    """``wav`` compressed as a phone or recorder app would give it, in stereo at ``rate``, by
    PyAV's FFmpeg; the container follows ``target``'s suffix."""
    with av.open(str(wav)) as source, av.open(str(target), "w") as output:
        stream = output.add_stream(codec, rate=rate, layout="stereo")
        for frame in source.decode(audio=0):
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return target


def test_spoken_sentences_are_transcribed(transcriber, make_clip):
    pairs = [(text, transcriber.transcribe(read_audio_file(make_clip(text))).text) for text in SENTENCES]
    assert word_error_rate(pairs) <= 0.20, pairs


def test_silence_gives_nothing(transcriber):
    assert transcriber.transcribe(np.zeros(16000 * 3, dtype=np.float32)).text == ""


def test_noise_gives_nothing(transcriber):
    noise = np.random.default_rng(7).normal(0, 0.1, 16000 * 3).astype(np.float32)
    assert transcriber.transcribe(noise).text == ""


def test_hum_and_clicks_give_nothing(transcriber):
    t = np.arange(16000 * 3) / 16000
    hum = 0.2 * np.sin(2 * np.pi * 50 * t) + 0.2 * (np.arange(t.size) % 4000 < 20)
    assert transcriber.transcribe(hum.astype(np.float32)).text == ""


def test_vocabulary_reaches_the_model(default_config, make_clip):
    clip = read_audio_file(make_clip("Deploy it with kubectl on the Kubernetes cluster."))
    plain = Transcriber(default_config.transcription).transcribe(clip).text
    favoured = Transcriber(default_config.transcription, ["kubectl", "Kubernetes"]).transcribe(clip).text
    assert "kubernetes" not in plain.lower(), "the clip must be one the model gets wrong on its own"
    assert "kubernetes" in favoured.lower() and "kubectl" in favoured.lower()


def test_a_missing_model_directory_says_where_it_looked(tmp_path):
    config = TranscriptionConfig(str(tmp_path / "no-model"), "cpu", "int8", None, "en", 1, False)
    with pytest.raises(ModelLoadError, match="does not exist.*bundled model \\(tiny.en\\)"):
        load_whisper_model(config)


def test_an_unknown_model_name_says_what_to_do():
    config = TranscriptionConfig("no-such-whisper-model", "cpu", "int8", None, "en", 1, False)
    with pytest.raises(ModelLoadError, match="not bundled with dictad \\(bundled: tiny.en\\).*Connect to the internet"):
        load_whisper_model(config)


def test_cli_transcribes_each_file_and_reports_bad_ones(make_clip, tmp_path):
    good = make_clip(SENTENCES[0])
    flac = tmp_path / "stereo44k.flac"
    subprocess.run(["sox", str(make_clip(SENTENCES[1])), "-r", "44100", "-c", "2", str(flac)], check=True)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is text, not sound")
    empty = tmp_path / "empty.wav"
    empty.touch()
    silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", "2"], check=True)

    result = dictad("transcribe", str(good), str(not_audio), str(flac), str(empty), str(silence), str(tmp_path / "gone.wav"))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3, "one line per readable file"
    assert "report" in lines[0] and "Friday" in lines[0], lines
    assert "Thursday afternoon" in lines[1], lines
    assert lines[2] == ""
    assert f"{not_audio}: not a readable audio file" in result.stderr
    assert f"{empty}: the file is empty" in result.stderr
    assert f"{tmp_path / 'gone.wav'}: no such file" in result.stderr
    assert f"{silence}: no speech found" in result.stderr


def test_cli_transcribes_compressed_recordings(make_clip, tmp_path):
    clip = make_clip(SENTENCES[0])
    files = [encoded(clip, tmp_path / name, codec, rate)
             for name, codec, rate in [("memo.mp3", "mp3", 44100), ("memo.ogg", "libopus", 48000),
                                       ("memo.m4a", "aac", 44100)]]
    result = dictad("transcribe", *map(str, files))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all("report" in line and "Friday" in line for line in lines), lines


def test_cli_json_has_raw_text_and_timing(make_clip, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("replacements:\n  friday: FRIDAY\n")
    result = dictad("transcribe", "--json", "--config", str(config), str(make_clip(SENTENCES[0])))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["file"].endswith(".wav")
    assert "Friday" in record["raw"] and "FRIDAY" in record["text"]
    assert 0 < record["seconds"] < 30 and record["audio_seconds"] > 1
    assert record["cleaner"] == "rules"


def test_cli_transcribes_audio_from_a_pipe(make_clip):
    result = subprocess.run([sys.executable, "-m", "dictad", "transcribe", "/dev/stdin"],
                            input=make_clip(SENTENCES[0]).read_bytes(), capture_output=True)  # a pipe: no size
    assert result.returncode == 0, result.stderr.decode()
    assert b"Friday" in result.stdout


def test_cli_json_names_a_file_whose_name_is_not_utf8(make_clip, tmp_path):
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.wav"))
    shutil.copy(make_clip(SENTENCES[0]), odd)
    result = subprocess.run([sys.executable, "-m", "dictad", "transcribe", "--json", str(odd)], capture_output=True,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})  # a desktop's UTF-8 locale
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["file"].endswith("caf\ufffd.wav")


def test_cli_clean_into_a_reader_that_goes_away_ends_quietly(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("um so like we should ship it\n" * 20000)
    with lines.open("rb") as given:
        cleaning = subprocess.Popen([sys.executable, "-m", "dictad", "clean"], stdin=given,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = cleaning.stdout.readline()
    cleaning.stdout.close()  # as `| head -1` does
    _, errors = cleaning.communicate(timeout=60)
    assert first == b"So like we should ship it\n"
    assert cleaning.returncode == 141 and b"Traceback" not in errors, errors.decode()


def test_cli_clean_reads_arguments_and_stdin():
    assert dictad("clean", "um the the plan", "uh, works").stdout == "The plan\nWorks\n"
    assert dictad("clean", stdin="I, uh, agree\nwhat is it?\n").stdout == "I agree\nWhat is it?\n"


def test_cli_version_and_help():
    assert dictad("--version").stdout.startswith("dictad ")
    assert "--json" in dictad("transcribe", "--help").stdout
