"""Log lines, the thread-safe hand-off queue from stream threads, and the bounded ring buffer."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence

import msgspec

DEFAULT_CAPACITY = 10_000


class LogLine(msgspec.Struct, frozen=True, gc=False):
    """One line of a container's log (or a marker kdash adds, like "— pod x gone —").

    Never tracked by the cyclic garbage collector (it holds only strings and numbers): a followed
    log keeps ten thousand of them, and every full collection walked them all while logs flowed.
    """

    pod: str
    container: str
    text: str
    timestamp: str = ""  # RFC3339Nano as the kubelet sent it; "" for markers
    color: int = 0  # per-pod colour index for the prefix
    marker: bool = False


def marker(text: str, pod: str = "", container: str = "", color: int = 0) -> LogLine:
    """A line kdash writes itself, shown apart from the container's output."""
    return LogLine(pod, container, f"— {text} —", "", color, True)


class LineQueue:
    """Where stream threads put lines and the UI drains them in batches (~20 times a second).

    Bounded like the buffer behind it: if the UI stalls, the oldest lines are dropped and
    counted rather than growing memory without limit.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._lines: deque[LogLine] = deque()
        self._lock = threading.Lock()
        self._dropped = 0

    def put(self, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        with self._lock:
            self._lines.extend(lines)
            excess = len(self._lines) - self.capacity
            if excess > 0:
                self._dropped += excess
                for _ in range(excess):
                    self._lines.popleft()

    def drain(self) -> tuple[list[LogLine], int]:
        """Everything queued, and how many lines were dropped since the last drain."""
        with self._lock:
            lines = list(self._lines)
            self._lines.clear()
            dropped, self._dropped = self._dropped, 0
        return lines, dropped

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()
            self._dropped = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._lines)


class RingBuffer:
    """The last `capacity` lines, addressed by absolute ids that never change.

    Line ids count every line ever appended, so a view can keep its cursor and scroll position
    on the same lines while older ones fall off the front. Indexing is O(1) (a deque is O(n)
    in the middle, and the view reads lines from the middle on every repaint).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._ring: list[LogLine | None] = [None] * self.capacity
        self._total = 0
        self.dropped = 0  # lines that fell off the front (or never made it, see add_dropped)

    @property
    def first_id(self) -> int:
        """Id of the oldest line still held."""
        return max(0, self._total - self.capacity)

    @property
    def end_id(self) -> int:
        """One past the newest line's id (= lines appended since the last clear)."""
        return self._total

    def __len__(self) -> int:
        return self._total - self.first_id

    def extend(self, lines: Iterable[LogLine]) -> range:
        """Append lines; returns the ids they got (some may already be evicted)."""
        start = self._total
        ring, capacity = self._ring, self.capacity
        total = self._total
        for line in lines:
            ring[total % capacity] = line
            total += 1
        evicted = max(0, total - capacity) - max(0, start - capacity)
        self.dropped += evicted
        self._total = total
        return range(start, total)

    def add_dropped(self, count: int) -> None:
        """Count lines lost before reaching the buffer (a full queue), so one number tells all."""
        self.dropped += count

    def get(self, line_id: int) -> LogLine:
        if not self.first_id <= line_id < self._total:
            raise IndexError(f"line {line_id} is not in the buffer")
        line = self._ring[line_id % self.capacity]
        assert line is not None
        return line

    def __contains__(self, line_id: object) -> bool:
        return isinstance(line_id, int) and self.first_id <= line_id < self._total

    def ids(self) -> range:
        return range(self.first_id, self._total)

    def lines(self) -> list[LogLine]:
        """Every held line, oldest first."""
        return [self.get(i) for i in self.ids()]

    def clear(self) -> None:
        """Forget every line; ids restart at 0 and the dropped count resets."""
        self._ring = [None] * self.capacity
        self._total = 0
        self.dropped = 0
