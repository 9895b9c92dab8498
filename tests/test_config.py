"""The config a user writes: defaults fill the gaps, and every mistake is named with file, line and key."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from dictad import whisper_model
from dictad.config import load_config
from dictad.keyspec import parse_hotkey
from dictad.whisper_model import threads_per_decoder
from dictad.typed_yaml import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return raised.value.problems


def test_defaults_are_the_documented_ones(default_config):
    assert default_config.hotkey == "<ctrl>+<alt>+space"
    assert default_config.mode == "hold"
    assert default_config.transcription.model == "tiny.en"
    assert default_config.cleanup.mode == "rules"
    assert default_config.output.method == "auto"
    assert default_config.vocabulary == [] and default_config.replacements == {}
    assert default_config.source is None


def test_user_file_overrides_only_what_it_sets(tmp_path, default_config):
    path = write(tmp_path, "transcription:\n  beam_size: 1\ncleanup:\n  ollama:\n    model: llama3.2:3b\n"
                           "replacements:\n  kube cuddle: kubectl\n")
    config = load_config(path)
    assert config.transcription.beam_size == 1
    assert config.transcription.model == default_config.transcription.model
    assert config.cleanup.ollama.model == "llama3.2:3b"
    assert config.cleanup.ollama.host == default_config.cleanup.ollama.host
    assert config.cleanup.styles == default_config.cleanup.styles
    assert config.replacements == {"kube cuddle": "kubectl"}
    assert config.source == path


def test_user_file_in_the_config_directory_is_found(isolated_user_config):
    folder = isolated_user_config / "dictad"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text("mode: toggle\n")
    try:
        assert load_config().mode == "toggle"
    finally:
        (folder / "config.yaml").unlink()


def test_an_empty_user_file_means_defaults(tmp_path, default_config):
    assert load_config(write(tmp_path, "# nothing yet\n")).mode == default_config.mode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mode: hold\ntranscription:\n  beam_size: 0\n",
         ":3: transcription.beam_size: 0 is not allowed: expected a number from 1 to 20"),
        ("transcription:\n  cpu_threads: 0\n",
         ":2: transcription.cpu_threads: 0 is not allowed: expected a number from 1 to 256"),
        ("transcription:\n  cpu_threads: all\n",
         ":2: transcription.cpu_threads: 'all' is not allowed: expected a whole number or null"),
        ("cleanup:\n  mode: fancy\n", ":2: cleanup.mode: 'fancy' is not allowed: expected one of off, rules, llm"),
        ("output:\n  method: paste\n  apend: space\n",
         ":3: output.apend: unknown key (did you mean output.append?)"),
        ("hotkey: '<ctrl>+<alt>+spcae'\n", ":1: hotkey: '<ctrl>+<alt>+spcae' is not allowed: unknown key 'spcae' (did you mean <space>?)"),
        ("hotkey: ''\n", ":1: hotkey: '' is not allowed: the combination is empty"),
        ("hotkey: '<ctrl>++a'\n", ":1: hotkey: '<ctrl>++a' is not allowed"),
        ("hotkey: '<f1>+a'\n", ":1: hotkey: '<f1>+a' is not allowed: '<f1>+a' holds <f1>, which is not a modifier"),
        ("vocabulary: Kubernetes\n", ":1: vocabulary: 'Kubernetes' is not allowed: expected a list of text"),
        ("audio:\n  sounds: yes please\n", ":2: audio.sounds: 'yes please' is not allowed: expected true or false"),
        ("audio:\n  sounds: on\n", ":2: audio.sounds: 'on' is not allowed: expected true or false"),
        ("cleanup:\n  style: pirate\n", ":2: cleanup.style: 'pirate' is not allowed: expected one of the styles"),
        ("transcription:\n  language: de\n", ":2: transcription.language: 'de' is not allowed with the English-only model"),
        ("transcriptoin:\n  model: base.en\n", ":1: transcriptoin: unknown key (did you mean transcription?)"),
        ("hotkey: <ctrl>+v\n", ":1: hotkey: '<ctrl>+v' is not allowed: it is also output.paste_keys"),
    ],
)
def test_a_bad_value_is_named_with_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert any(problem.startswith(str(path)) and expected in problem for problem in problems), problems


def test_words_that_yaml_1_1_reads_as_booleans_stay_words(tmp_path):
    config = load_config(write(tmp_path, "cleanup:\n  mode: off\ntranscription:\n  model: base\n  language: no\n"))
    assert (config.cleanup.mode, config.transcription.language) == ("off", "no")
    assert load_config(write(tmp_path, "audio:\n  sounds: False\n")).audio.sounds is False


@pytest.mark.parametrize(("model", "language", "english_only"), [
    ("tiny.en", None, True), ("/models/base.en", None, True), ("base", "en", True), ("base", None, False),
    ("base", "de", False),
])
def test_which_dictations_are_known_to_be_english(default_config, model, language, english_only):
    transcription = replace(default_config.transcription, model=model, language=language)
    assert transcription.english_only is english_only


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_of(write(tmp_path, "mode: push\ntranscription:\n  beam_size: -1\n"))
    assert len(problems) == 2


@pytest.mark.parametrize(("text", "line", "explained"), [
    ("output:\n\tmethod: paste\n", 2, "a tab character (column 1): YAML indents with spaces only; replace the tab "
                                    "with spaces"),
    ("output:\n  method: paste\n   append: space\n", 3, "the line 'append: space' is indented further than the key "
                                                       "above it on line 2"),
    ("output:\n  method: paste\n append: space\n", 3, "the line 'append: space' starts in a column that no key above "
                                                     "it uses"),
    ("output:\n  method paste\n  append: space\n", 2, "the line 'method paste' has no ':' after its key"),
    ("output:\n  method paste\n  # how each text ends\n  append: space\n", 2,
     "the line 'method paste' has no ':' after its key"),
    ("cleanup:\n  style: note: short\n", 2, "the value of style holds ': ', which YAML reads as another key: put the "
                                            "value in quotes (style: \"note: short\")"),
    ("mode: hold\ntranscription:\n  model: [unclosed\n", 3, "a '[' or '{' on line 3 is never closed"),
    ("mode: 'hold\naudio:\n  sounds: true\n", 1, "a quote on line 1 is never closed"),
])
def test_broken_yaml_names_the_line_and_the_mistake_in_plain_words(tmp_path, text, line, explained):
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line}: not valid YAML: {explained}"), problem


@pytest.mark.parametrize(("text", "hint"), [
    ("audio:\n  sounds: true\n  model: base.en\n", "audio.model: unknown key (model belongs under transcription or "
                                                   "under cleanup.ollama: move it there)"),
    ("audio:\n  sounds: true\n  mode: toggle\n", "audio.mode: unknown key (mode belongs at the top level or under "
                                                "cleanup: move it there)"),
    ("audio:\n  sounds: true\n  transcription:\n    model: base.en\n",
     "audio.transcription: unknown key (transcription is a top-level key: move it, with the keys under it, out"),
    ("output:\n  apend: space\n", "output.apend: unknown key (did you mean output.append?)"),
])
def test_a_key_under_the_wrong_section_is_told_where_it_belongs(tmp_path, text, hint):
    (problem,) = problems_of(write(tmp_path, text))
    assert hint in problem, problem


@pytest.mark.parametrize("alias", ["<super>", "<win>", "<meta>", "<Super>"])
def test_super_win_and_meta_name_the_key_pynput_calls_cmd(tmp_path, alias):
    config = load_config(write(tmp_path, f"hotkey: {alias}+d\n"))
    assert parse_hotkey(config.hotkey) == ("<cmd>", "d")
    assert parse_hotkey(alias.replace(">", "_r>") + "+d") == ("<cmd_r>", "d")


def test_a_config_that_is_not_a_mapping(tmp_path):
    (problem,) = problems_of(write(tmp_path, "- just\n- a list\n"))
    assert "must be a mapping" in problem


def test_an_explicit_config_that_does_not_exist(tmp_path):
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "config file not found" in problem


def test_dictad_config_prints_source_and_effective_values(tmp_path):
    path = write(tmp_path, "mode: toggle\n")
    shown = subprocess.run([sys.executable, "-m", "dictad", "config", "--config", str(path)],
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert f"config read from {path}" in shown
    assert "mode: toggle" in shown and "model: tiny.en" in shown


def test_dictad_refuses_a_bad_config_with_exit_code_2(tmp_path):
    path = write(tmp_path, "mode: push\n")
    result = subprocess.run([sys.executable, "-m", "dictad", "clean", "--config", str(path), "x"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{path}:1: mode: 'push' is not allowed: expected one of hold, toggle" in result.stderr


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 1), (8, 4), (64, 4)])
def test_the_cores_are_shared_between_the_decoders_unless_threads_are_configured(monkeypatch, cores, threads):
    # Machines with other numbers of cores cannot exist here: only the count dictad sees is changed.
    monkeypatch.setattr(whisper_model, "usable_cores", lambda: cores)
    assert threads_per_decoder(None) == threads
    assert threads_per_decoder(6) == 6
