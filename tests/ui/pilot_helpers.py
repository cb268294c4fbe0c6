"""Polling helper for Pilot tests: wait for a condition while the app keeps processing messages."""

from __future__ import annotations

import time
from typing import Any, Callable


async def until(pilot, predicate: Callable[[], Any], timeout: float = 60, message: str = "condition") -> Any:
    """Return `predicate()` once truthy, pausing the pilot between tries; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
