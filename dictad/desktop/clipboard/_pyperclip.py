"""The clipboard through pyperclip, with the tool the chooser picked (``pyperclip.set_clipboard``)."""

from __future__ import annotations

import pyperclip

from dictad.desktop.clipboard import NO_CLIPBOARD_TOOL, ClipboardUnavailable


class PyperclipClipboard:
    def __init__(self, tool: str) -> None:
        pyperclip.set_clipboard(tool)

    def read(self) -> str | None:
        try:
            return pyperclip.paste()
        except pyperclip.PyperclipException as missing:
            raise ClipboardUnavailable(NO_CLIPBOARD_TOOL) from missing
        except UnicodeDecodeError:  # the clipboard tool handed over an image's bytes
            return None

    def write(self, text: str) -> None:
        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException as missing:
            raise ClipboardUnavailable(NO_CLIPBOARD_TOOL) from missing
