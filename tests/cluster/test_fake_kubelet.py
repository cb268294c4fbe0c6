"""The fake kubelet behind the real control plane: pods run, get ready, crash, log and go away like real ones."""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from datetime import datetime
from urllib.parse import urlencode

import pytest
import websocket

from devcluster.fake_kubelet import CRASHLOOP, IMAGE_PULL_ERROR, LOG_RATE, NEVER_READY, READY_DELAY
from devcluster.testing import wait_for


def _apply(kubectl, namespace: str, *docs: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def _deployment(name: str, replicas: int, image: str = "nginx:1.19", annotations: dict | None = None,
                labels: dict | None = None, **pod_spec) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels, "annotations": annotations or {}},
                              "spec": {"containers": [{"name": "app", "image": image}], **pod_spec}}},
    }


def _pod(name: str, image: str = "busybox:1.36", annotations: dict | None = None,
         labels: dict | None = None, **container) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
            "spec": {"containers": [{"name": "c", "image": image, **container}]}}


def _get(kubectl, namespace: str, *what: str) -> dict:
    return json.loads(kubectl("get", *what, "-n", namespace, "-o", "json"))


def _pods(kubectl, namespace: str, selector: str) -> list[dict]:
    return _get(kubectl, namespace, "pods", "-l", selector)["items"]


def _condition(obj: dict, kind: str) -> dict:
    return next((c for c in obj["status"].get("conditions") or [] if c["type"] == kind), {})


def _ready(pod: dict) -> bool:
    return _condition(pod, "Ready").get("status") == "True"


def _running_pod(kubectl, namespace: str, name: str) -> dict:
    return wait_for(lambda: (lambda p: p if p["status"].get("phase") == "Running" else None)(
        _get(kubectl, namespace, "pod", name)), timeout=60, message=f"pod {name} Running")


def _ts(text: str) -> float:
    """RFC3339 with up to nanoseconds (datetime only parses microseconds)."""
    base, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(base + "+00:00").timestamp() + (float("0." + frac) if frac else 0.0)


def test_deployment_pods_run_with_full_status(kubectl, namespace):
    dep = _deployment("web", 3, initContainers=[{"name": "setup", "image": "busybox:1.36"}])
    _apply(kubectl, namespace, dep)
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 3 and all(map(_ready, ps)) else None)(
        _pods(kubectl, namespace, "app=web")), timeout=60, message="3 Ready pods")
    ips = set()
    for pod in pods:
        st = pod["status"]
        assert st["phase"] == "Running"
        assert pod["spec"]["nodeName"].startswith("kdash-node-")
        assert st["hostIP"] == "127.0.0.1"
        assert st["podIP"].startswith("10.244.") and st["podIPs"] == [{"ip": st["podIP"]}]
        ips.add(st["podIP"])
        assert st["startTime"]
        for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
            assert _condition(pod, kind)["status"] == "True"
            assert _condition(pod, kind)["lastTransitionTime"]
        [cs] = st["containerStatuses"]
        assert cs["name"] == "app" and cs["ready"] and cs["started"] and cs["restartCount"] == 0
        assert cs["image"] == "nginx:1.19"
        assert cs["imageID"].startswith("docker-pullable://nginx@sha256:")
        assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
        assert cs["state"]["running"]["startedAt"] == st["startTime"]
        [init] = st["initContainerStatuses"]
        assert init["state"]["terminated"]["reason"] == "Completed"
        assert init["state"]["terminated"]["exitCode"] == 0
    assert len(ips) == 3
    wait_for(lambda: _get(kubectl, namespace, "deployment", "web")["status"].get("availableReplicas") == 3,
             timeout=30, message="deployment available")


def test_never_ready_pod_stays_in_not_ready_addresses(kubectl, namespace):
    labels = {"app": "svc"}
    _apply(kubectl, namespace,
           _deployment("ok", 1, labels=labels),
           _pod("never", labels=labels, annotations={NEVER_READY: "true"}),
           {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
            "spec": {"selector": labels, "ports": [{"port": 80}]}})
    never = _running_pod(kubectl, namespace, "never")

    def split():
        subsets = _get(kubectl, namespace, "endpoints", "svc").get("subsets") or []
        ready = {a["ip"] for s in subsets for a in s.get("addresses") or []}
        not_ready = {a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []}
        return (ready, not_ready) if ready and not_ready else None

    ready, not_ready = wait_for(split, timeout=60, message="ready and not-ready endpoints")
    assert not_ready == {never["status"]["podIP"]}
    assert never["status"]["podIP"] not in ready
    assert len(ready) == 1
    pod = _get(kubectl, namespace, "pod", "never")
    assert not _ready(pod)
    assert pod["status"]["containerStatuses"][0]["ready"] is False
    assert pod["status"]["containerStatuses"][0]["started"] is True


