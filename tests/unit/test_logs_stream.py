"""One container's log stream without a server: splitting, resuming without duplicates, errors, stop."""

from __future__ import annotations

import threading
import time

import urllib3

from kdash.errors import ApiException
from kdash.kube.reflector import Backoff
from kdash.logs.buffer import LogLine
from kdash.logs.stream import (
    ENDED,
    FAILED,
    STOPPED,
    ContainerStream,
    LogOptions,
    LogSplitter,
    ResumePoint,
    Target,
    log_query,
    split_timestamp,
)

TARGET = Target("ns", "web-1", "app", "uid-1", "containerd://1", color=3)


class FakeResponse:
    """Yields `chunks`, then raises `error` (or ends); with `block`, waits until shut down."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None, block: bool = False):
        self.chunks = chunks
        self.error = error
        self.block = block
        self.shut = threading.Event()
        self.closed = False

    def stream(self, amt=None):
        yield from self.chunks
        if self.block:
            self.shut.wait(10)
            raise urllib3.exceptions.ProtocolError("Response ended prematurely")
        if self.error is not None:
            raise self.error

    def shutdown(self):
        self.shut.set()

    def close(self):
        self.closed = True

    def release_conn(self):
        pass


class FakeOpener:
    """Hands out prepared responses (or raises prepared errors) and records every query."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.queries: list[dict] = []

    def __call__(self, path, query, timeout):
        self.queries.append(dict(query))
        if not self.answers:
            return FakeResponse([], block=True)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Collector:
    def __init__(self):
        self.lines: list[LogLine] = []
        self.lock = threading.Lock()

    def __call__(self, batch):
        with self.lock:
            self.lines.extend(batch)

    def texts(self, markers: bool = False) -> list[str]:
        with self.lock:
            return [line.text for line in self.lines if line.marker == markers]


