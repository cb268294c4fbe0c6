"""Log streams and the follower against the real control plane, with kubectl as the oracle."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

import pytest

from devcluster.fake_kubelet import CRASHLOOP, IMAGE_PULL_ERROR, LOG_RATE
from devcluster.testing import wait_for
from kdash.kube.client import Connection
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher
from kdash.logs.buffer import LineQueue, LogLine, RingBuffer
from kdash.logs.follower import Follower, LogSource
from kdash.logs.stream import FAILED, STOPPED, ContainerStream, LogOptions, Target, api_opener, stream_factory
from kdash.logs.text import format_plain


@pytest.fixture
def watched(connection, namespace):
    """A Store kept in sync with the test namespace, like the app's."""
    store = Store()
    watcher = Watcher(connection, namespace, store=store, watch_timeout=30).start()
    yield store
    watcher.stop()


def apply(kubectl, namespace: str, *docs: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def pod_doc(name: str, annotations: dict, containers=("c",)) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
            "spec": {"containers": [{"name": c, "image": "busybox:1.36"} for c in containers]}}


def deployment_doc(name: str, replicas: int, image: str, rate: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": {"labels": labels, "annotations": {LOG_RATE: rate}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


def running(kubectl, namespace: str, name: str) -> dict:
    def check():
        pod = json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or []
        return pod if statuses and all("running" in (s.get("state") or {}) for s in statuses) else None
    return wait_for(check, timeout=60, message=f"pod {name} running")


def read_log(connection: Connection, namespace: str, pod: str, container: str,
             options: LogOptions) -> list[LogLine]:
    """One non-follow read through ContainerStream, like `kubectl logs` without -f."""
    lines: list[LogLine] = []
    stream = ContainerStream(api_opener(connection.api_client), Target(namespace, pod, container),
                             options, lines.extend).start()
    assert stream.join(30), "the log read did not finish"
    return lines


def plain(lines: list[LogLine], timestamps: bool = False) -> list[str]:
    return [format_plain(line, prefix=False, with_container=False, timestamps=timestamps) for line in lines]


def same_as_kubectl(ours: Callable[[], list[str]], theirs: Callable[[], list[str]], attempts: int = 8) -> list[str]:
    """Compare while the log stands still: kubectl, ours, kubectl again; equal kubectl reads bracket ours."""
    for _ in range(attempts):
        before = theirs()
        mine = ours()
        after = theirs()
        if before == after:
            assert mine == before
            return mine
    raise AssertionError("the log never stood still long enough to compare")


def line_numbers(lines: list[LogLine]) -> list[int]:
    return [int(line.text.rsplit(" ", 1)[1]) for line in lines if not line.marker]


def test_pod_logs_equal_kubectl_logs_for_each_container(connection, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("talker", {LOG_RATE: "2"}, containers=("app", "side")))
    running(kubectl, namespace, "talker")
    wait_for(lambda: len(kubectl("logs", "-n", namespace, "talker", "-c", "side").splitlines()) >= 4,
             timeout=30, message="some lines")
    for container in ("app", "side"):
        for tail in (None, 3):
            options = LogOptions(follow=False, tail_lines=tail)
            args = ["logs", "-n", namespace, "talker", "-c", container] + ([f"--tail={tail}"] if tail else [])
            got = same_as_kubectl(lambda: plain(read_log(connection, namespace, "talker", container, options)),
                                  lambda: kubectl(*args).splitlines())
            assert got and all(line.startswith(f"talker {container} line ") for line in got)
            assert len(got) == 3 if tail else len(got) >= 4


def test_timestamps_and_since_are_passed_through(connection, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("clock", {LOG_RATE: "2"}))
    running(kubectl, namespace, "clock")
    wait_for(lambda: len(kubectl("logs", "-n", namespace, "clock").splitlines()) >= 12, timeout=30,
             message="six seconds of lines")
    stamped = same_as_kubectl(
        lambda: plain(read_log(connection, namespace, "clock", "c", LogOptions(follow=False, tail_lines=5)), True),
        lambda: kubectl("logs", "-n", namespace, "clock", "--timestamps", "--tail=5").splitlines())
    assert all(re.fullmatch(r"\S+Z clock c line \d+", line) for line in stamped)
    since = same_as_kubectl(
        lambda: plain(read_log(connection, namespace, "clock", "c",
                               LogOptions(follow=False, tail_lines=None, since_seconds=3))),
        lambda: kubectl("logs", "-n", namespace, "clock", "--since=3s").splitlines())
    everything = kubectl("logs", "-n", namespace, "clock").splitlines()
    assert 4 <= len(since) <= 8 < len(everything)  # about 3 s of a 2 lines/s log


def test_previous_container_log_equals_kubectl_previous(connection, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("crash", {CRASHLOOP: "6", LOG_RATE: "5"}))

    def restarted():
        pod = json.loads(kubectl("get", "pod", "crash", "-n", namespace, "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0) >= 1
    wait_for(restarted, timeout=60, message="a restart")
    options = LogOptions(previous=True, tail_lines=None)
    got = same_as_kubectl(lambda: plain(read_log(connection, namespace, "crash", "c", options)),
                          lambda: kubectl("logs", "-n", namespace, "crash", "--previous").splitlines())
    assert got and all(re.fullmatch(r"crash c (restart \d+ )?line \d+", line) for line in got)


def test_errors_end_with_one_marker_and_no_retries(connection, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("quiet", {LOG_RATE: "1"}), pod_doc("broken", {IMAGE_PULL_ERROR: "true"}))
    running(kubectl, namespace, "quiet")
    wait_for(lambda: kubectl("get", "pod", "broken", "-n", namespace, "-o", "jsonpath={.status.phase}") == "Pending",
             timeout=30, message="a pending pod")
    cases = {
        ("quiet", "c", True): "previous terminated container",
        ("broken", "c", False): "waiting to start",
        ("no-such-pod", "c", False): "not found",
    }
    for (pod, container, previous), expected in cases.items():
        lines: list[LogLine] = []
        stream = ContainerStream(api_opener(connection.api_client), Target(namespace, pod, container),
                                 LogOptions(previous=previous), lines.extend).start()
        assert stream.join(10)
        time.sleep(0.3)
        assert stream.state == FAILED and stream.requests == 1
        [note] = lines
        assert note.marker and expected in note.text, note.text


def test_follow_receives_new_lines_without_gaps_and_stops_fast(connection, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("follow", {LOG_RATE: "10"}))
    running(kubectl, namespace, "follow")
    lines: list[LogLine] = []
    lock = threading.Lock()

    def sink(batch):
        with lock:
            lines.extend(batch)

    stream = ContainerStream(api_opener(connection.api_client), Target(namespace, "follow", "c"),
                             LogOptions(tail_lines=1), sink).start()
    first = wait_for(lambda: line_numbers(lines)[:1], timeout=20, message="the tail line")[0]
    wait_for(lambda: len(lines) >= 25, timeout=20, message="25 followed lines")
    started = time.monotonic()
    stream.stop()
    assert stream.join(1.0) and time.monotonic() - started < 1.0
    assert stream.state == STOPPED
    numbers = line_numbers(lines)
    assert numbers == list(range(first, first + len(numbers)))  # no gaps, no repeats
    count = len(lines)
    time.sleep(0.5)
    assert len(lines) == count  # nothing after stop


def pump(follower: Follower, store: Store, until: Callable[[], object], timeout: float, message: str):
    """Re-sync the follower on store changes (what the logs screen's timer does) until `until()`."""
    version = None

    def step():
        nonlocal version
        if store.version() != version:
            version = store.version()
            follower.sync(store)
        return until()

    return wait_for(step, timeout=timeout, interval=0.05, message=message)


def test_rolling_update_moves_the_deployment_follower_to_the_new_pods(connection, watched, kubectl, namespace):
    apply(kubectl, namespace, deployment_doc("web", 2, "nginx:1.19", rate="5"))
    queue = LineQueue(100_000)
    follower = Follower(LogSource("Deployment", namespace, "web"), stream_factory(connection.api_client),
                        queue.put, LogOptions(tail_lines=2))
    received: list[LogLine] = []

    def drained() -> list[LogLine]:
        received.extend(queue.drain()[0])
        return received

    def lines_from(pods) -> bool:
        return set(pods) <= {line.pod for line in drained() if not line.marker}

    def reported_gone(pods) -> bool:
        notes = {line.text for line in drained() if line.marker}
        return all(f"— pod {p} gone —" in notes for p in pods)

    def pods_of(image: str) -> set[str]:
        items = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json"))["items"]
        return {p["metadata"]["name"] for p in items if p["spec"]["containers"][0]["image"] == image
                and not p["metadata"].get("deletionTimestamp")}

    try:
        old = pump(follower, watched, lambda: (lambda s: s if len(s) == 2 and
                   {t.pod for t in follower.targets} == s else None)(pods_of("nginx:1.19")),
                   timeout=60, message="two pods attached")
        pump(follower, watched, lambda: lines_from(old), timeout=30, message="lines from both pods")
        assert follower.live_streams == 2

        kubectl("set", "image", "deployment/web", "app=nginx:1.20", "-n", namespace)
        new = pump(follower, watched, lambda: (lambda s: s if len(s) == 2 and
                   {t.pod for t in follower.targets} == s and not (s & old) else None)(pods_of("nginx:1.20")),
                   timeout=90, message="the follower on the two new pods only")
        pump(follower, watched, lambda: lines_from(new), timeout=30, message="lines from the new pods")
        # Old pods may linger while terminating; the follower lets them go once they are deleted.
        pump(follower, watched, lambda: reported_gone(old), timeout=60, message="old pods reported gone")
        notes = [line.text for line in received if line.marker]
        assert all(f"— pod {p} attached —" in notes for p in new)
        gone_at = max(i for i, line in enumerate(received) if line.marker and "gone" in line.text)
        late = [line for line in received[gone_at + 1:] if line.pod in old and not line.marker]
        assert late == []  # nothing from a pod after it was reported gone
        assert follower.status.pods == 2 and follower.status.attached == 2
    finally:
        follower.stop()


def test_buffer_bound_holds_under_a_flood(connection, watched, kubectl, namespace):
    apply(kubectl, namespace, pod_doc("flood", {LOG_RATE: "2000"}))
    running(kubectl, namespace, "flood")
    capacity = 5000
    queue, buffer = LineQueue(capacity), RingBuffer(capacity)
    follower = Follower(LogSource("Pod", namespace, "flood"), stream_factory(connection.api_client),
                        queue.put, LogOptions(tail_lines=0))
    pump(follower, watched, lambda: follower.live_streams == 1, timeout=30, message="the stream")
    rss: list[int] = []
    numbers: list[int] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < 8:
            lines, dropped = queue.drain()
            buffer.add_dropped(dropped)
            buffer.extend(lines)
            numbers.extend(line_numbers(lines))
            rss.append(_rss_bytes())
            time.sleep(0.05)  # the screen drains 20 times a second
    finally:
        follower.stop()
    elapsed = time.monotonic() - started
    rate = len(numbers) / elapsed
    assert len(buffer) == capacity
    assert buffer.dropped == len(numbers) - capacity  # every line that fell off is counted
    assert rate > 1000, f"only {rate:.0f} lines/s"
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # queue kept up: no gaps
    # Memory: after the first second the buffer is full; from then on RSS stays flat.
    settled = rss[len(rss) // 4:]
    assert max(settled) - min(settled) < 16 * 1024 * 1024, (min(settled), max(settled))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096
