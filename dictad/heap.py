"""One malloc heap for the whole daemon, where the C library is glibc (Linux).

glibc gives each thread that allocates an arena of its own (up to eight a core), and keeps what
is freed there for that arena's next use. The model's two decoders run in threads of their own
and, since short windows are decoded in two phases at once (transcriber.PHASES), both make large
allocations: each arena came to hold the largest decode it had ever made. Over 72 rig
recordings decoded as drafts and at release (/tmp/z/mem2.py), resident memory ended at 338 MiB
with glibc's arenas and 269 MiB with one (peaks 338 and 323 MiB), and took as long (5.72 s and
5.69 s for 24 decodes). Handing freed memory back after each dictation (malloc_trim) went lower
still, but the next decodes paid for it in page faults (6.35 s).
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8
"""glibc's mallopt() parameter for the most arenas (malloc.h)."""


def share_one_heap() -> None:
    """Make every thread allocate from glibc's main arena; nothing where the C library is not glibc.
    Threads that have already allocated keep their arenas, so call it before starting any."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, TypeError, AttributeError):  # no C library to open, or not glibc's
        return
    mallopt(M_ARENA_MAX, 1)
