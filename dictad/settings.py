"""The running config and what is made from it: the word replacements and one cleaner per mode.

The tray switches cleanup, its style and the mode live, and a reload swaps the whole config;
each dictation reads the settings of the moment it is cleaned. Cleaners are kept across
switches, so that an LLM problem is reported once, not at every toggle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from dictad.cleanup import Cleaner, make_cleaner
from dictad.config import Config, default_config_path
from dictad.events import EventLog
from dictad.pipeline import Dictation, finish_transcript
from dictad.replacements import Replacer

NEW_CONFIG_TEXT = """\
# dictad configuration: set only what you want to change.
# Every key, its default and what it accepts: run `dictad config`, or see
# config/default.yaml in dictad's source. After saving, use "Reload config" in the
# tray menu, or run `dictad reload`.
"""


class LiveSettings:
    """The config in use; ``on_llm_problem`` hears of LLM cleanup trouble (None: it answers again)."""

    def __init__(self, config: Config, events: EventLog, on_llm_problem: Callable[[str | None], None]):
        self._events = events
        self._on_llm_problem = on_llm_problem
        self._lock = threading.Lock()
        self._last_cleanup_mode = config.cleanup.mode if config.cleanup.mode != "off" else "rules"
        """The cleanup mode that switching cleanup back on returns to."""
        self._cleaners: dict[str, Cleaner] = {}
        self._use(config)

    @property
    def config(self) -> Config:
        return self._config

    def apply(self, config: Config) -> Config:
        """Switch to ``config`` with fresh replacements and cleaners; returns the config it replaced."""
        previous = self._config
        self._use(config)
        self._say_what_changed()
        return previous

    def finish(self, raw: str) -> Dictation:
        """Replacements, then cleanup, as set at this moment."""
        with self._lock:
            replace_words, cleaner = self._replace, self._cleaner_for(self._config.cleanup.mode)
        return finish_transcript(raw, replace_words, cleaner)

    def config_file(self) -> Path:
        """The user's config file, made first (commented, with nothing set) if there is none."""
        path = self._config.source or default_config_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(NEW_CONFIG_TEXT, encoding="utf-8")
        return path

    def warm_up_cleanup(self) -> None:
        """Warm the LLM up when it is in use; blocks, so call it from a background thread."""
        with self._lock:
            cleaner = self._cleaner_for(self._config.cleanup.mode)
        warm_up = getattr(cleaner, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def toggle_cleanup(self) -> None:
        cleanup = self._config.cleanup
        self._set_cleanup("off" if cleanup.mode != "off" else self._last_cleanup_mode, cleanup.style)

    def set_style(self, name: str) -> None:
        cleanup = self._config.cleanup
        if name not in cleanup.styles:
            raise ValueError(f"unknown cleanup style {name!r}: expected one of {', '.join(cleanup.styles)}")
        self._set_cleanup(cleanup.mode, name)

    def _use(self, config: Config) -> None:
        with self._lock:
            for cleaner in self._cleaners.values():
                close = getattr(cleaner, "close", None)
                if close is not None:
                    close()
            self._config = config
            self._replace = Replacer(config.replacements)
            self._cleaners = {}

    def _set_cleanup(self, mode: str, style: str) -> None:
        """Switch cleanup live, keeping the cleaners (and what they know of Ollama) already made."""
        with self._lock:
            self._config = replace(self._config, cleanup=replace(self._config.cleanup, mode=mode, style=style))
            for cleaner in self._cleaners.values():
                if hasattr(cleaner, "style"):
                    cleaner.style = style
        self._say_what_changed()

    def _cleaner_for(self, mode: str) -> Cleaner:
        if mode not in self._cleaners:
            config = self._config
            self._cleaners[mode] = make_cleaner(config.cleanup, config.vocabulary, mode,
                                                on_problem=self._on_llm_problem,
                                                english=config.transcription.english_only)
        return self._cleaners[mode]

    def _say_what_changed(self) -> None:
        cleanup = self._config.cleanup
        if cleanup.mode != "off":
            self._last_cleanup_mode = cleanup.mode
        self._events.emit("settings", cleanup=cleanup.mode, style=cleanup.style, mode=self._config.mode)