def test_readiness_waits_for_delay_annotation_and_probe(kubectl, namespace):
    _apply(kubectl, namespace,
           _pod("slow", annotations={READY_DELAY: "5"}),
           _pod("probed", readinessProbe={"exec": {"command": ["true"]}, "initialDelaySeconds": 3}))
    for name, delay in (("slow", 5), ("probed", 3)):
        pod = wait_for(lambda: (lambda p: p if _ready(p) else None)(_get(kubectl, namespace, "pod", name)),
                       timeout=60, message=f"{name} Ready")
        became_ready = _ts(_condition(pod, "Ready")["lastTransitionTime"])
        assert became_ready - _ts(pod["status"]["startTime"]) >= delay
        assert pod["status"]["phase"] == "Running"


def test_crashloop_restarts_and_previous_logs(kubectl, namespace):
    _apply(kubectl, namespace, _pod("crash", annotations={CRASHLOOP: "true"}))
    reasons = set()

    def restarted():
        cs = (_get(kubectl, namespace, "pod", "crash")["status"].get("containerStatuses") or [{}])[0]
        reasons.add((cs.get("state") or {}).get("waiting", {}).get("reason"))
        return cs if cs.get("restartCount", 0) >= 2 and "CrashLoopBackOff" in reasons else None

    cs = wait_for(restarted, timeout=60, interval=0.5, message="two restarts in CrashLoopBackOff")
    assert cs["ready"] is False
    last = cs["lastState"]["terminated"]
    assert last["exitCode"] == 1 and last["reason"] == "Error"
    assert last["containerID"].startswith("containerd://")
    lines = kubectl("logs", "-n", namespace, "crash", "--previous").splitlines()
    assert lines
    matches = [re.fullmatch(r"crash c (?:restart (\d+) )?line \d+", ln) for ln in lines]
    assert all(matches), lines
    numbers = {int(m.group(1) or 0) for m in matches}
    assert len(numbers) == 1, lines  # all from one earlier run of the container
    after = _get(kubectl, namespace, "pod", "crash")["status"]["containerStatuses"][0]["restartCount"]
    assert numbers.pop() < after
    assert [ln.rsplit(" ", 1)[1] for ln in lines] == [str(i) for i in range(len(lines))]


