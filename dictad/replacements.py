"""The user's ``replacements``: what the model hears -> what the user means.

Whole words and phrases only, case-insensitively; the words of a phrase may be
separated by spaces or hyphens in the transcript ("kube cuddle", "Kube-cuddle").
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class Replacer:
    def __init__(self, replacements: Mapping[str, str]):
        self._by_phrase = {_key(spoken): meant for spoken, meant in replacements.items()}
        phrases = sorted(replacements, key=len, reverse=True)
        alternatives = "|".join(_phrase_pattern(phrase) for phrase in phrases)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if phrases else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._by_phrase[_key(match.group(0))], text)


def _phrase_pattern(phrase: str) -> str:
    return r"[\s-]+".join(re.escape(word) for word in phrase.split())


def _key(phrase: str) -> str:
    return " ".join(re.split(r"[\s-]+", phrase.strip().lower()))
