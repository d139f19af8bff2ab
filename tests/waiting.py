"""Wait on a condition instead of sleeping a fixed time: a fixed sleep is too short under load and too long
otherwise. ``wait_until`` polls until the condition holds and fails with what it was waiting for."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def group_gone(pgid: int) -> bool:
    """True once no process is left in the process group ``pgid``."""
    import os

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False
