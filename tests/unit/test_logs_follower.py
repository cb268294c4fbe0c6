"""The multi-pod follower against an in-memory Store and fake streams: attach, detach, restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kdash.kube.store import Store
from kdash.logs.buffer import LineQueue, LogLine
from kdash.logs.follower import (
    Follower,
    LogSource,
    container_instance,
    select_pods,
)
from kdash.logs.stream import LogOptions, Target

REPO = Path(__file__).resolve().parents[2]


class FakeStream:
    def __init__(self, target: Target, options: LogOptions, sink):
        self.target, self.options, self.sink = target, options, sink
        self.started = self.stopped = False

    def start(self):
        self.started = True
        return self

    def stop(self):
        self.stopped = True

    @property
    def done(self) -> bool:
        return self.stopped

    def say(self, text: str) -> None:
        self.sink([LogLine(self.target.pod, self.target.container, text, "", self.target.color)])


class Factory:
    def __init__(self):
        self.streams: list[FakeStream] = []

    def __call__(self, target, options, sink):
        stream = FakeStream(target, options, sink)
        self.streams.append(stream)
        return stream

    def live(self) -> dict[tuple[str, str], FakeStream]:
        return {(s.target.pod, s.target.container): s for s in self.streams if not s.stopped}


def owner_ref(kind: str, name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}


def obj(kind: str, name: str, rv: str = "1", owner: dict | None = None, labels=None, **body) -> dict:
    metadata = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": rv,
                "labels": labels or {}, "creationTimestamp": f"2024-01-01T00:00:{len(name):02d}Z"}
    if owner:
        metadata["ownerReferences"] = [owner]
    return {"kind": kind, "metadata": metadata, **body}


def pod(name: str, rs: str | None = None, containers=("app",), started=True, rv="1", labels=None,
        restarts: int = 0, init=()) -> dict:
    statuses = []
    for c in containers:
        status = {"name": c, "restartCount": restarts, "state": {"running": {}} if started else
                  {"waiting": {"reason": "ContainerCreating"}}}
        if started:
            status["containerID"] = f"containerd://{name}-{c}-{restarts}"
        if restarts:
            status["lastState"] = {"terminated": {"containerID": f"containerd://{name}-{c}-{restarts - 1}"}}
        statuses.append(status)
    spec = {"containers": [{"name": c} for c in containers], "initContainers": [{"name": c} for c in init]}
    return obj("Pod", name, rv, owner_ref("ReplicaSet", rs) if rs else None, labels=labels,
               spec=spec, status={"phase": "Running" if started else "Pending", "containerStatuses": statuses})


def deployment_store() -> Store:
    store = Store()
    store.upsert("Deployment", obj("Deployment", "web"))
    store.upsert("ReplicaSet", obj("ReplicaSet", "web-1", owner=owner_ref("Deployment", "web")))
    for name in ("web-1-a", "web-1-b"):
        store.upsert("Pod", pod(name, "web-1", labels={"app": "web"}))
    return store


def follower(source: LogSource, **kwargs) -> tuple[Follower, Factory, LineQueue]:
    factory, queue = Factory(), LineQueue(1000)
    return Follower(source, factory, queue.put, **kwargs), factory, queue


def markers(queue: LineQueue) -> list[str]:
    return [line.text for line in queue.drain()[0] if line.marker]


def test_select_pods_for_each_kind():
    store = deployment_store()
    store.upsert("Pod", pod("other", labels={"app": "other"}))
    store.upsert("Service", obj("Service", "web-svc", spec={"selector": {"app": "web"}}))
    names = lambda pods: sorted(p["metadata"]["name"] for p in pods)  # noqa: E731
    assert names(select_pods(store, LogSource("Deployment", "ns", "web"))) == ["web-1-a", "web-1-b"]
    assert names(select_pods(store, LogSource("ReplicaSet", "ns", "web-1"))) == ["web-1-a", "web-1-b"]
    assert names(select_pods(store, LogSource("Service", "ns", "web-svc"))) == ["web-1-a", "web-1-b"]
    assert names(select_pods(store, LogSource("Pod", "ns", "other"))) == ["other"]
    assert select_pods(store, LogSource("Deployment", "ns", "nope")) is None
    with pytest.raises(ValueError):
        LogSource("ConfigMap", "ns", "x")


def test_container_instance_follows_restarts_and_previous():
    running = pod("p", restarts=2)
    assert container_instance(running, "app") == "containerd://p-app-2"
    assert container_instance(running, "app", previous=True) == "containerd://p-app-1"
    assert container_instance(pod("q"), "app", previous=True) == ""
    assert container_instance(pod("r", started=False), "app") == ""
    assert container_instance(running, "missing") == ""


def test_deployment_rollout_attaches_new_pods_and_detaches_old_ones():
    store = deployment_store()
    f, factory, queue = follower(LogSource("Deployment", "ns", "web"))
    status = f.sync(store)
    assert set(factory.live()) == {("web-1-a", "app"), ("web-1-b", "app")}
    assert (status.pods, status.attached, f.live_streams) == (2, 2, 2)
    assert markers(queue) == []  # the first attach is not news

    # The rollout: a new ReplicaSet whose first pod is Pending, then Running.
    store.upsert("ReplicaSet", obj("ReplicaSet", "web-2", owner=owner_ref("Deployment", "web")))
    store.upsert("Pod", pod("web-2-a", "web-2", started=False))
    status = f.sync(store)
    assert status.pending == 1 and ("web-2-a", "app") not in factory.live()
    store.upsert("Pod", pod("web-2-a", "web-2", rv="2"))
    f.sync(store)
    assert ("web-2-a", "app") in factory.live()
    assert markers(queue) == ["— pod web-2-a attached —"]

    old = factory.live()[("web-1-a", "app")]
    store.delete("Pod", pod("web-1-a"))
    store.delete("Pod", pod("web-1-b"))
    store.upsert("Pod", pod("web-2-b", "web-2"))
    status = f.sync(store)
    assert set(factory.live()) == {("web-2-a", "app"), ("web-2-b", "app")}
    assert old.stopped
    assert markers(queue) == ["— pod web-1-a gone —", "— pod web-1-b gone —", "— pod web-2-b attached —"]
    assert (status.pods, status.attached, status.pending) == (2, 2, 0)


def test_lines_of_a_detached_stream_never_arrive_and_colours_are_per_pod():
    store = deployment_store()
    f, factory, queue = follower(LogSource("Deployment", "ns", "web"))
    f.sync(store)
    a, b = factory.live()[("web-1-a", "app")], factory.live()[("web-1-b", "app")]
    assert a.target.color != b.target.color
    a.say("hello")
    store.delete("Pod", pod("web-1-a"))
    f.sync(store)
    a.say("too late")  # a thread that was mid-read when the pod went
    b.say("still here")
    texts = [line.text for line in queue.drain()[0]]
    assert texts == ["hello", "— pod web-1-a gone —", "still here"]


def test_restarted_container_gets_a_new_stream():
    store = Store()
    store.upsert("Pod", pod("p"))
    f, factory, queue = follower(LogSource("Pod", "ns", "p"))
    f.sync(store)
    first = factory.live()[("p", "app")]
    store.upsert("Pod", pod("p", restarts=1, rv="2"))
    f.sync(store)
    second = factory.live()[("p", "app")]
    assert first.stopped and second is not first
    assert second.target.instance == "containerd://p-app-1"
    assert markers(queue) == ["— p/app restarted —"]
    f.sync(store)  # no change: no new stream
    assert len(factory.streams) == 2


def test_container_choice_previous_and_restart_options():
    store = Store()
    store.upsert("Pod", pod("p", containers=("app", "sidecar"), init=("setup",)))
    f, factory, queue = follower(LogSource("Pod", "ns", "p"))
    status = f.sync(store)
    assert set(factory.live()) == {("p", "app"), ("p", "sidecar")}  # init containers only on request
    assert status.multi_container and status.containers == ("app", "sidecar", "setup")

    f.restart(container="sidecar")
    assert factory.live() == {}
    f.sync(store)
    assert set(factory.live()) == {("p", "sidecar")}

    f.restart(LogOptions(previous=True, tail_lines=None))
    f.sync(store)
    assert factory.live() == {}  # nothing terminated yet
    assert markers(queue) == ["— p/sidecar: no previous (terminated) container —"]
    f.sync(store)
    assert markers(queue) == []  # said once
    store.upsert("Pod", pod("p", containers=("app", "sidecar"), restarts=1, rv="2"))
    f.sync(store)
    [stream] = factory.live().values()
    assert stream.options.previous and stream.target.instance == "containerd://p-sidecar-0"


def test_lines_from_before_a_restart_are_dropped():
    store = deployment_store()
    f, factory, queue = follower(LogSource("ReplicaSet", "ns", "web-1"))
    f.sync(store)
    old = factory.live()[("web-1-a", "app")]
    f.restart(LogOptions(since_seconds=60))
    queue.clear()
    old.say("stale")
    f.sync(store)
    new = factory.live()[("web-1-a", "app")]
    new.say("fresh")
    assert [line.text for line in queue.drain()[0]] == ["fresh"]
    assert new.options.since_seconds == 60


def test_missing_source_is_reported_once_and_limit_caps_streams():
    store = deployment_store()
    f, _, queue = follower(LogSource("Deployment", "ns", "gone"))
    assert not f.sync(store).found
    f.sync(store)
    assert markers(queue) == ["— deployment/gone not found in namespace ns —"]

    f, factory, queue = follower(LogSource("Deployment", "ns", "web"), max_streams=1)
    status = f.sync(store)
    assert len(factory.live()) == 1 and status.over_limit == 1
    assert markers(queue) == ["— 1 containers not followed (limit 1 streams) —"]


def test_followed_pod_deleted_says_gone_once_and_stop_silences_everything():
    store = Store()
    store.upsert("Pod", pod("p"))
    f, factory, queue = follower(LogSource("Pod", "ns", "p"))
    f.sync(store)
    store.delete("Pod", pod("p"))
    status = f.sync(store)
    assert not status.found and factory.live() == {}
    assert markers(queue) == ["— pod p gone —"]
    store.upsert("Pod", pod("p", rv="5"))  # recreated under the same name
    f.sync(store)
    assert markers(queue) == ["— pod p attached —"]
    live = factory.live()[("p", "app")]
    f.stop()
    live.say("after stop")
    assert live.stopped and queue.drain()[0] == []
    f.sync(store)
    assert factory.live() == {}


def test_logs_core_does_not_import_textual():
    code = "import kdash.logs, sys; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "kdash.logs.follower" in loaded and "kdash.logs.stream" in loaded
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
