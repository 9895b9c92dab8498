"""The Wayland clipboard through wl-clipboard's wl-paste and wl-copy, run directly.

Not through pyperclip: it reads an image as "" and writes "" by clearing, so "give the user back
what they had" would wipe a copied image. Here the offered types are listed first, and anything
that is not plain text is kept as the bytes of one type (an image's, when one is offered) and put
back in that type. A Wayland clipboard lives as long as the process serving it: wl-copy forks a
server that stays until someone else copies.
"""

from __future__ import annotations

import subprocess
import tempfile

from dictad.desktop.clipboard import ClipboardData, ClipboardUnavailable

TIMEOUT_S = 2.0
TEXT_TYPES = ("text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "TEXT", "STRING")
NOTHING_COPIED = ("No selection", "Nothing is copied")


class WlClipboard:
    def read(self) -> str | ClipboardData:
        types = self._offered_types()
        kept = next((kind for kind in types if kind.startswith("image/")), None)
        text = next((kind for kind in TEXT_TYPES if kind in types), None)
        if not types:
            return ""
        if kept is None and text is not None:
            return self._paste(text).decode("utf-8", errors="replace")
        kind = kept or types[0]
        return ClipboardData(kind, self._paste(kind))

    def write(self, content: str | ClipboardData) -> None:
        if content == "":
            self._copy(["--clear"], b"")
        elif isinstance(content, ClipboardData):
            self._copy(["--type", content.kind], content.data)
        else:
            self._copy(["--type", "text/plain;charset=utf-8"], content.encode("utf-8"))

    def _offered_types(self) -> list[str]:
        listed = _run(["wl-paste", "--list-types"], b"", nothing_is_empty=True)
        return listed.decode("utf-8", errors="replace").split()

    @staticmethod
    def _paste(kind: str) -> bytes:
        return _run(["wl-paste", "--no-newline", "--type", kind], b"", nothing_is_empty=True)

    @staticmethod
    def _copy(arguments: list[str], data: bytes) -> None:
        _run(["wl-copy", *arguments], data)


def _run(command: list[str], data: bytes, nothing_is_empty: bool = False) -> bytes:
    """Run a wl-clipboard tool and return its output. Its error goes to a file, not a pipe: the
    server wl-copy forks keeps its standard streams, and a pipe would never reach its end."""
    with tempfile.TemporaryFile() as errors:
        try:
            done = subprocess.run(command, input=data, stdout=subprocess.PIPE if command[0] == "wl-paste"
                                  else subprocess.DEVNULL, stderr=errors, timeout=TIMEOUT_S)
        except FileNotFoundError as missing:
            raise ClipboardUnavailable(f"{command[0]} not found: install wl-clipboard") from missing
        except subprocess.TimeoutExpired as slow:
            raise ClipboardUnavailable(f"{command[0]} did not answer within {TIMEOUT_S:g} s") from slow
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if done.returncode == 0:
        return done.stdout or b""
    if nothing_is_empty and message.startswith(NOTHING_COPIED):
        return b""
    raise ClipboardUnavailable(f"{' '.join(command[:2])} failed: {message or f'exit status {done.returncode}'}")
