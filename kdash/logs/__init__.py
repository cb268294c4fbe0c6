"""UI-free log streaming: one container's stream, a multi-pod follower, and bounded buffers."""

from kdash.logs.buffer import LineQueue, LogLine, RingBuffer, marker
from kdash.logs.follower import (
    ALL_CONTAINERS,
    FOLLOWABLE_KINDS,
    Follower,
    FollowerStatus,
    LogSource,
    select_pods,
)
from kdash.logs.stream import ContainerStream, LogOptions, Target, stream_factory

__all__ = [
    "ALL_CONTAINERS", "FOLLOWABLE_KINDS", "ContainerStream", "Follower", "FollowerStatus",
    "LineQueue", "LogLine", "LogOptions", "LogSource", "RingBuffer", "Target", "marker",
    "select_pods", "stream_factory",
]
