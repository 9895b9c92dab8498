"""What a key press or a control command means: hold, toggle and Escape become start, stop and cancel.

Any hotkey backend feeds it presses, releases and Escape; the control socket feeds it
``start``, ``stop``, ``toggle`` and ``cancel``. It also knows whether the hotkey is held: in
hold mode text waits for the key to come up, since keys sent into the window meanwhile would
mix with the held modifiers (Ctrl+Alt+letters instead of letters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

RECORDING_COMMANDS = ("toggle", "start", "stop", "cancel")


class RecordingControls(Protocol):
    """What the policy drives: recordings that start, stop (and go on their trip) or are cancelled."""

    @property
    def recording(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def cancel(self) -> None: ...


class InputPolicy:
    """Turns hotkey events and control commands into starts, stops and cancels of ``recordings``;
    ``mode`` gives the current mode ("hold" or "toggle") each time it is asked."""

    def __init__(self, recordings: RecordingControls, mode: Callable[[], str]):
        self._recordings = recordings
        self._mode = mode
        self._key_up = threading.Condition()
        self._key_held = False

    def hotkey_pressed(self) -> None:
        if self._mode() == "toggle" and self._recordings.recording:
            self._recordings.stop()
            return
        with self._key_up:
            self._key_held = self._mode() == "hold"
        self._recordings.start()

    def hotkey_released(self) -> None:
        with self._key_up:
            self._key_held = False
            self._key_up.notify_all()
        if self._mode() == "hold":
            self._recordings.stop()

    def escape_pressed(self) -> None:
        self._recordings.cancel()

    def command(self, name: str) -> None:
        """One of RECORDING_COMMANDS, from the control socket (a compositor's key binding, a script)."""
        actions: dict[str, Callable[[], None]] = {
            "toggle": self.toggle, "start": self._start_again, "stop": self._recordings.stop,
            "cancel": self._recordings.cancel,
        }
        actions[name]()

    def _start_again(self) -> None:
        """A ``start`` while recording means the stop of the last hold never came (sway drops a
        ``--release`` binding when another key is pressed during the hold): that take is
        delivered, and this press records the next one, so neither is lost."""
        if self._recordings.recording:
            self._recordings.stop()
        self._recordings.start()

    def toggle(self) -> None:
        if self._recordings.recording:
            self._recordings.stop()
        else:
            self._recordings.start()

    @property
    def hotkey_held(self) -> bool:
        """Whether the hotkey is down (hold mode)."""
        with self._key_up:
            return self._key_held

    def wait_until_key_up(self) -> None:
        """Return once the hotkey is not held (at once in toggle mode)."""
        with self._key_up:
            self._key_up.wait_for(lambda: not self._key_held)
