"""`kdash tree --once` prints the same objects kubectl sees, and fails clearly on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from devcluster.testing import wait_for


def _kdash(*args: str, kubeconfig: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "kdash", *args]
    if kubeconfig:
        cmd[3:3] = ["--kubeconfig", kubeconfig]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_tree_once_agrees_with_kubectl(cluster, kubectl, namespace):
    kubectl("create", "deployment", "shop", "--image=nginx:1.14.2", "--replicas=2", "-n", namespace)
    kubectl("expose", "deployment", "shop", "--port=80", "-n", namespace)
    kubectl("rollout", "status", "deployment/shop", "-n", namespace, "--timeout=60s", timeout=70)
    wait_for(lambda: len(json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json"))["items"]) == 2,
             message="exactly two pods")
    result = _kdash("tree", "--once", "-n", namespace, kubeconfig=cluster.kubeconfig)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    items = json.loads(kubectl("get", "deploy,rs,pods,svc", "-n", namespace, "-o", "json"))["items"]
    for item in items:
        assert item["metadata"]["name"] in out, item["metadata"]["name"]
    pods = [i for i in items if i["kind"] == "Pod"]
    for pod in pods:
        assert pod["status"]["podIP"] in out
        # Each pod appears under its ReplicaSet and under the Service: twice.
        assert out.count(f"pod {pod['metadata']['name']}") == 2
    svc = next(i for i in items if i["kind"] == "Service")
    assert svc["spec"]["clusterIP"] in out
    assert "2/2 ready" in out


def test_tree_bad_inputs_fail_fast_and_clearly(cluster, tmp_path):
    missing = _kdash("tree", kubeconfig=str(tmp_path / "nope"))
    assert missing.returncode == 1 and "Kubeconfig not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = _kdash("--context", "nope", "tree", kubeconfig=cluster.kubeconfig)
    assert unknown.returncode == 1 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr
    # A server that is not there: refused quickly, not a one-minute hang.
    dead = tmp_path / "dead.kubeconfig"
    config = json.loads(open(cluster.kubeconfig).read())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    dead.write_text(json.dumps(config))
    result = _kdash("tree", kubeconfig=str(dead))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "reach" in result.stderr.lower()
