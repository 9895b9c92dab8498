"""Servers the rig starts, made to end with the test process."""

from __future__ import annotations

import shutil


def dying_with_this_process(command: list[str]) -> list[str]:
    """``command`` made to receive SIGTERM when the test process dies, even by a crash that skips
    fixture teardown (util-linux's setpriv; without it, a crash leaves the server running)."""
    if shutil.which("setpriv") is None:
        return command
    return ["setpriv", "--pdeathsig", "TERM", *command]
