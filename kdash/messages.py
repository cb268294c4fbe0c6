"""Messages posted from worker threads to the UI; bursts coalesce into one pending message."""

from __future__ import annotations

import threading
import time

from textual.message import Message


class StoreChanged(Message):
    """Some kinds changed in the store; the receiver drains `Coalescer.take()` for which."""


class Coalescer:
    """Collects changed kinds from any thread and keeps at most one StoreChanged in flight.

    Reflector threads call `mark(kind)` per applied batch; the UI repaints at most every
    `min_interval` seconds however fast events arrive (the toolong pattern, without a message per event).
    """

    def __init__(self, post, min_interval: float = 0.05) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._pending = False
        self.min_interval = min_interval
        self.last_flush = 0.0

    def mark(self, kind: str) -> None:
        with self._lock:
            self._dirty.add(kind)
            if self._pending:
                return
            self._pending = True
        self._post(StoreChanged())

    def delay(self) -> float:
        """How long the UI should wait before flushing to respect the repaint rate."""
        return max(0.0, self.min_interval - (time.monotonic() - self.last_flush))

    def take(self) -> set[str]:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            self._pending = False
        self.last_flush = time.monotonic()
        return dirty
