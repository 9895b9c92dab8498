"""One YAML config: the shipped defaults, overridden key by key by the user's file.

The schema is the dataclasses below. Loading checks every value against its field's
type (and the bounds in its metadata) and reports problems with the file, line and
dotted key they come from, so a typo never surfaces later as a crash mid-dictation.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import platformdirs
import yaml

from dictad.keyspec import KeySpecError, parse_hotkey, parse_keys

APP_NAME = "dictad"


def _bounds(low: float | None = None, high: float | None = None) -> dict[str, float | None]:
    return {"min": low, "max": high}


_KEY_COMBINATION = {"check": parse_keys}
_HOTKEY = {"check": parse_hotkey}


@dataclass(frozen=True)
class OllamaConfig:
    host: str
    model: str
    timeout_s: float = field(metadata=_bounds(0.1, 600))
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
    cpu_threads: int | None = field(metadata=_bounds(1, 256))
    language: str | None
    beam_size: int = field(metadata=_bounds(1, 20))
    streaming: bool

    @property
    def english_only(self) -> bool:
        """Whether every dictation is English: an English-only model, or ``language: en``."""
        return self.language == "en" or self.model.endswith(".en")


@dataclass(frozen=True)
class OutputConfig:
    method: Literal["paste", "type", "auto"]
    paste_keys: str = field(metadata=_KEY_COMBINATION)
    terminal_paste_keys: str = field(metadata=_KEY_COMBINATION)
    terminal_classes: list[str]
    type_classes: list[str]
    clipboard_restore_delay_ms: int = field(metadata=_bounds(0, 5000))
    append: Literal["none", "space", "newline"]


@dataclass(frozen=True)
class AudioConfig:
    device: str | int | None
    preroll_ms: int = field(metadata=_bounds(0, 2000))
    min_duration_ms: int = field(metadata=_bounds(0, 10000))
    max_duration_s: float = field(metadata=_bounds(1, 3600))
    sounds: bool


@dataclass(frozen=True)
class Config:
    hotkey: str = field(metadata=_HOTKEY)
    mode: Literal["hold", "toggle"]
    transcription: TranscriptionConfig
    cleanup: CleanupConfig
    output: OutputConfig
    audio: AudioConfig
    vocabulary: list[str]
    replacements: dict[str, str]
    source: Path | None = field(default=None, compare=False, metadata={"internal": True})


class ConfigError(Exception):
    """One or more problems in a config file, each naming file, line, key and what is allowed."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class _Origin:
    file: str
    line: int


def default_config_path() -> Path:
    """Where the user's config is read from when ``--config`` is not given."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.yaml"


def default_yaml_text() -> str:
    return resources.files("dictad.defaults").joinpath("default.yaml").read_text(encoding="utf-8")


def load_config(path: Path | str | None = None) -> Config:
    """Load the defaults overridden by ``path`` (or the user's file if it exists).

    An explicitly given path must exist; the default location may be absent.
    """
    defaults, origins = _parse_yaml(default_yaml_text(), "<dictad defaults>")
    source: Path | None = None
    if path is not None:
        source = Path(path).expanduser()
        if not source.is_file():
            raise ConfigError([f"{source}: config file not found"])
    elif default_config_path().is_file():
        source = default_config_path()
    if source is not None:
        user, user_origins = _parse_yaml(_read(source), str(source))
        if user is not None:
            if not isinstance(user, dict):
                raise ConfigError([f"{source}:1: the config must be a mapping of keys to values"])
            _merge(defaults, user)
            origins.update(user_origins)
    config = _build(Config, defaults, "", origins)
    return dataclasses.replace(config, source=source)


def config_as_dict(config: Config) -> dict[str, Any]:
    """The effective values as plain data (what ``dictad config`` prints)."""
    data = dataclasses.asdict(config)
    data.pop("source")
    return data


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's booleans, true and false only. PyYAML follows YAML 1.1, which also reads yes, no,
    on and off as booleans: ``cleanup.mode: off`` would arrive as False, and ``language: no``
    (Norwegian) too."""


_BOOL = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the config file: {error}"]) from error


def _parse_yaml(text: str, name: str) -> tuple[Any, dict[str, _Origin]]:
    """Parse YAML and note the line each dotted key was written on."""
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
        data = yaml.load(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{where}: not valid YAML: {problem}"]) from error
    origins: dict[str, _Origin] = {}
    if node is not None:
        _note_origins(node, "", name, origins)
    return data, origins


def _note_origins(node: yaml.Node, prefix: str, name: str, origins: dict[str, _Origin]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        dotted = f"{prefix}{key_node.value}"
        origins[dotted] = _Origin(name, key_node.start_mark.line + 1)
        _note_origins(value_node, dotted + ".", name, origins)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    """Override ``base`` in place; nested mappings merge, everything else is replaced."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


class _Problems:
    def __init__(self, origins: dict[str, _Origin]):
        self.origins = origins
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        origin = self._origin_of(key)
        self.messages.append(f"{origin.file}:{origin.line}: {key}: {message}")

    def _origin_of(self, key: str) -> _Origin:
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return _Origin("<config>", 1)


def _build(cls: type, data: Any, prefix: str, origins: dict[str, _Origin]) -> Any:
    problems = _Problems(origins)
    value = _convert_dataclass(cls, data, prefix, problems)
    if not problems.messages:
        _check_cross_field_rules(value, problems)
    if problems.messages:
        raise ConfigError(problems.messages)
    return value


def _convert_dataclass(cls: type, data: Any, prefix: str, problems: _Problems) -> Any:
    key_name = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        problems.add(key_name, f"{_show(data)} is not allowed: expected a mapping of keys to values")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for unknown in sorted(set(data) - set(fields), key=str):
        close = difflib.get_close_matches(str(unknown), list(fields), n=1)
        hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
        problems.add(f"{prefix}{unknown}", f"unknown key{hint}; allowed here: {', '.join(fields)}")
    values = {}
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        if name not in data:
            problems.add(key, "missing")
            continue
        values[name] = _convert(hints[name], data[name], key, spec.metadata, problems)
    return None if problems.messages else cls(**values)


def _convert(hint: Any, value: Any, key: str, meta: Any, problems: _Problems) -> Any:
    if dataclasses.is_dataclass(hint):
        return _convert_dataclass(hint, value, key + ".", problems)
    ok, expected = _matches(hint, value)
    if not ok:
        problems.add(key, f"{_show(value)} is not allowed: expected {expected}")
        return value
    low, high = meta.get("min"), meta.get("max")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (low is not None and value < low) or (high is not None and value > high):
            problems.add(key, f"{_show(value)} is not allowed: expected a number from {low:g} to {high:g}")
    if "check" in meta:
        try:
            meta["check"](value)
        except KeySpecError as error:
            problems.add(key, f"{_show(value)} is not allowed: {error}")
    return value


def _matches(hint: Any, value: Any) -> tuple[bool, str]:
    """Whether ``value`` fits the type ``hint``, and how to describe what fits."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        return value in choices, "one of " + ", ".join(str(c) for c in choices)
    if origin in (Union, types.UnionType):
        results = [_matches(option, value) for option in typing.get_args(hint)]
        return any(ok for ok, _ in results), " or ".join(text for _, text in results)
    if hint is type(None):
        return value is None, "null"
    if hint is bool:
        return isinstance(value, bool), "true or false"
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), "a whole number"
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    if hint is str:
        return isinstance(value, str), "text"
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of text"
    if origin is dict:
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return ok, "a mapping of text to text"
    raise TypeError(f"no config check for type {hint!r}")


def _check_cross_field_rules(config: Config, problems: _Problems) -> None:
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


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)
