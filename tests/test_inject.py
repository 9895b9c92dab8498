"""Text into the focused window: the pure text rules as tables, the rest with real keys on X."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest
from Xlib.display import Display

from dictad.config import OutputConfig, load_config
from dictad.desktop import Desktop
from dictad.desktop.session import detect_session
from dictad.inject import Delivery, choose_method, deliver
from dictad.inject.text import prepare, sanitise
from tests.rig.display import TargetWindow, keyboard_layouts, keys_held, lock_layout, xdotool
from tests.rig.waiting import stays_false, wait_until

REPO = Path(__file__).resolve().parent.parent
UNICODE = "café — naïve ✓"


@pytest.fixture
def output(tmp_path: Path) -> OutputConfig:
    """The shipped output settings (an empty user file, so a developer's own config cannot leak in)."""
    config_file = tmp_path / "config.yaml"
    config_file.write_text("")
    return dataclasses.replace(load_config(config_file).output, append="none")


def copy_as_the_user(text: str) -> None:
    subprocess.run(["xclip", "-selection", "clipboard"], input=text.encode(), check=True, timeout=10)


def clipboard() -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                          timeout=10).stdout.decode()


@pytest.mark.parametrize("dictated, delivered", [
    ("plain words", "plain words"),
    ("  Whisper's leading space ", "Whisper's leading space"),
    ("red \x1b[31malert\x1b[0m now", "red alert now"),
    ("screen \x1b[2J\x1b[Hcleared", "screen cleared"),
    ("title \x1b]0;pwned\x07set", "title set"),
    ("link \x1b]8;;http://x.example\x1b\\here\x1b]8;;\x1b\\", "link here"),
    ("device control\x1bPq#0;2;0;0;0\x1b\\ string", "device control string"),
    ("keypad \x1b=mode", "keypad mode"),
    ("eight-bit \x9b31mcsi", "eight-bit csi"),
    ("bell\x07, nul\x00, backspace\x08, delete\x7f", "bell, nul, backspace, delete"),
    ("unterminated \x1b]0;title to the end", "unterminated"),
    ("lone escape\x1b", "lone escape"),
    ("one\r\ntwo\rthree\u2028four", "one\ntwo\nthree\nfour"),
    ("tab\tseparated", "tab separated"),
    ("cafe\u0301 decomposed", "café decomposed"),
    ("emoji 👍🏽 and ✓ stay", "emoji 👍🏽 and ✓ stay"),
    ("\x1b[31m\x1b[0m", ""),
])
def test_sanitise_removes_escape_sequences_and_control_characters(dictated: str, delivered: str) -> None:
    assert sanitise(dictated) == delivered


@pytest.mark.parametrize("dictated, append, delivered", [
    ("Hello.", "none", "Hello."),
    ("Hello.", "space", "Hello. "),
    ("Hello.", "newline", "Hello.\n"),
    (" Hello. ", "space", "Hello. "),
    ("", "space", ""),
    ("\x1b[0m", "newline", ""),
])
def test_prepare_appends_the_configured_separator_to_text_only(dictated: str, append: str, delivered: str) -> None:
    assert prepare(dictated, append) == delivered


@pytest.mark.parametrize("method, target, chosen", [
    ("auto", "dictadtarget/dictadtarget", ("paste", ("<ctrl>", "v"))),
    ("paste", "", ("paste", ("<ctrl>", "v"))),
    ("auto", "kitty/kitty", ("paste", ("<ctrl>", "<shift>", "v"))),
    ("auto", "gnome-terminal-server/gnome-terminal-server", ("paste", ("<ctrl>", "<shift>", "v"))),
    ("auto", "alacritty/alacritty", ("paste", ("<ctrl>", "<shift>", "v"))),
    ("paste", "xterm/xterm", ("type", ())),
    ("auto", "urxvt/urxvt", ("type", ())),
    ("type", "firefox-esr/firefox-esr", ("type", ())),
])
def test_the_method_and_paste_keys_follow_the_window_class(
        output: OutputConfig, method: str, target: str, chosen: tuple) -> None:
    assert choose_method(dataclasses.replace(output, method=method), target) == chosen


def test_without_a_display_nothing_is_delivered_and_the_reason_is_given(output: OutputConfig) -> None:
    delivery = deliver("Hello there.", output, Desktop(detect_session({})))
    assert delivery == Delivery(False, "none", "Hello there.", reason=delivery.reason)
    assert "DISPLAY is not set" in delivery.reason


@pytest.mark.slow
def test_paste_puts_the_text_in_the_window_and_gives_the_user_their_clipboard_back(
        output: OutputConfig, target_window: TargetWindow) -> None:
    copy_as_the_user("what the user copied earlier")
    delivery = deliver("Hello from dictad.", dataclasses.replace(output, method="paste"))
    assert (delivery.delivered, delivery.method) == (True, "paste"), delivery
    assert target_window.wait_for_text("Hello from dictad.") == "Hello from dictad."
    assert clipboard() == "what the user copied earlier"


