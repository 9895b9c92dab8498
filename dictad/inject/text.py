"""What may reach the focused window: dictated text with every control character removed.

A transcript, an LLM's answer or a user's replacement could carry escape sequences;
typed or pasted into a terminal they would be run, so they are taken out whole (not
just their ESC byte, which would leave "[31m" behind). Newlines stay: they are
dictated paragraph breaks. A tab becomes a space: in a form it would move the focus,
in a shell it would complete.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Append = Literal["none", "space", "newline"]

_ESCAPE_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]                 # CSI: colours, cursor moves, ...
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])             # OSC, DCS, SOS, PM, APC: a string ...
      .*? (?:\x07|\x1b\\|\x9c|$)                          # ... up to BEL or ST (or the end)
    | \x1b [ -/]* [0-~]                                   # any other escape sequence
    """,
    re.VERBOSE | re.DOTALL,
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_APPENDED = {"none": "", "space": " ", "newline": "\n"}


def sanitise(text: str) -> str:
    """``text`` without escape sequences or control characters, NFC-normalised, trimmed."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _LINE_BREAKS.sub("\n", text).replace("\t", " ")
    text = "".join(char for char in text if char == "\n" or unicodedata.category(char) != "Cc")
    return unicodedata.normalize("NFC", text).strip()


def with_append(text: str, append: Append) -> str:
    """``text`` followed by the configured separator; nothing is added to nothing."""
    return text + _APPENDED[append] if text else ""


def prepare(text: str, append: Append) -> str:
    """Exactly what will be delivered for a dictation of ``text``."""
    return with_append(sanitise(text), append)