def wait(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    raise AssertionError("timed out")


def fast_backoff() -> Backoff:
    return Backoff(base=0.01, maximum=0.02)


def stream(opener, options=LogOptions(), sink=None) -> tuple[ContainerStream, Collector]:
    sink = sink or Collector()
    return ContainerStream(opener, TARGET, options, sink, backoff=fast_backoff()).start(), sink


def test_splitter_reassembles_lines_across_chunks_and_keeps_blank_lines():
    splitter = LogSplitter()
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo\n\nwor") == [b"hello", b""]
    assert splitter.feed(b"ld\nlast") == [b"world"]
    assert splitter.flush() == b"last"
    assert splitter.flush() is None


def test_splitter_cuts_a_line_that_never_ends():
    splitter = LogSplitter(max_line=10)
    assert splitter.feed(b"x" * 25) == [b"x" * 10, b"x" * 10]
    assert splitter.feed(b"\n") == [b"x" * 5]


def test_lines_are_decoded_across_chunks_with_timestamps_split_off():
    text = "2024-01-02T03:04:05.1Z grüße ✓\r\n2024-01-02T03:04:05.2Z \x1b[1mbold\x1b[0m\n"
    data = text.encode()
    cut = data.index("✓".encode()) + 1  # in the middle of a 3-byte character
    s, sink = stream(FakeOpener(FakeResponse([data[:cut], data[cut:], b"\xff\xfe broken\n"])),
                     LogOptions(follow=False))
    wait(lambda: s.done)
    assert s.state == ENDED
    assert sink.texts() == ["grüße ✓", "bold", "\ufffd\ufffd broken"]
    first = sink.lines[0]
    assert (first.pod, first.container, first.timestamp, first.color) == ("web-1", "app", "2024-01-02T03:04:05.1Z", 3)
    assert split_timestamp("not a timestamp line") == ("", "not a timestamp line")


def test_query_passes_options_through_and_a_resume_replaces_tail_and_since():
    options = LogOptions(follow=True, tail_lines=50, since_seconds=300)
    assert log_query(TARGET, options) == [("container", "app"), ("timestamps", "true"), ("follow", "true"),
                                          ("tailLines", 50), ("sinceSeconds", 300)]
    previous = log_query(TARGET, LogOptions(previous=True, tail_lines=None))
    assert ("previous", "true") in previous and ("follow", "true") not in previous
    assert not any(k == "tailLines" for k, _ in previous)
    resumed = log_query(TARGET, options, since_time="2024-01-02T03:04:05Z")
    assert resumed[-1] == ("sinceTime", "2024-01-02T03:04:05Z")
    assert not any(k in ("tailLines", "sinceSeconds") for k, _ in resumed)


def test_resume_point_skips_exactly_the_lines_already_seen_in_the_last_second():
    point = ResumePoint()
    for stamp in ("2024-01-02T03:04:04.9Z", "2024-01-02T03:04:05.1Z", "2024-01-02T03:04:05.2Z"):
        assert point.accept(stamp)
    assert point.since_time() == "2024-01-02T03:04:05Z" and point.seen == 2
    point.rewind()
    assert not point.accept("2024-01-02T03:04:05.1Z")
    assert not point.accept("2024-01-02T03:04:05.2Z")
    assert point.accept("2024-01-02T03:04:05.3Z")  # new line in the same second
    assert point.accept("2024-01-02T03:04:06.0Z")


def test_network_error_reconnects_once_marked_and_resumes_without_duplicates():
    first = FakeResponse([b"2024-01-02T03:04:04.9Z a\n2024-01-02T03:04:05.1Z b\n2024-01-02T03:04:05.2Z c\n"],
                         error=urllib3.exceptions.ProtocolError("connection reset"))
    second = FakeResponse([b"2024-01-02T03:04:05.1Z b\n2024-01-02T03:04:05.2Z c\n2024-01-02T03:04:05.7Z d\n"],
                          error=urllib3.exceptions.ProtocolError("again"))
    third = FakeResponse([b"2024-01-02T03:04:05.7Z d\n2024-01-02T03:04:06.0Z e\n"])
    opener = FakeOpener(first, second, third)
    s, sink = stream(opener, LogOptions(tail_lines=10))
    wait(lambda: s.done)
    assert sink.texts() == ["a", "b", "c", "d", "e"]
    assert ("tailLines", 10) in opener.queries[0].items()
    assert opener.queries[1]["sinceTime"] == "2024-01-02T03:04:05Z" and "tailLines" not in opener.queries[1]
    assert opener.queries[2]["sinceTime"] == "2024-01-02T03:04:05Z"
    # Each outage came after a working stream, so each gets its own marker.
    markers = sink.texts(markers=True)
    assert len(markers) == 2 and all("reconnecting" in m for m in markers)
    assert s.requests == 3 and s.state == ENDED


def test_failed_connects_in_a_row_give_one_marker():
    error = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    opener = FakeOpener(error, error, error, FakeResponse([b"2024-01-02T03:04:05.1Z ok\n"]))
    s, sink = stream(opener)
    wait(lambda: s.done)
    assert sink.texts() == ["ok"]
    assert len(sink.texts(markers=True)) == 1


def test_client_errors_end_the_stream_with_one_marker_and_no_retries():
    body = '{"kind":"Status","code":400,"message":"previous terminated container \\"app\\" in pod \\"web-1\\" not found"}'
    opener = FakeOpener(ApiException(status=400, reason="Bad Request", body=body))
    s, sink = stream(opener, LogOptions(previous=True))
    wait(lambda: s.done)
    time.sleep(0.1)
    assert s.state == FAILED and len(opener.queries) == 1
    assert sink.texts() == []
    [note] = sink.texts(markers=True)
    assert "previous terminated container" in note and note.startswith("— web-1/app:")


def test_server_errors_are_retried():
    opener = FakeOpener(ApiException(status=500, reason="Internal"), ApiException(status=503, reason="Unavailable"),
                        FakeResponse([b"2024-01-02T03:04:05.1Z back\n"]))
    s, sink = stream(opener)
    wait(lambda: s.done)
    assert sink.texts() == ["back"] and len(opener.queries) == 3


def test_a_quiet_stream_is_reopened_silently():
    quiet = FakeResponse([b"2024-01-02T03:04:05.1Z before\n"],
                         error=urllib3.exceptions.ReadTimeoutError(None, "/log", "read timed out"))
    opener = FakeOpener(quiet, FakeResponse([b"2024-01-02T03:04:05.1Z before\n2024-01-02T03:04:09.0Z after\n"]))
    s, sink = stream(opener)
    wait(lambda: s.done)
    assert sink.texts() == ["before", "after"]
    assert sink.texts(markers=True) == []


def test_stop_ends_a_blocked_read_at_once_and_nothing_arrives_after():
    response = FakeResponse([b"2024-01-02T03:04:05.1Z one\n"], block=True)
    s, sink = stream(FakeOpener(response))
    wait(lambda: sink.texts() == ["one"])
    started = time.monotonic()
    s.stop()
    assert s.join(1.0)
    assert time.monotonic() - started < 1.0
    assert s.state == STOPPED and response.closed
    assert sink.texts() == ["one"] and sink.texts(markers=True) == []
