"""The local control plane is real: controllers reconcile, the scheduler binds, endpoints track readiness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devcluster import cluster as devcluster
from devcluster.testing import wait_for


def _apply(kubectl, namespace: str, manifest: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=textwrap.dedent(manifest))


def _json(kubectl, *args: str) -> dict:
    return json.loads(kubectl(*args, "-o", "json"))


def _deployment(name: str, replicas: int, image: str, annotations: dict | None = None,
                labels: dict | None = None) -> str:
    labels = labels or {"app": name}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    })


def _pods(kubectl, namespace: str, selector: str) -> list[dict]:
    return _json(kubectl, "get", "pods", "-n", namespace, "-l", selector)["items"]


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def test_deployment_reconciles_into_ready_pods(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("web", 3, "nginx:1.14.2"))
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    rs = _json(kubectl, "get", "rs", "-n", namespace)["items"]
    assert len(rs) == 1
    assert rs[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = _pods(kubectl, namespace, "app=web")
    assert len(pods) == 3
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert _ready(pod)
        assert pod["spec"]["nodeName"].startswith("kdash-node-")  # bound by the real scheduler
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs[0]["metadata"]["uid"]
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"] and status["image"] == "nginx:1.14.2" and status["restartCount"] == 0
        assert pod["status"]["podIP"]


def test_set_image_rolls_out_a_second_replicaset(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("roll", 2, "nginx:1.14.2"))
    kubectl("rollout", "status", "deployment/roll", "-n", namespace, "--timeout=60s", timeout=70)
    kubectl("set", "image", "deployment/roll", "main=nginx:1.21.0", "-n", namespace)
    kubectl("rollout", "status", "deployment/roll", "-n", namespace, "--timeout=90s", timeout=100)
    rs = _json(kubectl, "get", "rs", "-n", namespace)["items"]
    by_revision = {int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]): r for r in rs}
    assert sorted(by_revision) == [1, 2]
    assert by_revision[2]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.21.0"
    assert by_revision[2]["status"]["readyReplicas"] == 2
    assert by_revision[1]["spec"]["replicas"] == 0
    history = kubectl("rollout", "history", "deployment/roll", "-n", namespace)
    assert "1 " in history and "2 " in history
    # Old pods are finalised by the fake kubelet, so only the new ones remain.
    wait_for(lambda: all(p["spec"]["containers"][0]["image"] == "nginx:1.21.0"
                         for p in _pods(kubectl, namespace, "app=roll")) and
             len(_pods(kubectl, namespace, "app=roll")) == 2, message="old pods to go")


def test_endpoints_list_exactly_the_ready_pods(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("ok", 2, "nginx:1.14.2", labels={"app": "svc", "v": "ok"}))
    _apply(kubectl, namespace, _deployment("never", 1, "nginx:1.14.2", labels={"app": "svc", "v": "never"},
                                           annotations={"kdash.io/fake-never-ready": "true"}))
    _apply(kubectl, namespace, json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
        "spec": {"selector": {"app": "svc"}, "ports": [{"port": 80}]},
    }))

    def endpoint_ips():
        ep = _json(kubectl, "get", "endpoints", "svc", "-n", namespace)
        ready = {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}
        not_ready = {a["ip"] for s in ep.get("subsets") or [] for a in s.get("notReadyAddresses") or []}
        return ready, not_ready

    def settled():
        pods = _pods(kubectl, namespace, "app=svc")
        if len(pods) != 3 or not all(p["status"].get("podIP") for p in pods):
            return None
        want_ready = {p["status"]["podIP"] for p in pods if _ready(p)}
        want_not_ready = {p["status"]["podIP"] for p in pods if not _ready(p)}
        got = endpoint_ips()
        return got == (want_ready, want_not_ready) and len(want_ready) == 2 and (pods, got)

    pods, (ready, not_ready) = wait_for(settled, timeout=60, message="endpoints to match pod readiness")
    never = [p for p in pods if p["metadata"]["labels"]["v"] == "never"][0]
    assert never["status"]["phase"] == "Running" and not _ready(never)
    assert never["status"]["podIP"] not in ready
    assert not_ready == {never["status"]["podIP"]}


def test_kubectl_logs_come_from_the_fake_kubelet(kubectl, namespace):
    _apply(kubectl, namespace, _deployment("talker", 1, "busybox:1.36"))
    kubectl("rollout", "status", "deployment/talker", "-n", namespace, "--timeout=60s", timeout=70)
    pod = _pods(kubectl, namespace, "app=talker")[0]["metadata"]["name"]
    # At the default 1 line/s a fresh pod has only a line or two: wait until it has said three.
    lines = wait_for(lambda: (out := kubectl("logs", pod, "-n", namespace, "--tail=3").splitlines())
                     and len(out) == 3 and out, timeout=20, message="three log lines")
    assert all(pod in line for line in lines)


def test_sample_workloads_become_available(cluster, kubectl):
    devcluster.apply_samples(cluster, wait=True, timeout=90)
    deployments = {d["metadata"]["name"]: d for d in _json(kubectl, "get", "deploy", "-n", "default")["items"]}
    assert {"gate-deployment-dev", "nginx-deployment", "mc-user"} <= set(deployments)
    for name, want in (("gate-deployment-dev", 2), ("nginx-deployment", 3), ("mc-user", 3)):
        assert deployments[name]["status"].get("availableReplicas") == want, name
    svc = _json(kubectl, "get", "svc", "gate-svc-dev", "-n", "default")
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == 30000
    env_from = deployments["mc-user"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env_from == [{"configMapRef": {"name": "mc-user-config"}}]


def test_down_leaves_no_process_and_no_state(tmp_path):
    # A second, private control plane so stopping it can't disturb the session's cluster.
    info = devcluster.start(state_dir=str(tmp_path / "cp"), nodes=1)
    pids = dict(info.pids)
    assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "fake-kubelet"}
    assert info.kubectl("get", "nodes", "-o", "name").strip() == "node/kdash-node-1"
    devcluster.stop(info)
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"{name} ({pid}) still running"
    assert not Path(info.state_dir).exists()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(os.environ.get("KDASH_REUSE_CLUSTER") is not None, reason="shared cluster")
def test_shell_up_is_idempotent_and_down_stops_it(tmp_path):
    env = dict(os.environ, KDASH_CACHE=str(tmp_path / "cache"))
    # Share the built binaries with the temp cache instead of rebuilding them.
    real = devcluster.CACHE
    (tmp_path / "cache").mkdir()
    for entry in real.iterdir():
        if entry.name.startswith("k8s-"):
            (tmp_path / "cache" / entry.name).symlink_to(entry)
    run = lambda *a: subprocess.run([sys.executable, "-m", "devcluster", *a], capture_output=True,  # noqa: E731
                                    text=True, env=env, timeout=120, cwd=devcluster.REPO)
    first = run("up")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("export KUBECONFIG=")
    try:
        second = run("up")
        assert second.returncode == 0, second.stderr
        assert "reusing" in second.stderr
        assert second.stdout == first.stdout
    finally:
        down = run("down")
    assert down.returncode == 0
    assert run("status").returncode == 1
