"""Cleanup turns a raw transcript into the text the user meant to write.

Every cleaner has one method, ``clean(text) -> Cleaned``, and never raises for
bad input: the rule cleaner is pure string work, and the LLM cleaner falls back to
the rules when the model is absent, slow or answers with something unusable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dictad.config import CleanupConfig


@dataclass(frozen=True)
class Cleaned:
    text: str
    cleaner: str
    """Which cleaner produced ``text``: off, rules or llm."""
    fallback_reason: str | None = None
    """Why the configured cleaner's answer was not used, when it was not."""


CARDINAL_WORDS = frozenset({
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand",
})
"""Numbers as English speech says them, for the rules and the LLM guard alike."""


class Cleaner(Protocol):
    name: str

    def clean(self, text: str) -> Cleaned: ...


class NoCleanup:
    """``cleanup.mode: off``: the transcript as heard, only stripped."""

    name = "off"

    def clean(self, text: str) -> Cleaned:
        return Cleaned(text.strip(), self.name)


def make_cleaner(config: CleanupConfig, vocabulary: list[str], mode: str | None = None,
                 on_problem: Callable[[str | None], None] | None = None, *, english: bool) -> Cleaner:
    """The cleaner for ``mode`` (default: ``config.mode``); ``on_problem`` hears of LLM trouble.
    ``english``: every dictation is English, so the rules may drop English fillers and repeats."""
    from dictad.cleanup.rules import RuleCleaner

    mode = mode or config.mode
    if mode == "off":
        return NoCleanup()
    if mode == "rules":
        return RuleCleaner(english)
    if mode == "llm":
        from dictad.cleanup.llm import LlmCleaner

        return LlmCleaner(config, vocabulary, fallback=RuleCleaner(english), on_problem=on_problem)
    raise ValueError(f"unknown cleanup mode {mode!r}: expected off, rules or llm")