def test_logs_are_deterministic(cluster, kubectl, namespace):
    _apply(kubectl, namespace, _pod("talker", annotations={LOG_RATE: "20"}))
    pod = _running_pod(kubectl, namespace, "talker")
    started = _ts(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    wait_for(lambda: len(kubectl("logs", "-n", namespace, "talker").splitlines()) >= 10, timeout=30,
             message="ten log lines")

    lines = kubectl("logs", "-n", namespace, "talker").splitlines()
    assert lines == [f"talker c line {i}" for i in range(len(lines))]

    tail = kubectl("logs", "-n", namespace, "talker", "--tail=3").splitlines()
    assert len(tail) == 3
    first = int(tail[0].rsplit(" ", 1)[1])
    assert first >= len(lines) - 3
    assert tail == [f"talker c line {i}" for i in range(first, first + 3)]

    for line in kubectl("logs", "-n", namespace, "talker", "--timestamps", "--tail=5").splitlines():
        ts, text = line.split(" ", 1)
        i = int(text.rsplit(" ", 1)[1])
        assert text == f"talker c line {i}"
        assert abs(_ts(ts) - (started + i / 20)) < 1e-6

    limited = kubectl("logs", "-n", namespace, "talker", "--limit-bytes=30")
    assert limited == "talker c line 0\ntalker c line 1\n"[:30]

    since = kubectl("logs", "-n", namespace, "talker", "--since=1s", "--timestamps").splitlines()
    assert since and all(_ts(ln.split(" ", 1)[0]) >= time.time() - 5 for ln in since)

    with pytest.raises(Exception, match="previous terminated container"):
        kubectl("logs", "-n", namespace, "talker", "--previous")


def test_logs_follow_streams_new_lines(cluster, kubectl, namespace):
    _apply(kubectl, namespace, _pod("follow", annotations={LOG_RATE: "10"}))
    _running_pod(kubectl, namespace, "follow")
    before = len(kubectl("logs", "-n", namespace, "follow").splitlines())
    proc = subprocess.Popen([cluster.kubectl_path, "--kubeconfig", cluster.kubeconfig, "logs", "-f",
                             "-n", namespace, "follow", "--tail=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: list[str] = []
    reader = threading.Thread(target=lambda: [got.append(ln.rstrip("\n")) for ln in proc.stdout], daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(got) >= 15, timeout=20, message="15 followed lines")
    finally:
        proc.kill()
        proc.wait()
    numbers = [int(ln.rsplit(" ", 1)[1]) for ln in got]
    assert got == [f"follow c line {i}" for i in numbers]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gaps, no repeats
    assert numbers[-1] > before  # lines written after the stream opened


def test_deleted_pod_is_removed_and_replaced(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("web", 2))
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 2 and all(map(_ready, ps)) else None)(
        _pods(kubectl, namespace, "app=web")), timeout=60, message="2 Ready pods")
    victim = pods[0]["metadata"]["name"]
    started = time.monotonic()
    kubectl("delete", "pod", "-n", namespace, victim, "--wait=false")  # 30 s grace period

    def replaced():
        ps = _pods(kubectl, namespace, "app=web")
        names = {p["metadata"]["name"] for p in ps}
        ok = victim not in names and len(ps) == 2 and all(map(_ready, ps))
        return ps if ok else None

    wait_for(replaced, timeout=30, message="victim gone and replaced")
    assert time.monotonic() - started < 20  # well before the 30 s grace period ran out


def test_image_pull_errors_keep_pods_pending(kubectl, namespace):
    _apply(kubectl, namespace, _pod("bad-tag", image="registry.example.com/app:bad"),
           _pod("annotated", annotations={IMAGE_PULL_ERROR: "true"}))
    for name in ("bad-tag", "annotated"):
        def pulling():
            pod = _get(kubectl, namespace, "pod", name)
            statuses = pod["status"].get("containerStatuses") or [{}]
            return pod if statuses[0].get("state", {}).get("waiting", {}).get("reason") == "ImagePullBackOff" else None

        pod = wait_for(pulling, timeout=60, message=f"{name} in ImagePullBackOff")
        assert pod["status"]["phase"] == "Pending"
        assert not _ready(pod)
        with pytest.raises(Exception, match="waiting to start"):
            kubectl("logs", "-n", namespace, name)


def test_image_tags_reach_each_failure_by_set_image_alone(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("tagged", 1, image="shop/api:1", annotations={LOG_RATE: "10"}))
    wait_for(lambda: any(map(_ready, _pods(kubectl, namespace, "app=tagged"))), timeout=60, message="ready")

    def only_new(image: str) -> list[dict]:
        kubectl("set", "image", "-n", namespace, "deployment/tagged", f"app={image}")
        return wait_for(lambda: (lambda ps: ps if ps and all(p["spec"]["containers"][0]["image"] == image
                                                                 and p["status"].get("containerStatuses")
                                                                 for p in ps) else None)(
            [p for p in _pods(kubectl, namespace, "app=tagged") if not p["metadata"].get("deletionTimestamp")
             and p["spec"]["containers"][0]["image"] == image]), timeout=60, message=image)

    crash = only_new("shop/api:crash")[0]["metadata"]["name"]
    cs = wait_for(lambda: (lambda c: c if c.get("restartCount", 0) >= 1 else None)(
        _get(kubectl, namespace, "pod", crash)["status"]["containerStatuses"][0]), timeout=30, message="restart")
    assert cs["lastState"]["terminated"]["reason"] == "Error"

    never = only_new("shop/api:never-ready")[0]["metadata"]["name"]
    time.sleep(2)
    pod = _get(kubectl, namespace, "pod", never)
    assert pod["status"]["phase"] == "Running" and not _ready(pod)

    noisy = only_new("shop/api:logerror")[0]["metadata"]["name"]
    lines = wait_for(lambda: (lambda ls: ls if len(ls) >= 4 else None)(
        kubectl("logs", "-n", namespace, noisy).splitlines()), timeout=30, message="4 log lines")
    assert lines[0] == f"{noisy} app ERROR line 0: upstream connection refused"
    assert lines[1:3] == [f"{noisy} app line 1", f"{noisy} app line 2"]
    assert lines[3].startswith(f"{noisy} app ERROR line 3")


def test_nodes_stay_ready_and_renew_leases(cluster, kubectl):
    nodes = [n for n in json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
             if n["metadata"]["name"].startswith("kdash-node-")]
    assert len(nodes) >= 2
    for node in nodes:
        name = node["metadata"]["name"]
        assert _condition(node, "Ready")["status"] == "True"
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            assert _condition(node, kind)["status"] == "False"
        assert not [t for t in node["spec"].get("taints") or [] if "not-ready" in t["key"] or "unreachable" in t["key"]]
        assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0
        assert len(node["status"]["nodeInfo"]) == 10 and all(node["status"]["nodeInfo"].values())
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == name
        assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        assert node["status"]["allocatable"]["cpu"] == "32"
        assert node["status"]["allocatable"]["pods"] == node["status"]["capacity"]["pods"]
        heartbeat = _ts(_condition(node, "Ready")["lastHeartbeatTime"])
        assert time.time() - heartbeat < 60  # the node lifecycle controller's grace period is 40 s

    def renew_times() -> dict:
        leases = json.loads(kubectl("get", "leases", "-n", "kube-node-lease", "-o", "json"))["items"]
        return {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases}

    first = renew_times()
    names = [n["metadata"]["name"] for n in nodes]
    assert set(names) <= set(first)
    wait_for(lambda: all(renew_times()[n] != first[n] for n in names), timeout=30, interval=1,
             message="leases renewed")


# ---- exec and port-forward: the wire protocol as a raw WebSocket client sees it through the apiserver


def _raw_ws(cluster, path: str, query: str, protocol: str):
    """A WebSocket straight through the apiserver (no kdash code), with the admin token."""
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": cluster.ca_file})
    url = "wss" + cluster.server[len("https"):] + path + "?" + query
    ws.connect(url, header=[f"Authorization: Bearer {cluster.token}"], subprotocols=[protocol], timeout=10)
    return ws


def _frames(ws) -> list[tuple[int, bytes]]:
    frames = []
    while True:
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        frames.append((opcode, data))
    ws.close()
    return frames


@pytest.fixture
def exec_pod(kubectl, namespace):
    _apply(kubectl, namespace,
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"K": "from-cm"}},
           _pod("p", envFrom=[{"configMapRef": {"name": "cfg"}}]))
    _running_pod(kubectl, namespace, "p")
    return "p"


