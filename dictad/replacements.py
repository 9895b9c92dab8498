"""The user's ``replacements``: what the model hears -> what the user means.

Whole words and phrases only, case-insensitively; the words of a phrase may be
separated by spaces or hyphens in the transcript ("kube cuddle", "Kube-cuddle").
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class Replacer:
    def __init__(self, replacements: Mapping[str, str]):
        longest_first = sorted(replacements.items(), key=lambda item: len(item[0]), reverse=True)
        self._meant = [meant for _, meant in longest_first]
        # Each phrase in a group of its own: the match says which phrase it was, where lower-casing
        # the matched text would not ("İzmir" matches "izmir" but lower-cases to "i̇zmir").
        alternatives = "|".join(f"(?P<p{index}>{_phrase_pattern(spoken)})"
                                for index, (spoken, _) in enumerate(longest_first))
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if longest_first else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._meant[int(match.lastgroup[1:])], text)


def _phrase_pattern(phrase: str) -> str:
    return r"[\s-]+".join(re.escape(word) for word in phrase.split())