@pytest.mark.slow
def test_type_types_unicode(output: OutputConfig, target_window: TargetWindow) -> None:
    delivery = deliver(UNICODE, dataclasses.replace(output, method="type"))
    assert (delivery.delivered, delivery.method) == (True, "type"), delivery
    assert target_window.wait_for_text(UNICODE) == UNICODE


@pytest.mark.slow
@pytest.mark.parametrize("method", ["paste", "type"])
def test_control_characters_and_escape_sequences_never_reach_the_window(
        output: OutputConfig, target_window: TargetWindow, method: str) -> None:
    delivery = deliver("ok \x1b[31mred\x1b[0m\x07 \x1b]0;title\x07done\x08", dataclasses.replace(output, method=method))
    assert delivery.text == "ok red done"
    assert target_window.wait_for_text("done") == "ok red done"
    target_window.settle()
    assert target_window.text() == "ok red done"
    assert not {"Escape", "BackSpace"} & set(target_window.keys())


@pytest.mark.slow
def test_the_separator_setting_is_applied(output: OutputConfig, target_window: TargetWindow) -> None:
    for words in ("First sentence.", "Second one."):
        deliver(words, dataclasses.replace(output, append="space"))
    assert target_window.wait_for_text("one. ") == "First sentence. Second one. "


@pytest.mark.slow
def test_what_the_user_copies_while_the_clipboard_waits_to_be_restored_is_kept(
        output: OutputConfig, target_window: TargetWindow) -> None:
    copy_as_the_user("older copy")
    slow_restore = dataclasses.replace(output, method="paste", clipboard_restore_delay_ms=1500)
    delivering = threading.Thread(target=deliver, args=("Dictated words.", slow_restore))
    delivering.start()
    target_window.wait_for_text("Dictated words.")
    copy_as_the_user("copied meanwhile")
    delivering.join()
    assert clipboard() == "copied meanwhile"


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
"""A one-pixel image, as a screenshot tool puts an image on the clipboard."""


def copy_image_as_the_user() -> None:
    subprocess.run(["xclip", "-selection", "clipboard", "-t", "image/png"], input=PNG, check=True, timeout=10)


def clipboard_image() -> bytes:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o", "-t", "image/png"], capture_output=True,
                          timeout=10).stdout


@pytest.mark.slow
@pytest.mark.parametrize("method, went_in_by, image_kept", [("auto", "type", True), ("paste", "paste", False)])
def test_auto_types_rather_than_replace_an_image_on_the_clipboard(
        output: OutputConfig, target_window: TargetWindow, method: str, went_in_by: str, image_kept: bool) -> None:
    copy_image_as_the_user()
    delivery = deliver("Caption for the image.", dataclasses.replace(output, method=method))
    assert (delivery.delivered, delivery.method) == (True, went_in_by), delivery
    assert target_window.wait_for_text("image.") == "Caption for the image."
    assert (clipboard_image() == PNG) is image_kept


