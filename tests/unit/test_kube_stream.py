"""Watch stream handling without a server: line splitting and applying event batches."""

from __future__ import annotations

import json
import threading

import pytest

from kdash.core.kinds import POD
from kdash.kube.reflector import Backoff, LineSplitter, Reflector, WatchErrorEvent, WatchExpired
from kdash.kube.store import Store


def event(kind: str, name: str, rv: str, **extra) -> bytes:
    obj = {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv,
                        "uid": f"uid-{name}", **extra}}
    return json.dumps({"type": kind, "object": obj}).encode()


def test_line_split_across_chunks_is_reassembled():
    splitter = LineSplitter()
    line = event("ADDED", "a", "1")
    assert splitter.feed(line[:7]) == []
    assert splitter.feed(line[7:20]) == []
    assert splitter.feed(line[20:] + b"\n") == [line]


def test_several_lines_in_one_chunk_and_a_partial_tail():
    splitter = LineSplitter()
    first, second, third = (event("ADDED", name, rv) for name, rv in (("a", "1"), ("b", "2"), ("c", "3")))
    chunk = first + b"\n" + second + b"\n" + third[:5]
    assert splitter.feed(chunk) == [first, second]
    assert splitter.feed(third[5:] + b"\n") == [third]


def test_blank_lines_are_skipped_and_the_last_unterminated_line_is_flushed():
    splitter = LineSplitter()
    line = event("DELETED", "a", "4")
    assert splitter.feed(b"\n\n  \n") == []
    assert splitter.feed(line) == []
    assert splitter.flush() == line
    assert splitter.flush() is None


def test_multibyte_utf8_split_inside_a_character():
    splitter = LineSplitter()
    line = json.dumps({"type": "ADDED", "object": {"data": {"k": "grüße ✓"}}},
                      ensure_ascii=False).encode()
    cut = line.index("✓".encode()) + 1  # in the middle of the 3-byte character
    assert splitter.feed(line[:cut]) == []
    (whole,) = splitter.feed(line[cut:] + b"\n")
    assert json.loads(whole)["object"]["data"]["k"] == "grüße ✓"


@pytest.fixture
def reflector() -> Reflector:
    """A reflector that is never started: apply_lines is exercised directly."""
    changes: list[str] = []
    reflector = Reflector(None, POD, "ns", Store(), changes.append, threading.Event())
    reflector.changes = changes  # type: ignore[attr-defined]
    return reflector


def test_a_batch_is_applied_with_one_on_change(reflector):
    reflector.apply_lines([event("ADDED", "a", "10"), event("ADDED", "b", "11"),
                           event("MODIFIED", "a", "12"), event("DELETED", "b", "13")])
    pods = reflector.store.list("Pod")
    assert [p["metadata"]["name"] for p in pods] == ["a"]
    assert pods[0]["metadata"]["resourceVersion"] == "12"
    assert pods[0]["kind"] == "Pod" and pods[0]["apiVersion"] == "v1"
    assert reflector.changes == ["Pod"]
    assert reflector.resource_version == "13"


def test_managed_fields_are_dropped_on_the_way_in(reflector):
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"}
    reflector.apply_lines([event("ADDED", "a", "1", managedFields=[{"manager": "kubectl"}],
                                 annotations=annotations)])
    metadata = reflector.store.get("Pod", "ns", "a")["metadata"]
    assert "managedFields" not in metadata
    assert metadata["annotations"] == {"keep": "me"}


def test_bookmark_moves_the_resource_version_only(reflector):
    bookmark = json.dumps({"type": "BOOKMARK", "object": {"kind": "Pod",
                                                          "metadata": {"resourceVersion": "77"}}})
    reflector.apply_lines([bookmark])
    assert reflector.resource_version == "77"
    assert reflector.store.list("Pod") == []
    assert reflector.changes == []


def test_error_410_applies_what_came_before_then_asks_for_a_relist(reflector):
    expired = json.dumps({"type": "ERROR", "object": {
        "kind": "Status", "code": 410, "reason": "Expired",
        "message": "too old resource version: 1 (500)"}})
    with pytest.raises(WatchExpired):
        reflector.apply_lines([event("ADDED", "a", "5"), expired, event("ADDED", "b", "6")])
    assert [p["metadata"]["name"] for p in reflector.store.list("Pod")] == ["a"]


def test_other_error_events_are_reported(reflector):
    internal = json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 500,
                                                       "message": "boom"}})
    with pytest.raises(WatchErrorEvent) as info:
        reflector.apply_lines([internal])
    assert info.value.status["code"] == 500


def test_stopped_reflector_writes_nothing(reflector):
    reflector.stop_event.set()
    reflector.apply_lines([event("ADDED", "a", "1")])
    assert reflector.store.list("Pod") == []
    assert reflector.changes == []


def test_backoff_doubles_with_jitter_up_to_the_cap():
    backoff = Backoff(0.5, 10.0)
    delays = [backoff.next() for _ in range(8)]
    assert 0.37 <= delays[0] <= 0.63
    assert 0.75 <= delays[1] <= 1.25
    assert all(d <= 10.0 for d in delays)
    assert delays[-1] >= 7.5
    backoff.reset()
    assert backoff.next() <= 0.63
