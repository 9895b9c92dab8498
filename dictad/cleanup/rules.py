"""The rule-based cleaner: always available, well under a millisecond, conservative.

In English it removes only what is almost never content in dictation (hesitation
sounds, "you know" and "like" set off by commas, a word or phrase said twice in a
row); in every language it fixes spacing and capitalisation. Everything else is
left exactly as heard: no content word is dropped, questions stay questions,
numbers stay numbers. (German "um", French "nous nous", Dutch "er" are words.)
"""

from __future__ import annotations

import re

from dictad.cleanup import CARDINAL_WORDS, Cleaned

_HESITATION = r"(?:[Uu]u*m+|[Uu]u*h+m*|[Ee]e*r+m+|[Ee]e*r|[Aa]a*h+|[Hh]h*m+)"
"""Lower case or capitalised ("ER" is a ward, "err" a verb)."""
_FILLER_WORD = re.compile(rf"(?:,\s*)?(?<![\w'-]){_HESITATION}(?![\w'-])(?:\s*,)?")
_BETWEEN_COMMAS_FILLER = re.compile(r",\s*(?:you know|like)\s*,", re.IGNORECASE)
_CLOSING_FILLER = re.compile(r",\s*(?:you know|like)\s*(?=[.!?;]|$)", re.IGNORECASE)
_OPENING_FILLER = re.compile(r"(^|[.!?]\s+)(?:you know|like)\s*,\s*", re.IGNORECASE)

# Grammatical doubles ("I had had enough", "what it is is") and spoken digits
# ("five five five") are content, not stutters.
_KEEP_DOUBLED = {"had", "that", "is", "was", "does", "no", "very", "bye", "ha", "really", "so"}
_NUMBER_WORDS = CARDINAL_WORDS | {"oh"}
_REPEAT = re.compile(r"(?<![\w'])((?:[\w']+\s+){0,3}[\w']+)(?:\s*(?:,|-|\.\.\.|…)\s*|\s+)\1(?![\w'])", re.IGNORECASE)

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMA = re.compile(r",(\s*,)+")
_COMMA_BEFORE_STOP = re.compile(r",\s*([.!?;:])")
_LEADING_PUNCT = re.compile(r"^[\s,.;:!?…-]+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([^\W\d_])(?![A-Z])")
_LONE_I = re.compile(r"(?<![\w'/-])i(?!\.e\.)(?=(?:'[a-z]+)?(?!\w))")
_NO_SENTENCE_END_BEFORE = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|st)\.|\.\.\.)\s+$", re.IGNORECASE
)


class RuleCleaner:
    name = "rules"

    def __init__(self, english: bool = True):
        self.english = english

    def clean(self, text: str) -> Cleaned:
        return Cleaned(clean_text(text, self.english), self.name)


def clean_text(text: str, english: bool = True) -> str:
    """Apply every rule, in the order that lets each see the previous one's result."""
    text = " ".join(text.split())
    if english:
        text = remove_repeats(remove_fillers(text))
    text = fix_spacing(text)
    return fix_capitals(text, english)


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
    joined_by = match.group(0)[len(phrase) : len(match.group(0)) - len(phrase)]
    if (len(words) == 1 and words[0] in _KEEP_DOUBLED) \
            or all(word in _NUMBER_WORDS or word.isdigit() for word in words) \
            or (joined_by == "-" and len(phrase) > 2):  # Baden-Baden, not a stutter like I-I
        return match.group(0)
    return phrase


def fix_spacing(text: str) -> str:
    text = _REPEATED_COMMA.sub(",", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _COMMA_BEFORE_STOP.sub(r"\1", text)
    text = _LEADING_PUNCT.sub("", text)
    return " ".join(text.split())


def fix_capitals(text: str, english: bool = True) -> str:
    if english:
        text = _LONE_I.sub("I", text)
    return _SENTENCE_START.sub(_capitalise_unless_abbreviation, text)


def _capitalise_unless_abbreviation(match: re.Match[str]) -> str:
    before = match.string[: match.start(2)]
    if not match.group(2).islower() or (match.group(1) and _NO_SENTENCE_END_BEFORE.search(before)):
        return match.group(0)
    return match.group(1) + match.group(2).upper()
