"""YAML read into frozen dataclasses, each problem named with the file, line and dotted key it comes from.

The dataclasses are the schema: a field's type says what is allowed (``Literal``, unions,
``bool``, ``int``, ``float``, ``str``, lists and mappings of text, nested dataclasses) and its
metadata adds bounds (``bounds``) or a check (``checked_by``). Every problem in a file is
collected before one ``ConfigError`` lists them all, so the user fixes a file in one go.
YAML 1.2 booleans, because YAML 1.1's ``off`` and ``no`` are real values in a config.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

T = TypeVar("T")

INTERNAL = {"internal": True}
"""Metadata of a field the loader sets itself: no file may set it, and none has to."""


def bounds(low: float | None = None, high: float | None = None) -> dict[str, float | None]:
    """Metadata of a number field allowed only from ``low`` to ``high``."""
    return {"min": low, "max": high}


def checked_by(check: Callable[[Any], object]) -> dict[str, Callable[[Any], object]]:
    """Metadata of a field whose value ``check`` accepts, or rejects with a ``ValueError`` saying why."""
    return {"check": check}


class ConfigError(Exception):
    """One or more problems in a config file, each naming file, line, key and what is allowed."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Origin:
    file: str
    line: int


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


def read_config_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the config file: {error}"]) from error


def parse_yaml(text: str, name: str) -> tuple[Any, dict[str, Origin]]:
    """Parse YAML and note the line each dotted key was written on."""
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
        data = yaml.load(text, Loader=_Yaml12Loader)
    except yaml.MarkedYAMLError as error:
        line, problem = explain_yaml_error(error, text.splitlines())
        raise ConfigError([f"{name}:{line}: not valid YAML: {problem}"]) from error
    except yaml.YAMLError as error:
        raise ConfigError([f"{name}: not valid YAML: {error}"]) from error
    origins: dict[str, Origin] = {}
    if node is not None:
        _note_origins(node, "", name, origins)
    return data, origins


def explain_yaml_error(error: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, str]:
    """The line (from 1) where the mistake is, and what it is in plain words with the fix.

    PyYAML names what its parser met ("mapping values are not allowed here"), often on the line
    after the mistake; a config's mistakes are few (a tab, an indent, a missing colon, a colon in a
    value, an unclosed bracket or quote), so each is told apart by the text around the mark.
    """
    mark = error.problem_mark
    row = mark.line if mark else 0
    line = lines[row] if row < len(lines) else ""
    problem, context = error.problem or "", error.context or ""
    opened = error.context_mark.line + 1 if error.context_mark else row + 1
    if "'\\t'" in problem:
        return row + 1, (f"a tab character (column {mark.column + 1}): YAML indents with spaces only; "
                         "replace the tab with spaces (two for each level)")
    if problem == "mapping values are not allowed here" or "expected <block end>" in problem:
        return _explain_misplaced_line(lines, row, mark.column, colon_met=problem.startswith("mapping"))
    if "flow sequence" in context or "flow mapping" in context:
        return opened, f"a '[' or '{{' on line {opened} is never closed: close it"
    if "quoted scalar" in context:
        return opened, f"a quote on line {opened} is never closed: end the value with the same quote"
    return row + 1, f"{problem or context} ({_shown(line)})"


def _explain_misplaced_line(lines: list[str], row: int, column: int, colon_met: bool) -> tuple[int, str]:
    """A line where no key may start: a ':' in a value, a line above with no colon (YAML then reads
    both as one key), or a key indented further than the one above it, or in a column no key uses."""
    line = lines[row]
    if colon_met and ": " in line[:column].strip():
        key, value = (part.strip() for part in line.split(":", 1))
        return row + 1, (f"the value of {key} holds ': ', which YAML reads as another key: put the value in quotes "
                         f"({key}: \"{value}\")")
    above = next((number for number in range(row - 1, -1, -1)
                  if lines[number].strip() and not lines[number].lstrip().startswith("#")), None)
    if above is not None and ":" not in lines[above]:
        return above + 1, f"{_shown(lines[above])} has no ':' after its key: write it as key: value"
    if colon_met and above is not None and _indent(line) > _indent(lines[above]):
        return row + 1, (f"{_shown(line)} is indented further than the key above it on line {above + 1}: keys of "
                         "one section start in the same column")
    return row + 1, (f"{_shown(line)} starts in a column that no key above it uses: indent it like the other keys "
                     "of its section (two spaces under the section's name), or not at all for a top-level key")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _shown(line: str) -> str:
    return f"the line {line.strip()!r}"