def test_exec_speaks_v4_channels_with_status(cluster, namespace, exec_pod):
    ws = _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                 urlencode([("command", "sh"), ("command", "-c"), ("command", "echo $K; echo e >&2; exit 3"),
                            ("stdout", "true"), ("stderr", "true")]),
                 "v4.channel.k8s.io")
    assert ws.subprotocol == "v4.channel.k8s.io"
    frames = _frames(ws)
    assert frames[0] == (2, b"\x01")  # the kubelet's "connected" signal: an empty stdout frame
    by_channel: dict[int, bytes] = {}
    for _, data in frames[1:]:
        by_channel[data[0]] = by_channel.get(data[0], b"") + data[1:]
    assert by_channel[1] == b"from-cm\n" and by_channel[2] == b"e\n"
    status = json.loads(by_channel[3])
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


def test_exec_base64_protocol_and_success_status(cluster, namespace, exec_pod):
    ws = _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                 "command=printenv&command=K&stdout=true", "v4.base64.channel.k8s.io")
    frames = _frames(ws)
    assert all(opcode == 1 for opcode, _ in frames)  # text frames: a channel digit, then base64
    decoded = [(data[:1], base64.b64decode(data[1:])) for _, data in frames]
    assert (b"1", b"from-cm\n") in decoded
    assert json.loads(dict(decoded)[b"3"]) == {"metadata": {}, "status": "Success"}


