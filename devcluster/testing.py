"""Polling helpers for tests that wait on the local control plane."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.2,
             message: str = "condition") -> Any:
    """Poll `predicate` until it returns a truthy value, which is returned; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message} (last: {last!r})")
