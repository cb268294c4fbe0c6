"""Polling helpers for tests that wait on the local control plane."""

from __future__ import annotations

import base64
import json
import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.1,
             message: str = "condition") -> Any:
    """Poll `predicate` until it returns a truthy value, which is returned; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message} (last: {last!r})")


def deployment_manifest(name: str, image: str, replicas: int = 2) -> str:
    """A minimal Deployment (label app=NAME, one container "main") as JSON for `kubectl apply -f -`."""
    labels = {"app": name}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "main", "image": image}]}}},
    })


def limited_kubeconfig(cluster, kubectl, namespace: str, path: Path, role: str) -> str:
    """A service account of `namespace` bound by `role` (Role + RoleBinding YAML, NAMESPACE replaced)."""
    kubeconfig = service_account_kubeconfig(cluster, kubectl, namespace, path)
    kubectl("apply", "-n", namespace, "-f", "-", input=textwrap.dedent(role).replace("NAMESPACE", namespace))
    return kubeconfig


def service_account_kubeconfig(cluster, kubectl, namespace: str, path: Path, account: str = "viewer") -> str:
    """A kubeconfig that authenticates as a new service account of `namespace` (no rights yet)."""
    kubectl("create", "serviceaccount", account, "-n", namespace)
    secret_name = wait_for(
        lambda: (json.loads(kubectl("get", "serviceaccount", account, "-n", namespace,
                                    "-o", "json")).get("secrets") or [{}])[0].get("name"),
        message="service account token secret")
    secret = json.loads(kubectl("get", "secret", secret_name, "-n", namespace, "-o", "json"))
    token = base64.b64decode(secret["data"]["token"]).decode()
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
        context["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    return str(path)


def open_sockets() -> int:
    """How many sockets this process holds open (a test's way to see a leaked connection)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def add_fake_node(kubectl, name: str, labels: dict[str, str] | None = None,
                  taints: list[dict[str, str]] | None = None) -> None:
    """Create a Node the fake kubelet adopts and keeps Ready (as if a machine joined the cluster);
    delete it with `kubectl delete node NAME` and the kubelet forgets it."""
    all_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kdash.io/fake-node": "true",
                  **(labels or {})}
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node",
                                                  "metadata": {"name": name, "labels": all_labels},
                                                  "spec": {"taints": taints or []}}))
