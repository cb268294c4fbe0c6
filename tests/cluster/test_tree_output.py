"""`kdash tree -o json|yaml|wide` on the real control plane: parses, and its counts are kubectl's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from devcluster.testing import wait_for


def _kdash(cluster, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", cluster.kubeconfig, *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def _shop(kubectl, namespace) -> list[dict]:
    kubectl("create", "deployment", "shop", "--image=nginx:1.14.2", "--replicas=2", "-n", namespace)
    kubectl("expose", "deployment", "shop", "--port=80", "-n", namespace)
    kubectl("rollout", "status", "deployment/shop", "-n", namespace, "--timeout=60s", timeout=70)
    wait_for(lambda: len(json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json"))["items"]) == 2,
             message="exactly two pods")
    wait_for(lambda: len(json.loads(kubectl("get", "endpoints", "shop", "-n", namespace, "-o", "json"))
                         .get("subsets", [{}])[0].get("addresses", [])) == 2, message="two endpoint addresses")
    return json.loads(kubectl("get", "deploy,rs,pods,svc", "-n", namespace, "-o", "json"))["items"]


def test_json_parses_and_counts_equal_kubectls(cluster, kubectl, namespace):
    items = _shop(kubectl, namespace)
    data = json.loads(_kdash(cluster, "tree", "-o", "json", "-n", namespace).stdout)
    assert (data["apiVersion"], data["kind"], data["namespace"]) == ("kdash/v1", "Trees", namespace)
    deploy_k = next(i for i in items if i["kind"] == "Deployment")
    rs_k = next(i for i in items if i["kind"] == "ReplicaSet")
    pods_k = {i["metadata"]["name"]: i for i in items if i["kind"] == "Pod"}
    [deploy] = data["workloads"]
    assert (deploy["kind"], deploy["name"], deploy["namespace"]) == ("Deployment", "shop", namespace)
    status = deploy_k["status"]
    assert deploy["ready"] == f"{status['readyReplicas']}/{deploy_k['spec']['replicas']}"
    assert deploy["up_to_date"] == str(status["updatedReplicas"])
    assert deploy["available"] == str(status["availableReplicas"])
    assert deploy["revision"] == deploy_k["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    assert deploy["state"] == "complete" and deploy["health"] == "ok"
    [rs] = deploy["children"]
    assert rs["name"] == rs_k["metadata"]["name"]
    assert (rs["desired"], rs["current"], rs["ready"]) == tuple(
        str(v) for v in (rs_k["spec"]["replicas"], rs_k["status"]["replicas"], rs_k["status"]["readyReplicas"]))
    assert {p["name"] for p in rs["children"]} == set(pods_k)
    for pod in rs["children"]:
        source = pods_k[pod["name"]]
        ready = sum(1 for c in source["status"]["containerStatuses"] if c["ready"])
        assert pod["ready"] == f"{ready}/{len(source['spec']['containers'])}"
        assert pod["status"] == source["status"]["phase"] == "Running"
        assert (pod["node"], pod["ip"]) == (source["spec"]["nodeName"], source["status"]["podIP"])
        assert pod["restarts"] == str(source["status"]["containerStatuses"][0]["restartCount"])
    [svc] = data["services"]
    assert svc["cluster_ip"] == next(i for i in items if i["kind"] == "Service")["spec"]["clusterIP"]
    assert svc["endpoints"] == "2 ready, 0 not ready"
    assert sorted(p["endpoint"] for p in svc["children"]) == ["ready", "ready"]
    # YAML carries the same document (ages aside: the two runs are moments apart).
    assert _ageless(yaml.safe_load(_kdash(cluster, "tree", "-o", "yaml", "-n", namespace).stdout)) == \
        _ageless(data)


def _ageless(value):
    if isinstance(value, dict):
        return {k: _ageless(v) for k, v in value.items() if k != "age"}
    return [_ageless(v) for v in value] if isinstance(value, list) else value


def test_wide_adds_node_and_ip(cluster, kubectl, namespace):
    items = _shop(kubectl, namespace)
    out = _kdash(cluster, "tree", "-o", "wide", "-n", namespace).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "READY", "REVISION", "AGE", "NODE", "IP"]
    for pod in (i for i in items if i["kind"] == "Pod"):
        rows = [line.split() for line in lines if line.split()[0] == f"pod/{pod['metadata']['name']}"]
        assert len(rows) == 2  # under its ReplicaSet and under the Service
        for row in rows:
            assert row[-2:] == [pod["spec"]["nodeName"], pod["status"]["podIP"]]
    assert any(line.split()[:3] == ["deploy/shop", "complete", "2/2"] for line in lines)


def test_namespace_completion_lists_the_clusters_namespaces(cluster, namespace, tmp_path):
    bin_dir = Path(sys.executable).parent
    script = tmp_path / "kdash.bash"
    script.write_text(subprocess.run([str(bin_dir / "kdash"), "completion", "bash"], capture_output=True,
                                     text=True, check=True).stdout)
    line = f"kdash --kubeconfig {cluster.kubeconfig} -n {namespace[:-2]}"
    driver = (f'source {script}\nCOMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}\n'
              f'COMP_WORDS=({line}); COMP_CWORD=4; COMP_TYPE=9\n'
              '_python_argcomplete kdash\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.stdout.split() == [namespace], done.stdout + done.stderr
