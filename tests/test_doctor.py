"""``dictad doctor`` as a user runs it: each part checked, and the exact fix for what is wrong.

Ollama cannot run here, so the fake in tests/ollama_server.py stands in for it, speaking
Ollama's real REST API over real HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dictad.transcriber import DECODERS
from tests.ollama_server import FakeOllama, Reply
from tests.rig.daemon import auto_device

pytestmark = pytest.mark.slow


def doctor(tmp_path, config_text: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "dictad", "doctor", "--config", str(config)],
                          capture_output=True, text=True, env=environment, timeout=120)


@pytest.fixture
def ollama():
    server = FakeOllama(lambda request: Reply("I want to get into AI engineering.")).start()
    yield server
    server.stop()


def test_doctor_reports_ollama_version_model_and_round_trip(tmp_path, ollama):
    result = doctor(tmp_path, f"cleanup:\n  mode: llm\n  ollama:\n    host: {ollama.url}\n")
    line = next(line for line in result.stdout.splitlines() if "ollama:" in line)
    assert line.startswith("[ok] ollama: Ollama 0.12.6")
    assert "model qwen2.5:1.5b present" in line and "round trip" in line
    assert f"[ok] speech model: tiny.en (bundled) on {auto_device()} (int8" in result.stdout


def test_doctor_names_the_pull_command_for_a_missing_model(tmp_path, ollama):
    result = doctor(tmp_path, f"cleanup:\n  mode: llm\n  ollama:\n    host: {ollama.url}\n    model: llama3.2:3b\n")
    assert result.returncode == 1
    assert "[!!] ollama: model llama3.2:3b not found: run `ollama pull llama3.2:3b`" in result.stdout


def test_doctor_tells_wayland_users_to_bind_the_toggle_command(tmp_path):
    result = doctor(tmp_path, "mode: hold\n", WAYLAND_DISPLAY="wayland-0", XDG_SESSION_TYPE="wayland")
    assert result.returncode == 1
    assert "[!!] hotkey: no backend: xorg: Wayland session" in result.stdout
    assert "bind `dictad toggle`" in result.stdout


@pytest.mark.parametrize(("device", "verdict"), [
    (None, "[ok] microphone: input devices:"),
    ("nothing-like-it", "[!!] microphone: no input device matches 'nothing-like-it'"),
])
def test_doctor_checks_the_configured_microphone_is_there(tmp_path, audio_rig, device, verdict):
    result = doctor(tmp_path, "audio:\n  device: nothing-like-it\n" if device else "")
    assert verdict in result.stdout, result.stdout


def test_doctor_points_at_the_model_setting_when_the_model_is_missing(tmp_path):
    result = doctor(tmp_path, f"transcription:\n  model: {tmp_path / 'gone'}\n")
    assert "[!!] speech model:" in result.stdout and "does not exist" in result.stdout
    assert "fix: set transcription.model to a bundled model (tiny.en)" in result.stdout


def test_doctor_names_the_decoders_and_their_cpu_threads(tmp_path):
    result = doctor(tmp_path, "transcription:\n  device: cpu\n  cpu_threads: 3\n")
    assert f"[ok] speech model: tiny.en (bundled) on cpu (int8_float32, {DECODERS} decoders of 3 threads)" \
        in result.stdout, result.stdout
