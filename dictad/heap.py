"""One malloc heap for the whole daemon, where the C library is glibc (Linux).

glibc gives each thread that allocates an arena of its own (up to eight a core), and keeps what
is freed there for that arena's next use. The model's two decoders run in threads of their own
and, since short windows are decoded in two phases at once (short_window.PHASES), both make
large allocations: each arena came to hold the largest decode it had ever made. One arena holds
a fifth less at the end of a run, as fast; handing memory back after each dictation
(malloc_trim) made the next decodes pay in page faults. ``python bench/latency.py``'s peak
memory row watches the result; how the heap settings compared is in bench/README.md.
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
