"""The daemon's threads share one malloc heap (glibc): a decoder's freed memory serves the next decode
in any thread instead of staying resident in an arena of its own."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

THREADS_THAT_ALLOCATE = """
import ctypes, sys, tempfile, threading
import numpy as np
if sys.argv[1] == "shared":
    from dictad.heap import share_one_heap
    share_one_heap()
blocks = []
threads = [threading.Thread(target=lambda: blocks.append(np.ones(1 << 20))) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile() as report:
    stream = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(open(report.name).read().count("<heap nr="))
"""


def heaps_after_four_threads_allocate(heap: str) -> int:
    run = subprocess.run([sys.executable, "-c", THREADS_THAT_ALLOCATE, heap], capture_output=True, text=True,
                         check=True)
    return int(run.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arenas are glibc's")
def test_threads_allocate_from_one_heap():
    assert heaps_after_four_threads_allocate("glibc's default") > 1, "glibc gave the threads no arenas of their own"
    assert heaps_after_four_threads_allocate("shared") == 1
