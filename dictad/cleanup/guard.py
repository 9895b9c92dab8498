"""The check every LLM answer passes before it reaches the user's window.

A cleanup only removes and punctuates: it never brings in new words, never drops
most of what was said, and never wraps the text in a preamble, quotes or markdown.
An answer that does any of that answered, summarised or obeyed the transcript
instead of cleaning it, and the rule-based result is used instead. Each check
returns the reason an answer fails, for the event log, or None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from dictad.cleanup import CARDINAL_WORDS

_WORD = re.compile(r"[\w']+")
_HESITATIONS = {"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mhm"}
_LEADING_HESITATIONS = re.compile(rf"^(?:\W*\b(?:{'|'.join(sorted(_HESITATIONS))})\b)+", re.IGNORECASE)
_TYPOGRAPHIC_APOSTROPHES = str.maketrans("\u2019\u2018\u02bc", "'''")

# What a contraction or a spoken short form may be written as, and the reverse.
_SUFFIX_EXPANSIONS = {
    "n't": ("not",), "'m": ("am",), "'re": ("are",), "'ve": ("have",),
    "'ll": ("will",), "'d": ("would", "had"), "'s": ("is", "has", "us"),
}
_STEM_SPELLINGS = {"wo": "will", "ca": "can", "sha": "shall"}
_SPOKEN_FORMS = {
    "gonna": ("going", "to"), "wanna": ("want", "to"), "gotta": ("got", "to"),
    "kinda": ("kind", "of"), "sorta": ("sort", "of"), "lemme": ("let", "me"),
    "gimme": ("give", "me"), "dunno": ("don't", "do", "not", "know"), "okay": ("ok",), "ok": ("okay",),
}
_NUMBER_WORDS = CARDINAL_WORDS | {
    "million", "billion", "first", "second", "third", "fourth", "fifth", "half", "quarter", "percent", "point", "dozen",
}
_NUMBER_TOKEN = re.compile(r"\d+(?:st|nd|rd|th|s|am|pm|k|m)?")

_COURTESY_OPENER = re.compile(
    r"^\W*(?:sure|certainly|of course|absolutely|here(?:'s| is| are)|the cleaned|cleaned|corrected)\b",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^\s*([^\n:]{1,80}):(?:\s|$)")
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`"}
_MARKDOWN = re.compile(r"^\s{0,3}(?:#{1,6}\s|[-*+]\s|>\s)|\*\*\S|__\S|```|`[^`\n]+`", re.MULTILINE)

MAX_GROWTH = 1.25
"""An answer may have at most this many times the transcript's words (plus two)."""
MIN_KEPT = 0.4
"""An answer keeps at least this share of the transcript's non-hesitation words (less one)."""


def check_answer(transcript: str, answer: str, vocabulary: Iterable[str] = ()) -> str | None:
    """Why ``answer`` is not a cleaned version of ``transcript``, or None when it is one.

    ``vocabulary`` spellings count as words of the transcript, since the model is
    asked to write them that way.
    """
    if not answer.strip():
        return "the answer is empty"
    return (
        _preamble(transcript, answer)
        or _wrapping_quotes(transcript, answer)
        or _markdown(transcript, answer)
        or _lost_question(transcript, answer)
        or _length(transcript, answer)
        or _new_words(transcript, answer, vocabulary)
        or _out_of_order(transcript, answer)
    )


def answer_char_limit(transcript: str) -> int:
    """Characters past which an answer can no longer pass the length check: stop reading there."""
    return 2 * len(transcript) + 40


def words(text: str) -> list[str]:
    """Lower-case words with their apostrophes, punctuation dropped."""
    text = text.lower().translate(_TYPOGRAPHIC_APOSTROPHES)  # "I’m" is "I'm"
    return [word.strip("'") for word in _WORD.findall(text) if word.strip("'")]


def _preamble(transcript: str, answer: str) -> str | None:
    opener = _COURTESY_OPENER.match(answer)
    if opener and not _COURTESY_OPENER.match(_LEADING_HESITATIONS.sub("", transcript)):
        return f"the answer starts with a preamble ({_first_line(answer)!r})"
    lead_in = _LEAD_IN.match(answer)
    if lead_in and not set(words(lead_in.group(1))) <= set(words(transcript)):
        return f"the answer starts with a preamble ({lead_in.group(0).strip()!r})"
    return None


def _wrapping_quotes(transcript: str, answer: str) -> str | None:
    answer, transcript = answer.strip(), transcript.strip()
    closing = _QUOTE_PAIRS.get(answer[:1])
    if closing and len(answer) > 1 and answer.endswith(closing) and not transcript.startswith(answer[0]):
        return "the answer is wrapped in quotes"
    return None


def _markdown(transcript: str, answer: str) -> str | None:
    found = _MARKDOWN.search(answer)
    if found and not _MARKDOWN.search(transcript):
        return f"the answer contains markdown ({found.group(0).strip()!r})"
    return None


def _lost_question(transcript: str, answer: str) -> str | None:
    if "?" in transcript and "?" not in answer:
        return "the answer drops the question mark: the question was answered or rewritten"
    return None


def _length(transcript: str, answer: str) -> str | None:
    said, written = words(transcript), words(answer)
    content = [word for word in said if word not in _HESITATIONS]
    most = math.ceil(len(said) * MAX_GROWTH) + 2
    least = MIN_KEPT * len(content) - 1
    if len(written) > most:
        return f"the answer has {len(written)} words for a {len(said)}-word transcript"
    if len(written) < least:
        return f"the answer keeps {len(written)} of {len(content)} words: it summarised or dropped content"
    return None


def _new_words(transcript: str, answer: str, vocabulary: Iterable[str]) -> str | None:
    known = _known_words(transcript) | {word for entry in vocabulary for word in words(entry)}
    numbers_said = any(word in _NUMBER_WORDS or word.isdigit() for word in words(transcript))
    new = sorted({
        word for word in words(answer)
        if not _is_known(word, known) and not (numbers_said and _NUMBER_TOKEN.fullmatch(word))
    })
    if new:
        return f"the answer adds words not in the transcript: {', '.join(new[:6])}"
    return None


def _out_of_order(transcript: str, answer: str) -> str | None:
    """Cleaning only deletes: the answer's words that were said must come in the order they were said.

    Words written differently (contractions, digits, vocabulary) passed ``_new_words``
    and are left out here.
    """
    said = words(transcript)
    said_once = set(said)
    remaining = iter(said)
    for word in words(answer):
        if word in said_once and not any(word == candidate for candidate in remaining):
            return f"the answer repeats or reorders what was said (at {word!r})"
    return None


def _known_words(transcript: str) -> set[str]:
    """The transcript's words, with each contraction's parts and each short form's long form."""
    known: set[str] = set()
    for word in words(transcript):
        known.add(word)
        known.update(_SPOKEN_FORMS.get(word, ()))
        stem, suffix = _split_contraction(word)
        if suffix:
            known.add(_STEM_SPELLINGS.get(stem, stem))
            known.update(_SUFFIX_EXPANSIONS[suffix])
    return known


def _is_known(word: str, known: set[str]) -> bool:
    if word in known:
        return True
    stem, suffix = _split_contraction(word)
    if not suffix or _STEM_SPELLINGS.get(stem, stem) not in known:
        return False
    # "'s" is also the possessive; any other ending must have been said ("do" is not "don't").
    return suffix == "'s" or any(part in known for part in _SUFFIX_EXPANSIONS[suffix])


def _split_contraction(word: str) -> tuple[str, str]:
    for suffix in _SUFFIX_EXPANSIONS:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)], suffix
    return word, ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:60]