def test_port_forward_frames_carry_the_port_first(cluster, namespace, exec_pod):
    ws = _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/portforward", "ports=8081",
                 "v4.channel.k8s.io")
    port = (8081).to_bytes(2, "little")
    assert ws.recv_data()[1] == b"\x00" + port  # data channel
    assert ws.recv_data()[1] == b"\x01" + port  # error channel
    ws.send_binary(b"\x00GET / HTTP/1.0\r\n\r\n")
    frames = _frames(ws)
    body = b"".join(data[1:] for _, data in frames if data[:1] == b"\x00")
    assert body.startswith(b"HTTP/1.0 200") and body.endswith(b"pod p port 8081\n")


def test_exec_refusals_match_the_kubelet(cluster, kubectl, namespace, exec_pod):
    # Unknown container: the apiserver answers before reaching the node.
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                "command=true&container=nope&stdout=true", "v4.channel.k8s.io")
    assert caught.value.status_code == 400
    assert b"container nope is not valid for pod p" in caught.value.resp_body
    # A command that does not exist: the runtime's message and exit code 127.
    frames = _frames(_raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                             "command=no-such-binary&stdout=true&stderr=true", "v4.channel.k8s.io"))
    text = b"".join(data[1:] for _, data in frames if data[:1] == b"\x02")
    assert b'exec: "no-such-binary": executable file not found in $PATH' in text
    status = json.loads(b"".join(data[1:] for _, data in frames if data[:1] == b"\x03"))
    assert status["details"]["causes"][0]["message"] == "127"
    # kubectl 1.20 speaks SPDY (a POST), which the fake kubelet refuses in plain words.
    proc = subprocess.run([cluster.kubectl_path, "--kubeconfig", cluster.kubeconfig, "exec", "p", "-n",
                           namespace, "--", "true"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "over WebSocket only" in proc.stderr


def test_current_kubectl_execs_over_websocket(cluster, namespace, exec_pod):
    """kubectl >= 1.30 execs over WebSocket (v5.channel.k8s.io): a real client-go cross-check."""
    other = shutil.which("kubectl")
    version = subprocess.run([other or "false", "version", "--client", "-o", "json"], capture_output=True,
                             text=True).stdout
    if not version or int(json.loads(version)["clientVersion"]["minor"].rstrip("+")) < 30:
        pytest.skip("needs a kubectl >= 1.30 on PATH (WebSocket exec)")
    base = [other, "--kubeconfig", cluster.kubeconfig, "-n", namespace, "exec", "p"]
    proc = subprocess.run(base + ["--", "printenv", "K"], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "from-cm\n"), proc.stderr
    proc = subprocess.run(base + ["--", "sh", "-c", "exit 3"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3, proc.stderr
    proc = subprocess.run(base + ["-i", "--", "cat"], input="through stdin\n", capture_output=True,
                          text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "through stdin\n"), proc.stderr


def test_exec_hangup_ends_the_host_process(cluster, namespace, exec_pod):
    marker = f"{time.time_ns() % 10**6 + 4242}"  # a sleep length no other process uses

    def running() -> bool:
        return subprocess.run(["pgrep", "-f", f"^sleep {marker}$"], capture_output=True).returncode == 0

    for tty in ("true", "false"):
        ws = _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                     urlencode([("command", "sleep"), ("command", marker), ("stdin", "true"),
                                ("stdout", "true"), ("tty", tty)]), "v4.channel.k8s.io")
        wait_for(running, timeout=10, message="the exec'd process")
        ws.close()
        wait_for(lambda: not running(), timeout=10, message=f"the process to end after hangup (tty={tty})")


def test_exec_ends_when_its_pod_is_deleted(cluster, kubectl, namespace, exec_pod):
    ws = _raw_ws(cluster, f"/api/v1/namespaces/{namespace}/pods/p/exec",
                 urlencode([("command", "sleep"), ("command", "300"), ("stdout", "true")]), "v4.channel.k8s.io")
    kubectl("delete", "pod", "p", "-n", namespace, "--wait=false")
    frames = _frames(ws)  # ends (instead of waiting 300 s) once the pod is gone
    status = json.loads(b"".join(data[1:] for _, data in frames if data[:1] == b"\x03"))
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"][0]["message"] == "137"  # SIGKILL, as a shell reports it
