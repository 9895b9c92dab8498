"""The rule-based cleaner: always available, well under a millisecond, conservative.

It removes only what is almost never content in dictation (hesitation sounds,
"you know" and "like" set off by commas, a word or phrase said twice in a row)
and fixes spacing and capitalisation. Everything else is left exactly as heard:
no content word is dropped, questions stay questions, numbers stay numbers.
"""

from __future__ import annotations

import re

from dictad.cleanup import Cleaned

_HESITATION = r"(?:u+m+|u+h+m*|e+r+m+|e+r+|a+h+|h+m+)"
_FILLER_WORD = re.compile(rf"(?:,\s*)?(?<![\w'-]){_HESITATION}(?![\w'-])(?:\s*,)?", re.IGNORECASE)
_BETWEEN_COMMAS_FILLER = re.compile(r",\s*(?:you know|like)\s*,", re.IGNORECASE)
_CLOSING_FILLER = re.compile(r",\s*(?:you know|like)\s*(?=[.!?;]|$)", re.IGNORECASE)
_OPENING_FILLER = re.compile(r"(^|[.!?]\s+)(?:you know|like)\s*,\s*", re.IGNORECASE)

# Grammatical doubles ("I had had enough", "what it is is") and spoken digits
# ("five five five") are content, not stutters.
_KEEP_DOUBLED = {"had", "that", "is", "no", "very", "bye", "ha", "really", "so"}
_NUMBER_WORDS = {
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
}
_REPEAT = re.compile(r"(?<![\w'])((?:[\w']+\s+){0,3}[\w']+)(?:\s*(?:,|-|\.\.\.|…)\s*|\s+)\1(?![\w'])", re.IGNORECASE)

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMA = re.compile(r",(\s*,)+")
_COMMA_BEFORE_STOP = re.compile(r",\s*([.!?;:])")
_LEADING_PUNCT = re.compile(r"^[\s,.;:!?…-]+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])(?![A-Z])")
_LONE_I = re.compile(r"(?<![\w'])i(?!\.e\.)(?=(?:'[a-z]+)?(?!\w))")
_NO_SENTENCE_END_BEFORE = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|st)\.|\.\.\.)\s+$", re.IGNORECASE
)


class RuleCleaner:
    name = "rules"

    def clean(self, text: str) -> Cleaned:
        return Cleaned(clean_text(text), self.name)


def clean_text(text: str) -> str:
    """Apply every rule, in the order that lets each see the previous one's result."""
    text = " ".join(text.split())
    text = remove_fillers(text)
    text = remove_repeats(text)
    text = fix_spacing(text)
    return fix_capitals(text)


def remove_fillers(text: str) -> str:
    text = _FILLER_WORD.sub(" ", text)
    text = _BETWEEN_COMMAS_FILLER.sub(" ", text)
    text = _CLOSING_FILLER.sub("", text)
    return _OPENING_FILLER.sub(r"\1", text)


def remove_repeats(text: str) -> str:
    """Collapse a word or short phrase said twice in a row ("the the", "I was, I was")."""
    previous = None
    while previous != text:
        previous = text
        text = _REPEAT.sub(_collapse_repeat, text)
    return text


def _collapse_repeat(match: re.Match[str]) -> str:
    phrase = match.group(1)
    words = phrase.lower().split()
    if len(words) == 1 and (words[0] in _KEEP_DOUBLED or words[0] in _NUMBER_WORDS or words[0].isdigit()):
        return match.group(0)
    return phrase


def fix_spacing(text: str) -> str:
    text = _REPEATED_COMMA.sub(",", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _COMMA_BEFORE_STOP.sub(r"\1", text)
    text = _LEADING_PUNCT.sub("", text)
    return " ".join(text.split())


def fix_capitals(text: str) -> str:
    text = _LONE_I.sub("I", text)
    return _SENTENCE_START.sub(_capitalise_unless_abbreviation, text)


def _capitalise_unless_abbreviation(match: re.Match[str]) -> str:
    before = match.string[: match.start(2)]
    if match.group(1) and _NO_SENTENCE_END_BEFORE.search(before):
        return match.group(0)
    return match.group(1) + match.group(2).upper()
