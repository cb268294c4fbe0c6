"""Bounded log storage: ring buffer ids and drops, the thread-safe queue, and the text helpers."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from kdash.logs.buffer import LineQueue, LogLine, RingBuffer, marker
from kdash.logs.text import (
    TextFilter,
    default_save_path,
    find_spans,
    format_plain,
    sanitize,
    save_lines,
)


def lines(count: int, start: int = 0, pod: str = "p") -> list[LogLine]:
    return [LogLine(pod, "c", f"line {i}") for i in range(start, start + count)]


def test_ring_buffer_keeps_the_newest_lines_and_counts_what_fell_off():
    buffer = RingBuffer(5)
    ids = buffer.extend(lines(3))
    assert list(ids) == [0, 1, 2] and len(buffer) == 3 and buffer.dropped == 0
    ids = buffer.extend(lines(4, start=3))
    assert list(ids) == [3, 4, 5, 6]
    assert len(buffer) == 5 and buffer.dropped == 2
    assert buffer.first_id == 2 and buffer.end_id == 7
    assert [line.text for line in buffer.lines()] == [f"line {i}" for i in range(2, 7)]
    assert 1 not in buffer and 2 in buffer
    with pytest.raises(IndexError):
        buffer.get(1)


def test_ring_buffer_takes_a_batch_larger_than_itself():
    buffer = RingBuffer(10)
    buffer.extend(lines(25))
    assert len(buffer) == 10 and buffer.dropped == 15
    assert buffer.get(24).text == "line 24" and buffer.get(15).text == "line 15"


def test_ring_buffer_bound_holds_for_many_lines_and_clear_restarts_ids():
    buffer = RingBuffer(1000)
    for batch in range(200):
        buffer.extend(lines(97, start=batch * 97))
    assert len(buffer) == 1000
    assert buffer.dropped == 200 * 97 - 1000
    assert buffer.get(buffer.end_id - 1).text == f"line {200 * 97 - 1}"
    buffer.add_dropped(5)
    assert buffer.dropped == 200 * 97 - 1000 + 5
    buffer.clear()
    assert len(buffer) == 0 and buffer.dropped == 0 and list(buffer.extend(lines(1))) == [0]


def test_queue_is_bounded_and_reports_drops_once():
    queue = LineQueue(capacity=4)
    queue.put(lines(3))
    queue.put(lines(3, start=3))
    drained, dropped = queue.drain()
    assert [line.text for line in drained] == ["line 2", "line 3", "line 4", "line 5"]
    assert dropped == 2
    assert queue.drain() == ([], 0)


def test_queue_takes_lines_from_many_threads():
    queue = LineQueue(capacity=100_000)

    def writer(pod: str) -> None:
        for i in range(100):
            queue.put(lines(10, start=i * 10, pod=pod))

    threads = [threading.Thread(target=writer, args=(f"pod-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained, dropped = queue.drain()
    assert dropped == 0 and len(drained) == 8 * 1000
    for n in range(8):  # each writer's lines stay in order
        texts = [line.text for line in drained if line.pod == f"pod-{n}"]
        assert texts == [f"line {i}" for i in range(1000)]


def test_sanitize_removes_escapes_and_shows_controls():
    assert sanitize("plain text") == "plain text"
    assert sanitize("\x1b[31mred\x1b[0m and \x1b]0;title\x07done") == "red and done"
    assert sanitize("a\tb") == "a       b"
    assert sanitize("bell\x07!") == "bell\ufffd!"
    assert sanitize("grüße ✓") == "grüße ✓"


def test_search_is_smart_case():
    assert find_spans("Error: error ERROR", "error") == [(0, 5), (7, 12), (13, 18)]
    assert find_spans("Error: error ERROR", "Error") == [(0, 5)]
    assert find_spans("aaaa", "aa") == [(0, 2), (2, 4)]
    assert find_spans("anything", "") == []


def test_filter_includes_excludes_and_keeps_markers():
    keep = TextFilter.parse("GET")
    hide = TextFilter.parse("!health")
    assert TextFilter.parse("  ") is None and TextFilter.parse("!") is None
    assert str(hide) == "!health" and hide.exclude
    get = LogLine("web-1", "c", "GET /index")
    probe = LogLine("web-1", "c", "GET /health")
    post = LogLine("web-1", "c", "POST /form")
    gone = marker("pod web-1 gone")
    assert [keep.keeps(x) for x in (get, probe, post, gone)] == [True, True, False, True]
    assert [hide.keeps(x) for x in (get, probe, post, gone)] == [True, False, True, True]
    assert TextFilter.parse("web-2").keeps(LogLine("web-2", "c", "x"))  # matches the pod name


def test_plain_format_and_saving(tmp_path):
    line = LogLine("web-1", "app", "hello", "2024-01-02T03:04:05.5Z")
    assert format_plain(line, prefix=False, with_container=False, timestamps=False) == "hello"
    assert format_plain(line, prefix=True, with_container=True, timestamps=True) == \
        "web-1/app 2024-01-02T03:04:05.5Z hello"
    assert format_plain(line, prefix=True, with_container=False, timestamps=False) == "web-1 hello"
    path = default_save_path("deployment/web", datetime(2024, 1, 2, 3, 4, 5), str(tmp_path))
    assert path.endswith("kdash-logs-deployment-web-20240102-030405.log")
    assert save_lines(path, ["a", "", "b"]) == 3
    assert open(path, encoding="utf-8").read() == "a\n\nb\n"


def test_log_lines_are_never_walked_by_the_collector():
    import gc

    kept = [LogLine("p", "c", f"line {i}", "2026-12-07T00:00:00Z", 1) for i in range(3)] + [marker("pod p gone")]
    assert not any(gc.is_tracked(line) for line in kept)
    assert kept[0] == LogLine("p", "c", "line 0", "2026-12-07T00:00:00Z", 1) and kept[3].marker
