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


INPUT_HOLD_MAX = 0.1  # seconds a key may hold the store's flushes back


class InputFirst:
    """Keys before store flushes: from a key's arrival until the frame that shows its effect,
    a flush of store changes waits (at most INPUT_HOLD_MAX after the key), so the key does not
    queue behind a flush and its frame is not one that also lays out the flush's changes.

    The app calls `key()` when a key arrives, `handled()` once its binding ran, `displayed()`
    after each frame and `hold()` before each flush (see KdashApp). A key that never reaches
    its binding (a text input takes it) releases by the time limit alone.
    """

    def __init__(self, max_hold: float = INPUT_HOLD_MAX, clock=time.monotonic) -> None:
        self.max_hold = max_hold
        self.clock = clock
        self._since: float | None = None  # when the waiting key arrived
        self._handled = False
        self._held = False  # a flush was asked for while holding

    @property
    def holding(self) -> bool:
        return self._since is not None

    def key(self) -> None:
        if self._since is None:
            self._since = self.clock()
            self._handled = False

    def handled(self) -> None:
        if self._since is not None:
            self._handled = True

    def displayed(self) -> bool:
        """A frame was shown: True if that released a flush held back for the key."""
        return self._handled and self.release()

    def hold(self) -> float:
        """Seconds a flush asked for now must wait (0: go ahead)."""
        if self._since is None:
            return 0.0
        left = self._since + self.max_hold - self.clock()
        if left <= 0:
            self.release()
            return 0.0
        self._held = True
        return left

    def release(self) -> bool:
        """Stop holding; True if a flush was held back."""
        held = self._held
        self._since, self._handled, self._held = None, False, False
        return held
