"""Shared fixtures: the real bundled model and spoken clips made on the spot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dictad.config import Config, load_config
from tests.rig.speech import speak

# The rig's fixtures, registered once: a session-wide X server or PulseAudio imported into
# several test modules would be started once per module.
pytest_plugins = ["tests.rig.audio", "tests.rig.display"]


@pytest.fixture(scope="session", autouse=True)
def isolated_user_config(tmp_path_factory) -> Path:
    """Point the user config directory at an empty folder: a developer's own config never leaks in.
    The runtime directory too, where the control socket lives: a developer's own dictad (or another
    test run's) never answers this run's commands, nor stops its daemons from starting."""
    config_home = tmp_path_factory.mktemp("xdg-config")
    os.environ["XDG_CONFIG_HOME"] = str(config_home)
    runtime_dir = tmp_path_factory.mktemp("xdg-runtime")
    runtime_dir.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    return config_home


@pytest.fixture(autouse=True)
def isolated_user_data(tmp_path_factory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own data and state directories: the history and the journal of one test's
    daemons are never another's, nor the developer's."""
    home = tmp_path_factory.mktemp("xdg-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    return home


@pytest.fixture(scope="session")
def default_config(isolated_user_config) -> Config:
    return load_config()


@pytest.fixture(scope="session")
def transcriber(default_config):
    from dictad.transcriber import Transcriber

    return Transcriber(default_config.transcription)


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory):
    """Speak a sentence into a 16 kHz WAV, once per session for each text and voice."""
    clip_dir = tmp_path_factory.mktemp("clips")
    made: dict[tuple[str, str], Path] = {}

    def make(text: str, voice: str = "en-us+m3") -> Path:
        if (text, voice) not in made:
            made[(text, voice)] = speak(text, clip_dir / f"clip{len(made)}.wav", voice=voice)
        return made[(text, voice)]

    return make
