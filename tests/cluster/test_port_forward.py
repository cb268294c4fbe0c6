"""Port-forward through the real API server to the fake kubelet: Pods, Services across a rollout, failures, the gate."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest

from devcluster.cluster import free_port
from devcluster.fake_kubelet import NEVER_READY
from devcluster.testing import open_sockets, service_account_kubeconfig, wait_for
from kdash.actions.port_forward import Forwards
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.errors import KdashError
from kdash.kube.client import connect, get_json
from kdash.kube.portforward import ACTIVE, FAILED, PortForward, suggest_local_port, wait_state


def _apply(kubectl, namespace: str, *docs: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def _web(name: str, replicas: int = 1, annotations: dict | None = None) -> list[dict]:
    labels = {"app": name}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels, "annotations": annotations or {}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.19",
                                                        "ports": [{"name": "http", "containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    ]


def _ready_endpoints(kubectl, namespace: str, name: str, count: int = 1) -> list[str]:
    def ready():
        # The endpoints controller creates the object a moment after the Service: not found = not yet.
        out = kubectl("get", "endpoints", name, "-n", namespace, "-o", "json", "--ignore-not-found")
        if not out.strip():
            return None
        ep = json.loads(out)
        names = [a["targetRef"]["name"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        return names if len(names) >= count else None
    return wait_for(ready, timeout=60, message=f"{count} ready endpoints of {name}")


def _get(port: int, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as response:
        return response.read().decode()


def _forward_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("kdash-forward")]



@pytest.fixture
def forwards(connection, tmp_path):
    manager = Forwards(WriteContext.for_connection(connection, audit=AuditLog(tmp_path / "audit.log")))
    yield manager
    manager.stop_all()
    assert _forward_threads() == []


def test_pod_forward_answers_and_counts(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web"))
    pod = _ready_endpoints(kubectl, namespace, "web")[0]
    port = free_port()
    forward = forwards.start(namespace, "Pod", pod, 8080, port)
    assert _get(port) == f"pod {pod} port 8080\n"
    assert _get(port) == f"pod {pod} port 8080\n"
    status = forward.status()
    assert (status.state, status.pod, status.local) == (ACTIVE, pod, f"127.0.0.1:{port}")
    assert status.connections == 2 and status.bytes_in > 0 and status.bytes_out > 0

    final = forwards.stop(f"127.0.0.1:{port}")
    assert final.state == "stopped"
    assert _forward_threads() == []
    with pytest.raises(OSError):
        _get(port, timeout=1)
    start, stop = forwards.ctx.audit.lines()[-2:]
    assert (start["verb"], start["object"], start["result"]) == ("port-forward", f"Pod/{namespace}/{pod}", "ok")
    assert start["detail"].startswith(f"start 127.0.0.1:{port} -> port 8080")
    assert stop["detail"].startswith(f"stop 127.0.0.1:{port}: 2 connections")


def test_pod_forward_says_when_its_pod_is_gone(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web"))
    pod = _ready_endpoints(kubectl, namespace, "web")[0]
    port = free_port()
    forward = forwards.start(namespace, "Pod", pod, 8080, port)
    assert _get(port).startswith(f"pod {pod}")
    kubectl("delete", "pod", pod, "-n", namespace, "--wait=false")
    status = wait_state(forward, FAILED, timeout=20)
    assert status.state == FAILED
    assert pod in status.reason and ("terminating" in status.reason or "not found" in status.reason)


def test_service_forward_survives_a_rollout_on_the_same_port(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web"))
    first = _ready_endpoints(kubectl, namespace, "web")[0]
    port = free_port()
    forward = forwards.start(namespace, "Service", "web", 80, port)
    assert _get(port) == f"pod {first} port 8080\n"

    answers: list[tuple[float, str | None]] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            try:
                answers.append((time.monotonic(), _get(port, timeout=2)))
            except OSError:
                answers.append((time.monotonic(), None))
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        kubectl("rollout", "restart", "deployment/web", "-n", namespace)
        kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
        wait_for(lambda: not json.loads(kubectl("get", "pods", "-n", namespace, "--field-selector",
                                                f"metadata.name={first}", "-o", "json"))["items"],
                 timeout=30, message=f"old pod {first} gone")
        time.sleep(2)
    finally:
        done.set()
        prober.join()
    last = _get(port)
    assert first not in last and last.endswith("port 8080\n")
    assert forward.local == f"127.0.0.1:{port}"
    # The longest stretch without an answer, reported for the note.
    gap, down_since = 0.0, None
    for at, answer in answers:
        if answer is None and down_since is None:
            down_since = at
        elif answer is not None and down_since is not None:
            gap, down_since = max(gap, at - down_since), None
    failures = sum(1 for _, a in answers if a is None)
    pods = sorted({a.split()[1] for _, a in answers if a})
    print(f"\nrollout: {len(answers)} requests over {answers[-1][0] - answers[0][0]:.1f} s, "
          f"{failures} failed, longest unavailable {gap:.2f} s, pods {pods}")
    assert gap < 5.0
    assert forward.status().state == ACTIVE


def test_service_forward_fails_without_ready_pods_and_recovers(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web", annotations={NEVER_READY: "true"}))
    wait_for(lambda: json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json"))["items"],
             message="a pod")
    port = free_port()
    forward = forwards.start(namespace, "Service", "web", 80, port)
    status = forward.status()
    assert status.state == FAILED
    assert status.reason == f"no ready pod behind service {namespace}/web port 80"
    with pytest.raises(OSError):
        _get(port, timeout=2)  # accepted, then closed: nothing answers
    _apply(kubectl, namespace, *_web("web"))  # a rollout to pods that get ready
    assert wait_state(forward, ACTIVE, timeout=60).state == ACTIVE
    assert _get(port).endswith("port 8080\n")


def test_readonly_refuses_forward_with_an_audit_line(connection, namespace, tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    forwards = Forwards(WriteContext.for_connection(connection, readonly=True, audit=audit))
    port = free_port()
    with pytest.raises(ReadOnlyError):
        forwards.start(namespace, "Service", "web", 80, port)
    line = audit.lines()[-1]
    assert (line["verb"], line["object"], line["result"]) == ("port-forward", f"Service/{namespace}/web", "refused")
    assert forwards.list() == [] and _forward_threads() == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nothing was bound



def test_bad_input_leaves_nothing_open(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web"))
    _ready_endpoints(kubectl, namespace, "web")
    get_json(forwards.ctx.api_client, f"/api/v1/namespaces/{namespace}/services/web")  # warm the pool
    before = open_sockets()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(KdashError) as caught:
            forwards.start(namespace, "Service", "web", 80, port)
        assert caught.value.title == "Port in use" and str(port) in caught.value.message
    for remote, local in ((80, 70000), (0, 8080), (80, -1)):
        with pytest.raises(KdashError) as caught:
            forwards.start(namespace, "Service", "web", remote, local)
        assert caught.value.title == "Invalid port" and "out of range" in caught.value.message
    with pytest.raises(KdashError) as caught:
        forwards.start(namespace, "Service", "web", 81, free_port())
    assert caught.value.title == "No such port" and "ports: 80" in caught.value.message
    with pytest.raises(KdashError) as caught:
        forwards.start(namespace, "Service", "nope", 80, free_port())
    assert caught.value.title == "Not found"
    assert open_sockets() == before
    assert forwards.list() == [] and _forward_threads() == []
    results = [line["result"] for line in forwards.ctx.audit.lines()]
    assert results == ["error"] * 6


def test_suggested_local_port_skips_a_taken_one():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        suggested = suggest_local_port(port)
    assert suggested > port
    assert suggest_local_port(80) >= 8080  # a privileged remote port maps above 1023


def test_service_forward_moves_when_its_pod_is_deleted(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web", replicas=2))
    _ready_endpoints(kubectl, namespace, "web", count=2)
    port = free_port()
    forward = forwards.start(namespace, "Service", "web", 80, port)
    used = forward.status().pod
    assert _get(port) == f"pod {used} port 8080\n"
    kubectl("delete", "pod", used, "-n", namespace, "--wait=false")
    started, failures = time.monotonic(), 0
    while True:
        try:
            answer = _get(port)
        except OSError:
            failures += 1
            answer = ""
        if answer and used not in answer:
            break
        assert time.monotonic() - started < 20, "the forward never moved to the other pod"
        time.sleep(0.05)
    print(f"\ndelete: moved to {forward.status().pod} after {time.monotonic() - started:.2f} s, "
          f"{failures} failed requests")
    assert forward.status().state == ACTIVE and forward.local == f"127.0.0.1:{port}"


def test_service_forward_recovers_after_a_recreate_rollout(kubectl, namespace, forwards):
    """Recreate stops every old pod before a new one starts: a real outage, then the same port answers again."""
    docs = _web("web")
    docs[0]["spec"]["strategy"] = {"type": "Recreate"}
    _apply(kubectl, namespace, *docs)
    first = _ready_endpoints(kubectl, namespace, "web")[0]
    port = free_port()
    forward = forwards.start(namespace, "Service", "web", 80, port)
    kubectl("rollout", "restart", "deployment/web", "-n", namespace)
    started, down_at, states = time.monotonic(), None, set()
    while True:
        states.add(forward.status().state)
        try:
            answer = _get(port, timeout=2)
        except OSError:
            answer = ""
            down_at = down_at or time.monotonic()
        if answer and first not in answer:
            break
        assert time.monotonic() - started < 60, "the forward never reached the new pod"
        time.sleep(0.05)
    back = time.monotonic()
    print(f"\nrecreate: unavailable {back - down_at if down_at else 0:.2f} s, states seen {sorted(states)}")
    assert forward.local == f"127.0.0.1:{port}" and forward.status().state == ACTIVE


def test_rbac_without_portforward_refuses_before_listening(cluster, kubectl, namespace, tmp_path):
    _apply(kubectl, namespace, *_web("web"))
    path = service_account_kubeconfig(cluster, kubectl, namespace, tmp_path / "kubeconfig")
    kubectl("create", "role", "reader", "-n", namespace, "--verb=get,list,watch",
            "--resource=pods,services,endpoints")
    kubectl("create", "rolebinding", "reader", "-n", namespace, "--role=reader",
            f"--serviceaccount={namespace}:viewer")
    viewer = connect(path, None)
    try:
        audit = AuditLog(tmp_path / "audit.log")
        forwards = Forwards(WriteContext.for_connection(viewer, audit=audit))
        port = free_port()
        with pytest.raises(KdashError) as caught:
            forwards.start(namespace, "Service", "web", 80, port)
        assert caught.value.title == "Forbidden" and "pods/portforward" in caught.value.message
        assert audit.lines()[-1]["result"] == "error"
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing listens
        # Without the pre-check the server refuses each connection: the forward says why.
        forward = PortForward(viewer.api_client, namespace, "Service", "web", 80, free_port()).start()
        try:
            wait_state(forward, ACTIVE, timeout=30)
            with pytest.raises(OSError):
                _get(int(forward.local.rsplit(":", 1)[1]))
            assert forward.status().last_error.startswith("Forbidden")
        finally:
            forward.stop()
    finally:
        viewer.close()


def test_forward_carries_bulk_data(kubectl, namespace, forwards):
    _apply(kubectl, namespace, *_web("web"))
    pod = _ready_endpoints(kubectl, namespace, "web")[0]
    port = free_port()
    forward = forwards.start(namespace, "Pod", pod, 8080, port)
    size = 16 * 1024 * 1024
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bytes/{size}", timeout=60) as response:
        received = len(response.read())
    seconds = time.monotonic() - started
    print(f"\nbulk: {size >> 20} MiB through the forward in {seconds:.2f} s ({size / seconds / 2**20:.1f} MiB/s)")
    assert received == size
    # The counter moves after each chunk is handed to the local socket: the reader may finish first.
    wait_for(lambda: forward.status().bytes_in >= size, timeout=5, message="bytes_in counts every byte")
