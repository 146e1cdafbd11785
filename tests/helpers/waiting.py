"""Waiting for a condition and replacing a file atomically: what the reload and sidecar tests share."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable


def wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``cond`` until it holds; the timeout only guards against a hang (never a measurement)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def write_atomically(path: Path, text: str) -> None:
    """Write then rename, as deploy tools do, so a watcher never sees half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
