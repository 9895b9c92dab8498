"""A stand-in for "whatever app has focus": a Tk window with one Text widget.

Run as a script. It writes what the tests need to read back into ``--out``:
``wid`` (the X window that carries WM_CLASS, written once the window is mapped),
``text`` (the widget's whole content, rewritten on every change), ``changes``
(a line ``"<time.monotonic()> <length of the text>"`` appended on every change: the clock
is the machine's CLOCK_MONOTONIC, so other processes can time when text appeared) and ``keys``
(one keysym per key press the window received, appended as they come).

``--class-name`` sets WM_CLASS, so the window can pose as a terminal.
``--paste terminal`` makes it paste like a terminal emulator: Ctrl+Shift+V pastes the
clipboard and Ctrl+V inserts the literal "^V" a terminal would send to the shell.
"""

from __future__ import annotations

import argparse
import os
import time
import tkinter as tk
from contextlib import closing, suppress
from pathlib import Path

from Xlib.display import Display


def write_atomically(path: Path, content: str) -> None:
    """Replace ``path`` whole, so a reader never sees half a write."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)


def toplevel_window_id(root: tk.Tk) -> int:
    """The wrapper window Tk puts around the root: the one with WM_CLASS, the one to focus."""
    with closing(Display()) as display:
        inner = display.create_resource_object("window", root.winfo_id())
        return inner.query_tree().parent.id


def paste_like_a_terminal(text: tk.Text) -> None:
    def paste_clipboard(_event: tk.Event) -> str:
        with suppress(tk.TclError):  # an empty clipboard pastes nothing
            text.insert("insert", text.clipboard_get())
        return "break"

    def pass_control_v_on(_event: tk.Event) -> str:
        text.insert("insert", "^V")
        return "break"

    text.bind("<Control-Key-V>", paste_clipboard)
    text.bind("<Control-Key-v>", pass_control_v_on)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--class-name", default="DictadTarget")
    parser.add_argument("--paste", choices=("tk", "terminal"), default="tk")
    args = parser.parse_args()

    root = tk.Tk(className=args.class_name)
    root.title(f"dictad target ({args.class_name})")
    root.geometry("600x300+20+20")
    text = tk.Text(root)
    text.pack(fill="both", expand=True)
    text.focus_set()
    if args.paste == "terminal":
        paste_like_a_terminal(text)

    def save_text(_event: object) -> None:
        changed_at = time.monotonic()
        if not text.edit_modified():  # the <<Modified>> that resetting the flag below fires
            return
        content = text.get("1.0", "end-1c")
        write_atomically(args.out / "text", content)
        with open(args.out / "changes", "a", encoding="utf-8") as changes:
            changes.write(f"{changed_at:.6f} {len(content)}\n")
        text.edit_modified(False)

    def log_key(event: tk.Event) -> None:
        with open(args.out / "keys", "a", encoding="utf-8") as keys:
            keys.write(event.keysym + "\n")

    def announce_window(_event: object) -> None:
        if not (args.out / "wid").exists():
            write_atomically(args.out / "wid", str(toplevel_window_id(root)))

    text.bind("<<Modified>>", save_text)
    text.bindtags(("keylog", *text.bindtags()))
    text.bind_class("keylog", "<KeyPress>", log_key)
    root.bind("<Map>", announce_window)
    write_atomically(args.out / "text", "")
    root.mainloop()


if __name__ == "__main__":
    main()