def deliver_in_a_process_without_clipboard_tools(text: str, method: str, tmp_path: Path) -> dict:
    """pyperclip picks its tool once per process, from PATH: a fresh process with no xclip or xsel on it."""
    script = (
        "import dataclasses, json, sys\n"
        "from dictad.config import load_config\n"
        "from dictad.inject import deliver\n"
        "config = dataclasses.replace(load_config(sys.argv[3]).output, method=sys.argv[2], append='none')\n"
        "print(json.dumps(dataclasses.asdict(deliver(sys.argv[1], config))))\n"
    )
    empty_directory = tmp_path / "bin"
    empty_directory.mkdir()
    (tmp_path / "config.yaml").write_text("")
    done = subprocess.run(
        [sys.executable, "-c", script, text, method, str(tmp_path / "config.yaml")],
        env={**os.environ, "PATH": str(empty_directory)}, cwd=REPO, capture_output=True, text=True,
        timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_auto_types_the_text_when_no_clipboard_tool_exists(target_window: TargetWindow, tmp_path: Path) -> None:
    delivery = deliver_in_a_process_without_clipboard_tools(UNICODE, "auto", tmp_path)
    assert (delivery["delivered"], delivery["method"]) == (True, "type"), delivery
    assert "no clipboard tool" in delivery["reason"]
    assert target_window.wait_for_text(UNICODE) == UNICODE


@pytest.mark.slow
def test_paste_without_a_clipboard_tool_keeps_the_text_and_says_why(
        target_window: TargetWindow, tmp_path: Path) -> None:
    delivery = deliver_in_a_process_without_clipboard_tools("Lost words.", "paste", tmp_path)
    assert (delivery["delivered"], delivery["text"]) == (False, "Lost words.")
    assert "no clipboard tool: install xclip or xsel" in delivery["reason"]
    target_window.settle()
    assert target_window.text() == ""


@pytest.mark.slow
@pytest.mark.parametrize("terminal_classes, shown", [
    (["kitty"], "Pasted in a terminal."),
    ([], "^V"),  # the control: not known as a terminal, it gets Ctrl+V, which a terminal passes on
])
def test_terminals_get_the_terminal_paste_keys(
        output: OutputConfig, target_window_factory: Callable[..., TargetWindow],
        terminal_classes: list[str], shown: str) -> None:
    kitty = target_window_factory(class_name="kitty", paste="terminal")
    delivery = deliver("Pasted in a terminal.", dataclasses.replace(output, terminal_classes=terminal_classes))
    assert (delivery.method, delivery.target) == ("paste", "kitty/kitty")
    assert kitty.wait_for_text(shown) == shown


@pytest.mark.slow
def test_terminals_that_paste_only_the_primary_selection_are_typed_into(
        output: OutputConfig, target_window_factory: Callable[..., TargetWindow]) -> None:
    xterm_like = target_window_factory(class_name="XTerm", paste="terminal")
    delivery = deliver("Typed into a terminal.", output)
    assert (delivery.delivered, delivery.method, delivery.target) == (True, "type", "xterm/xterm")
    assert xterm_like.wait_for_text("Typed into a terminal.") == "Typed into a terminal."


RAW_READER = """
import os, sys, tty
tty.setraw(0)
with open(sys.argv[1], "ab", buffering=0) as out:
    while chunk := os.read(0, 4096):
        out.write(chunk)
"""


@pytest.mark.slow
def test_a_real_xterm_receives_typed_unicode(output: OutputConfig, x_display: str, tmp_path: Path) -> None:
    """xterm ignores synthetic (XSendEvent) keys and pastes only PRIMARY: the case typing exists for."""
    if shutil.which("xterm") is None:
        pytest.skip("xterm missing (apt-get install xterm)")
    received = tmp_path / "received"
    received.touch()
    xterm = subprocess.Popen(["xterm", "-e", sys.executable, "-c", RAW_READER, str(received)],
                             env={**os.environ, "LC_ALL": "C.UTF-8"})
    try:
        window = xdotool("search", "--sync", "--pid", str(xterm.pid)).split()[-1]
        xdotool("windowfocus", "--sync", window)
        delivery = deliver(UNICODE, output)
        assert (delivery.delivered, delivery.method, delivery.target) == (True, "type", "xterm/xterm")
        wait_until(lambda: received.read_bytes().decode() == UNICODE, 5,
                   f"xterm to pass on {UNICODE!r} (got {received.read_bytes()!r})")
    finally:
        xterm.terminate()
        xterm.wait(timeout=10)


@pytest.mark.slow
def test_typing_is_right_whichever_keyboard_layout_is_on(output: OutputConfig, target_window: TargetWindow) -> None:
    with keyboard_layouts("us,ru"):
        lock_layout(1)  # Russian on: the key that types "h" in English types "р"
        text = "Hello world, привет мир."
        delivery = deliver(text, dataclasses.replace(output, method="type"))
        assert (delivery.delivered, delivery.method) == (True, "type"), delivery
        assert target_window.wait_for_text("мир.") == text


@pytest.mark.slow
def test_keys_the_user_still_holds_are_waited_for(output: OutputConfig, target_window: TargetWindow) -> None:
    delivered: list[Delivery] = []
    with keys_held("shift"):  # with it, Ctrl+V would be Ctrl+Shift+V, which Tk does not paste with
        delivering = threading.Thread(target=lambda: delivered.append(deliver("Pasted.", output)))
        delivering.start()
        assert stays_false(target_window.text, seconds=0.3)  # the user is slow to let go
    delivering.join()
    assert delivered[0].delivered, delivered[0]
    assert target_window.wait_for_text("Pasted.") == "Pasted."


@pytest.mark.slow
def test_keys_held_too_long_leave_the_text_undelivered_with_the_reason(
        output: OutputConfig, target_window: TargetWindow) -> None:
    copy_as_the_user("kept")
    with keys_held("ctrl"):
        delivery = deliver("Never mixed with Ctrl.", output)
    assert not delivery.delivered
    assert "keys still held" in delivery.reason and "Control_L" in delivery.reason
    target_window.settle()
    assert target_window.text() == ""
    assert clipboard() == "kept"


def caps_lock_is_on() -> bool:
    with contextlib.closing(Display()) as display:
        return bool(display.get_keyboard_control().led_mask & 1)


@pytest.mark.slow
@pytest.mark.parametrize("layouts, options", [
    ("us", ""),
    ("us,ru", "grp:caps_toggle"),  # Caps alone switches layouts here; Caps Lock is Shift+Caps
])
def test_caps_lock_does_not_change_typed_text(
        output: OutputConfig, target_window: TargetWindow, layouts: str, options: str) -> None:
    with keyboard_layouts(layouts, options):
        xdotool("key", "Caps_Lock")
        try:
            assert caps_lock_is_on()
            deliver("Mixed Case text", dataclasses.replace(output, method="type"))
            assert target_window.wait_for_text("text") == "Mixed Case text"
            assert caps_lock_is_on()
        finally:
            xdotool("key", "Caps_Lock")
