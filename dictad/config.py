"""One YAML config: the shipped defaults, overridden key by key by the user's file.

The schema is the dataclasses below, read and checked by ``typed_yaml``: every value
against its field's type (and the bounds in its metadata), problems reported with the
file, line and dotted key they come from, so a typo never surfaces later as a crash
mid-dictation. The rules that tie one field to another are here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import platformdirs

from dictad.keyspec import parse_hotkey, parse_keys
from dictad.typed_yaml import (
    INTERNAL,
    ConfigError,
    Problems,
    bounds,
    build,
    checked_by,
    merge,
    parse_yaml,
    read_config_text,
)

APP_NAME = "dictad"


@dataclass(frozen=True)
class OllamaConfig:
    host: str
    model: str
    timeout_s: float = field(metadata=bounds(0.1, 600))
    keep_alive: str


@dataclass(frozen=True)
class CleanupConfig:
    mode: Literal["off", "rules", "llm"]
    style: str
    styles: dict[str, str]
    ollama: OllamaConfig


@dataclass(frozen=True)
class TranscriptionConfig:
    model: str
    device: Literal["auto", "cpu", "cuda"]
    compute_type: Literal[
        "default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
        "int16", "float16", "bfloat16", "float32",
    ]
    cpu_threads: int | None = field(metadata=bounds(1, 256))
    language: str | None
    beam_size: int = field(metadata=bounds(1, 20))
    streaming: bool

    @property
    def english_only(self) -> bool:
        """Whether every dictation is English: an English-only model, or ``language: en``."""
        return self.language == "en" or self.model.endswith(".en")


@dataclass(frozen=True)
class OutputConfig:
    method: Literal["paste", "type", "auto"]
    paste_keys: str = field(metadata=checked_by(parse_keys))
    terminal_paste_keys: str = field(metadata=checked_by(parse_keys))
    terminal_classes: list[str]
    type_classes: list[str]
    clipboard_restore_delay_ms: int = field(metadata=bounds(0, 5000))
    append: Literal["none", "space", "newline"]


@dataclass(frozen=True)
class AudioConfig:
    device: str | int | None
    preroll_ms: int = field(metadata=bounds(0, 2000))
    min_duration_ms: int = field(metadata=bounds(0, 10000))
    max_duration_s: float = field(metadata=bounds(1, 3600))
    sounds: bool


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool
    max_days: int | None = field(metadata=bounds(1, 36500))
    max_entries: int | None = field(metadata=bounds(1, 10_000_000))
    audio: Literal["off"] | int = field(metadata=bounds(1, 36500))
    """"off", or how many days each dictation's audio is kept beside it."""


@dataclass(frozen=True)
class Config:
    hotkey: str = field(metadata=checked_by(parse_hotkey))
    mode: Literal["hold", "toggle"]
    transcription: TranscriptionConfig
    cleanup: CleanupConfig
    output: OutputConfig
    audio: AudioConfig
    history: HistoryConfig
    vocabulary: list[str]
    replacements: dict[str, str]
    source: Path | None = field(default=None, compare=False, metadata=INTERNAL)


def default_config_path() -> Path:
    """Where the user's config is read from when ``--config`` is not given."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.yaml"


def default_yaml_text() -> str:
    return resources.files("dictad.defaults").joinpath("default.yaml").read_text(encoding="utf-8")


def load_config(path: Path | str | None = None) -> Config:
    """Load the defaults overridden by ``path`` (or the user's file if it exists).

    An explicitly given path must exist; the default location may be absent.
    """
    defaults, origins = parse_yaml(default_yaml_text(), "<dictad defaults>")
    source: Path | None = None
    if path is not None:
        source = Path(path).expanduser()
        if not source.is_file():
            raise ConfigError([f"{source}: config file not found"])
    elif default_config_path().is_file():
        source = default_config_path()
    if source is not None:
        user, user_origins = parse_yaml(read_config_text(source), str(source))
        if user is not None:
            if not isinstance(user, dict):
                raise ConfigError([f"{source}:1: the config must be a mapping of keys to values"])
            merge(defaults, user)
            origins.update(user_origins)
    config = build(Config, defaults, origins, _check_cross_field_rules)
    return dataclasses.replace(config, source=source)


def config_as_dict(config: Config) -> dict[str, Any]:
    """The effective values as plain data (what ``dictad config`` prints)."""
    data = dataclasses.asdict(config)
    data.pop("source")
    return data


def _check_cross_field_rules(config: Config, problems: Problems) -> None:
    for key in ("paste_keys", "terminal_paste_keys"):
        if set(parse_keys(config.hotkey)) == set(parse_keys(getattr(config.output, key))):
            problems.add("hotkey", f"{config.hotkey!r} is not allowed: it is also output.{key}, "
                                   f"so every paste would start a dictation")
    if config.cleanup.style not in config.cleanup.styles:
        problems.add(
            "cleanup.style",
            f"{config.cleanup.style!r} is not allowed: expected one of the styles defined "
            f"under cleanup.styles ({', '.join(config.cleanup.styles)})",
        )
    if config.transcription.model.endswith(".en") and config.transcription.language not in ("en", None):
        problems.add(
            "transcription.language",
            f"{config.transcription.language!r} is not allowed with the English-only model "
            f"{config.transcription.model}: use en, or a multilingual model",
        )
    for spoken, meant in config.replacements.items():
        if not spoken.strip():
            problems.add("replacements", f"an empty phrase cannot be replaced (by {meant!r})")
