"""PortAudio is one per process, shared by the microphone and the cues: open and close every stream here.

PortAudio keeps its list of open streams without a lock, so streams are opened and closed under
one. And it lists the devices once, when it starts: a microphone plugged in later is not there
until it starts again, which closes every open stream. So dictad restarts it only when none of
its streams is open (python-sounddevice's maintainer gives the same recipe: spatialaudio/
python-sounddevice#125), waiting for a cue that is playing to end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import sounddevice as sd

log = logging.getLogger(__name__)

Stream = TypeVar("Stream", sd.InputStream, sd.OutputStream)

STREAMS_CLOSE_WITHIN_S = 3.0
"""A cue's stream is open for half a second (the cue and the silence after it), and for up to
2.3 s on the test rig, whose idle PulseAudio sink takes its time to wake up."""

_lock = threading.Lock()
_all_closed = threading.Condition(_lock)
_open_streams = 0


def open_stream(make: Callable[[], Stream]) -> Stream:
    """The stream ``make`` opens (it may ask PortAudio about devices first), counted as open."""
    global _open_streams
    with _lock:
        stream = make()
        _open_streams += 1
        return stream


def close_stream(stream: sd.InputStream | sd.OutputStream) -> None:
    """Abort and close a stream from :func:`open_stream`. Aborted, not stopped: stopping one whose
    PulseAudio source has vanished hangs. The abort is done outside the lock, so a slow one holds
    up no other stream."""
    global _open_streams
    stream.abort()
    with _lock:
        try:
            stream.close()
        finally:
            _open_streams -= 1
            _all_closed.notify_all()


def list_devices_again() -> bool:
    """Restart PortAudio so that it lists the devices plugged in since it started, once no stream
    of dictad's is open (a restart closes them); False, doing nothing, if one stays open."""
    with _lock:
        if not _all_closed.wait_for(lambda: _open_streams == 0, STREAMS_CLOSE_WITHIN_S):
            return False
        sd._terminate()
        sd._initialize()
        log.info("looked for audio devices again: %d found", len(sd.query_devices()))
        return True
