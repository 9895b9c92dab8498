"""PortAudio is one per process, shared by the microphone and the cues: open and close every stream here.

PortAudio keeps its list of open streams without a lock, so streams are opened and closed under
one. And it lists the devices once, when it starts: a microphone plugged in later is not there
until it starts again, which closes every open stream. So dictad restarts it only when none of
its streams is open (python-sounddevice's maintainer gives the same recipe: spatialaudio/
python-sounddevice#125).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import sounddevice as sd

log = logging.getLogger(__name__)

Stream = TypeVar("Stream", sd.InputStream, sd.OutputStream)

_lock = threading.Lock()
_open_streams = 0


def open_stream(make: Callable[[], Stream]) -> Stream:
    """The stream ``make`` opens (it may ask PortAudio about devices first), counted as open."""
    global _open_streams
    with _lock:
        stream = make()
        _open_streams += 1
        return stream


def close_stream(stream: sd.InputStream | sd.OutputStream) -> None:
    """Close a stream from :func:`open_stream` (abort it first: stopping one can hang)."""
    global _open_streams
    with _lock:
        try:
            stream.close()
        finally:
            _open_streams -= 1


def list_devices_again() -> bool:
    """Restart PortAudio so that it lists the devices plugged in since it started; False, doing
    nothing, while one of dictad's streams is open (a cue playing, say), as a restart closes them."""
    with _lock:
        if _open_streams:
            return False
        sd._terminate()
        sd._initialize()
        log.info("looked for audio devices again: %d found", len(sd.query_devices()))
        return True
