"""What delivering text costs on the real desktop rig: from ``deliver()`` to the text in a Tk window,
and how soon after the paste keys the window reads the clipboard.

    python bench/paste.py [--repeats 20]

The bench starts its own Xvfb and a Tk window (tests/rig). "deliver -> text" is timed from the
call to the moment the window shows the text, by paste and by typing, with the shipped output
settings: no fixed sleep may stand between the two (the clipboard is put back afterwards).
"paste keys -> clipboard read" is how long the window takes to ask for the clipboard once Ctrl+V
is sent: what ``output.clipboard_restore_delay_ms`` must cover, with room to spare for slower apps.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dictad.config import OutputConfig, load_config  # noqa: E402
from dictad.desktop.keyboard import choose_keyboard  # noqa: E402
from dictad.desktop.session import current_session  # noqa: E402
from dictad.inject import deliver  # noqa: E402
from tests.rig.display import TargetWindow, opened_target_window, running_xvfb  # noqa: E402
from tests.rig.waiting import wait_until  # noqa: E402

TEXT = "Quick."


def deliver_until_shown(window: TargetWindow, output: OutputConfig) -> float:
    """Milliseconds from deliver() to TEXT at the end of the window's text."""
    expected = window.text() + TEXT
    started = time.perf_counter()
    delivering = threading.Thread(target=deliver, args=(TEXT, output))
    delivering.start()
    wait_until(lambda: window.text() == expected, 5, "the delivered text", interval=0.001)
    shown_ms = (time.perf_counter() - started) * 1000
    delivering.join()
    return shown_ms


def clipboard_read_after_paste_keys(window: TargetWindow) -> float:
    """Milliseconds from Ctrl+V to the window asking xclip for the clipboard."""
    expected = window.text() + "measured"
    owner = subprocess.Popen(["xclip", "-selection", "clipboard", "-verbose", "-loops", "1"],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    owner.stdin.write("measured")
    owner.stdin.close()
    wait_until(lambda: "Waiting for a selection request" in owner.stderr.readline(), 5, "xclip to own the clipboard")
    started = time.perf_counter()
    choose_keyboard(current_session()).press_combination(("<ctrl>", "v"))
    owner.wait(timeout=5)
    read_ms = (time.perf_counter() - started) * 1000
    window.wait_for_text(lambda text: text == expected)
    return read_ms


def row(name: str, samples: list[float]) -> str:
    ranked = sorted(samples)
    p95 = ranked[math.ceil(0.95 * len(ranked)) - 1]
    return f"| {name} | {statistics.median(ranked):.1f} ms | {p95:.1f} ms | {ranked[-1]:.1f} ms |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "config.yaml"
        empty.write_text("")
        output = dataclasses.replace(load_config(empty).output, append="none")
        measures: dict[str, Callable[[TargetWindow], float]] = {
            "deliver -> text (paste)": lambda window: deliver_until_shown(window, output),
            "deliver -> text (type)": lambda window: deliver_until_shown(window, dataclasses.replace(output, method="type")),
            "paste keys -> clipboard read": clipboard_read_after_paste_keys,
        }
        (Path(folder) / "window").mkdir()
        with running_xvfb(), opened_target_window(Path(folder) / "window") as window:
            results = {name: [measure(window) for _ in range(args.repeats)] for name, measure in measures.items()}
    print(f"{args.repeats} repeats each; output.clipboard_restore_delay_ms is {output.clipboard_restore_delay_ms} ms\n")
    print("| measure | median | p95 | max |\n|---|---|---|---|")
    for name, samples in results.items():
        print(row(name, samples))


if __name__ == "__main__":
    main()
