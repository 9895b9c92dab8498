"""What happens to a transcript between the recogniser and the window: replacements, then cleanup."""

from __future__ import annotations

from dataclasses import dataclass

from dictad.cleanup import Cleaner
from dictad.replacements import Replacer


@dataclass(frozen=True)
class Dictation:
    raw: str
    """The transcript as the recogniser heard it."""
    text: str
    """What the user gets: replacements applied, then cleaned."""
    cleaner: str
    fallback_reason: str | None = None


def finish_transcript(raw: str, replace: Replacer, cleaner: Cleaner) -> Dictation:
    if not raw.strip():
        return Dictation(raw, "", cleaner.name)
    cleaned = cleaner.clean(replace(raw))
    return Dictation(raw, cleaned.text, cleaned.cleaner, cleaned.fallback_reason)
