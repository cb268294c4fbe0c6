"""Expired credentials are replaced without a restart: an exec plugin's token rotates under a live session."""

from __future__ import annotations

import base64
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from devcluster.testing import wait_for
from kdash.actions import scale
from kdash.actions.safety import AuditLog, WriteContext
from kdash.errors import KdashError
from kdash.kube.client import connect
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher

ACCOUNT = "rotator"

PLUGIN = """\
import json, pathlib, sys
token_file, calls = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
with calls.open("a") as out:
    out.write("call\\n")
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {"token": token_file.read_text().strip()}}))
"""


class Rotator:
    """A service account whose token the test rotates, and a kubeconfig whose exec plugin reads it."""

    def __init__(self, cluster, kubectl, namespace: str, tmp_path: Path) -> None:
        self.cluster, self.kubectl, self.namespace = cluster, kubectl, namespace
        self.token_file, self.calls = tmp_path / "token", tmp_path / "calls"
        kubectl("create", "serviceaccount", ACCOUNT, "-n", namespace)
        kubectl("create", "rolebinding", ACCOUNT, "--clusterrole=edit",
                f"--serviceaccount={namespace}:{ACCOUNT}", "-n", namespace)
        self.secret = wait_for(
            lambda: (json.loads(kubectl("get", "serviceaccount", ACCOUNT, "-n", namespace, "-o", "json"))
                     .get("secrets") or [{}])[0].get("name"), message="service account token secret")
        self.token = self._token(self.secret)
        self.token_file.write_text(self.token)
        plugin = tmp_path / "plugin.py"
        plugin.write_text(PLUGIN)
        config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
        config["users"] = [{"name": ACCOUNT, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
            "args": [str(plugin), str(self.token_file), str(self.calls)]}}}]
        for context in config["contexts"]:
            context["context"].update(user=ACCOUNT, namespace=namespace)
        self.kubeconfig = tmp_path / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def plugin_calls(self) -> int:
        return len(self.calls.read_text().splitlines()) if self.calls.exists() else 0

    def rotate(self, index: int) -> None:
        """A new token in the plugin's file; the old one revoked (its Secret deleted)."""
        name = f"{ACCOUNT}-token-{index}"
        self.kubectl("apply", "-n", self.namespace, "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": ACCOUNT}}}))
        new_token = wait_for(lambda: self._token(name), message="the new token")
        old_token = self.token
        self.token_file.write_text(new_token)
        self.kubectl("delete", "secret", self.secret, "-n", self.namespace)
        self.secret, self.token = name, new_token
        wait_for(lambda: self.status_with(old_token) == 401, message="the old token to be refused")

    def revoke_for_good(self) -> None:
        self.token_file.write_text("not-a-token")
        self.kubectl("delete", "secret", self.secret, "-n", self.namespace)

    def status_with(self, token: str) -> int:
        request = urllib.request.Request(
            f"{self.cluster.server}/api/v1/namespaces/{self.namespace}/configmaps",
            headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, context=ssl.create_default_context(
                    cafile=self.cluster.ca_file), timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _token(self, secret: str) -> str | None:
        data = json.loads(self.kubectl("get", "secret", secret, "-n", self.namespace, "-o", "json")).get("data") or {}
        return base64.b64decode(data["token"]).decode() if data.get("token") else None


@pytest.fixture
def rotator(cluster, kubectl, namespace, tmp_path) -> Rotator:
    return Rotator(cluster, kubectl, namespace, tmp_path)


@pytest.fixture
def session(rotator, namespace):
    """kdash's connection and watches as the rotating account (short watches: frequent re-auth)."""
    connection = connect(str(rotator.kubeconfig), None)
    store = Store()
    watcher = Watcher(connection, namespace, store=store, watch_timeout=3).start()
    yield connection, store, watcher
    watcher.stop(timeout=2.0)
    connection.close()


def _configmaps(store: Store, namespace: str) -> set[str]:
    return {o["metadata"]["name"] for o in store.list("ConfigMap", namespace)}


def _deployment(kubectl, namespace: str) -> None:
    labels = {"app": "web"}
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}}}))


def test_rotated_token_is_picked_up_by_watches_and_writes(rotator, session, kubectl, namespace, tmp_path):
    connection, store, watcher = session
    _deployment(kubectl, namespace)
    kubectl("create", "configmap", "before", "--from-literal=a=1", "-n", namespace)
    wait_for(lambda: "before" in _configmaps(store, namespace), message="the first list")
    calls_at_start = rotator.plugin_calls()

    rotator.rotate(1)
    # Open watches stay authenticated; the next one (≤ 3 s) gets a 401 and the plugin runs again.
    wait_for(lambda: rotator.plugin_calls() > calls_at_start, timeout=30, message="the plugin to run again")
    kubectl("create", "configmap", "after", "--from-literal=b=2", "-n", namespace)
    time.sleep(4)  # past the next watch renewal, which is the first request with the new token only
    kubectl("create", "configmap", "later", "--from-literal=c=3", "-n", namespace)
    wait_for(lambda: {"after", "later"} <= _configmaps(store, namespace), timeout=30,
             message="changes after the rotation")
    assert store.state("ConfigMap", namespace).state == "live"

    # A write that is the first to meet the revoked token re-authenticates the same way.
    rotator.rotate(2)
    ctx = WriteContext.for_connection(connection, audit=AuditLog(tmp_path / "audit.log"))
    scale.scale(ctx, namespace, "web", 2)
    assert json.loads(kubectl("get", "deployment", "web", "-n", namespace, "-o", "json"))["spec"]["replicas"] == 2
    assert '"result": "ok"' in (tmp_path / "audit.log").read_text()


def test_revoked_credentials_are_reported_without_a_retry_storm(rotator, session, kubectl, namespace, tmp_path):
    connection, store, watcher = session
    kubectl("create", "configmap", "before", "--from-literal=a=1", "-n", namespace)
    wait_for(lambda: "before" in _configmaps(store, namespace), message="the first list")
    rotator.revoke_for_good()
    wait_for(lambda: store.state("ConfigMap", namespace).state == "unauthorized", timeout=30,
             message="the ConfigMap watch to report unauthorized")
    assert "unauthorized" in watcher.health()
    calls = rotator.plugin_calls()
    time.sleep(6)
    # One reload serves every reflector (debounced), and a refused reflector waits 30 s.
    assert rotator.plugin_calls() - calls <= 2
    ctx = WriteContext.for_connection(connection, audit=AuditLog(tmp_path / "audit.log"))
    with pytest.raises(KdashError) as raised:
        scale.scale(ctx, namespace, "web", 3)
    assert "nauthorized" in str(raised.value)
    # A fresh start with the revoked credentials fails fast with the same clear word.
    started = time.monotonic()
    with pytest.raises(KdashError) as raised:
        connect(str(rotator.kubeconfig), None)
    assert time.monotonic() - started < 10
    assert "nauthorized" in f"{raised.value.title} {raised.value.message}"