def _note_origins(node: yaml.Node, prefix: str, name: str, origins: dict[str, Origin]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        dotted = f"{prefix}{key_node.value}"
        origins[dotted] = Origin(name, key_node.start_mark.line + 1)
        _note_origins(value_node, dotted + ".", name, origins)


def merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    """Override ``base`` in place; nested mappings merge, everything else is replaced."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


class Problems:
    """The problems found so far, each as ``file:line: dotted.key: what is wrong``."""

    def __init__(self, origins: dict[str, Origin], homes: dict[str, list[str]] | None = None):
        self.origins = origins
        self.homes = homes or {}  # a key's name -> the dotted keys of that name in the schema
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        origin = self._origin_of(key)
        self.messages.append(f"{origin.file}:{origin.line}: {key}: {message}")

    def _origin_of(self, key: str) -> Origin:
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return Origin("<config>", 1)


def build(cls: type[T], data: Any, origins: dict[str, Origin], rules: Callable[[T, Problems], None]) -> T:
    """``data`` as a ``cls``, or ``ConfigError`` with every problem.

    ``rules`` checks what no single field can (one value against another); it runs only
    on a value whose every field is already allowed.
    """
    problems = Problems(origins, _homes(cls))
    value = _convert_dataclass(cls, data, "", problems)
    if not problems.messages:
        rules(value, problems)
    if problems.messages:
        raise ConfigError(problems.messages)
    return value


def _convert_dataclass(cls: type, data: Any, prefix: str, problems: Problems) -> Any:
    key_name = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        problems.add(key_name, f"{_show(data)} is not allowed: expected a mapping of keys to values")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in _settable_fields(cls)}
    for unknown in sorted(set(data) - set(fields), key=str):
        problems.add(f"{prefix}{unknown}", f"unknown key{_hint(str(unknown), prefix, fields, problems.homes)}; "
                                           f"allowed here: {', '.join(fields)}")
    values = {}
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        if name not in data:
            problems.add(key, "missing")
            continue
        values[name] = _convert(hints[name], data[name], key, spec.metadata, problems)
    return None if problems.messages else cls(**values)


def _hint(unknown: str, prefix: str, fields: dict[str, Any], homes: dict[str, list[str]]) -> str:
    """A likely fix: a sibling of a close spelling, or the section where a key of this name belongs
    (a key indented under the wrong section, or not indented at all)."""
    elsewhere = homes.get(unknown, [])
    if elsewhere == [unknown]:
        return f" ({unknown} is a top-level key: move it, with the keys under it, out to the start of the line)"
    if elsewhere:
        places = " or ".join(f"under {home.rpartition('.')[0]}" if "." in home else "at the top level"
                             for home in elsewhere)
        return f" ({unknown} belongs {places}: move it there)"
    close = difflib.get_close_matches(unknown, list(fields), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _settable_fields(cls: type) -> list[dataclasses.Field]:
    """The fields a config file may set: all but those the loader sets itself (``INTERNAL``)."""
    return [field for field in dataclasses.fields(cls) if not field.metadata.get("internal")]


def _homes(cls: type, prefix: str = "") -> dict[str, list[str]]:
    """Every key's name in the schema of ``cls``, with the dotted keys that have it."""
    homes: dict[str, list[str]] = {}
    hints = typing.get_type_hints(cls)
    for field in _settable_fields(cls):
        homes.setdefault(field.name, []).append(prefix + field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            for name, keys in _homes(hints[field.name], f"{prefix}{field.name}.").items():
                homes.setdefault(name, []).extend(keys)
    return homes


def _convert(hint: Any, value: Any, key: str, meta: Any, problems: Problems) -> Any:
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
        except ValueError as error:
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


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)
