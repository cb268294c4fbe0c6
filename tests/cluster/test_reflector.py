"""Reflectors and the Watcher against the real control plane: the store follows kubectl."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from typing import Any

import pytest

from devcluster.testing import service_account_kubeconfig, wait_for
from kdash.core.kinds import ALL_KINDS, CONFIGMAP, DEPLOYMENT, NAMESPACE, POD, REPLICASET, Kind
from kdash.kube.client import Connection, connect
from kdash.kube.reflector import Reflector
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher


@pytest.fixture
def running():
    """Reflectors/watchers started by a test; stopped even when it fails."""
    started: list[Reflector | Watcher] = []
    yield started
    for item in started:
        item.stop()
    for item in started:
        if isinstance(item, Reflector):
            item.join(2)


def reflect(connection: Connection, store: Store, kind: Kind, namespace: str | None,
            running: list, cls: type[Reflector] = Reflector, **kwargs: Any) -> Reflector:
    reflector = cls(connection.api_client, kind, namespace, store, lambda _k: None,
                    threading.Event(), **kwargs)
    reflector.start()
    running.append(reflector)
    return reflector


def apply(kubectl, namespace: str, manifest: dict | str) -> None:
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    kubectl("apply", "-n", namespace, "-f", "-", input=text)


def kubectl_items(kubectl, kind: str, namespace: str) -> dict[str, str]:
    """name → resourceVersion, as kubectl sees it right now."""
    items = json.loads(kubectl("get", kind, "-n", namespace, "-o", "json"))["items"]
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}


def store_items(store: Store, kind: str, namespace: str) -> dict[str, str]:
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for o in store.list(kind, namespace)}


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}},
    }


def test_connection_reports_context_and_version(cluster, connection):
    assert connection.server_version().startswith("v1.20")
    assert connection.server == cluster.server
    assert connection.context_name in connection.contexts


def test_deployment_tree_appears_scales_and_disappears(connection, kubectl, namespace, running):
    store = Store()
    for kind in (DEPLOYMENT, REPLICASET, POD):
        reflect(connection, store, kind, namespace, running)
    apply(kubectl, namespace, deployment("web", 2))

    dep = wait_for(lambda: store.get("Deployment", namespace, "web"), message="deployment")
    rs = wait_for(lambda: store.owned_by("ReplicaSet", dep["metadata"]["uid"]), message="rs")[0]
    wait_for(lambda: len(store.owned_by("Pod", rs["metadata"]["uid"])) == 2, message="2 pods")
    assert store.by_uid(rs["metadata"]["uid"])["kind"] == "ReplicaSet"

    kubectl("scale", "deployment/web", "--replicas=4", "-n", namespace)
    wait_for(lambda: len(store.owned_by("Pod", rs["metadata"]["uid"])) == 4, message="4 pods")
    wait_for(lambda: store.get("Deployment", namespace, "web")["spec"]["replicas"] == 4,
             message="spec.replicas=4")

    kubectl("scale", "deployment/web", "--replicas=1", "-n", namespace)
    wait_for(lambda: len(store.owned_by("Pod", rs["metadata"]["uid"])) == 1,
             message="scaled down to 1 pod")
    wait_for(lambda: store_items(store, "Pod", namespace) == kubectl_items(kubectl, "pods",
                                                                           namespace),
             message="pods equal to kubectl's")

    kubectl("delete", "deployment", "web", "-n", namespace)
    wait_for(lambda: not store.list("Deployment", namespace), message="deployment gone")
    # The garbage collector removes the ReplicaSet and then its pods.
    wait_for(lambda: not store.list("ReplicaSet", namespace) and not store.list("Pod", namespace),
             message="replicaset and pods gone")
    assert all(r.state == "live" for r in running)


def test_configmap_edits_match_kubectl(connection, kubectl, namespace, running):
    store = Store()
    reflector = reflect(connection, store, CONFIGMAP, namespace, running)
    wait_for(lambda: reflector.state == "live", message="live")
    kubectl("create", "configmap", "settings", "--from-literal=level=info", "-n", namespace)
    wait_for(lambda: store.get("ConfigMap", namespace, "settings"), message="created")
    kubectl("patch", "configmap", "settings", "-n", namespace, "-p",
            json.dumps({"data": {"level": "debug"}}))
    wait_for(lambda: store.get("ConfigMap", namespace, "settings")["data"] == {"level": "debug"},
             message="patched data")
    wait_for(lambda: store_items(store, "ConfigMap", namespace)
             == kubectl_items(kubectl, "configmaps", namespace), message="same as kubectl")
    kubectl("delete", "configmap", "settings", "-n", namespace)
    wait_for(lambda: store.get("ConfigMap", namespace, "settings") is None, message="deleted")


class ExpiringReflector(Reflector):
    """Pauses after its first LIST, then watches from resourceVersion "1".

    A custom resource's watch cache starts when its CRD is created, so "1" is older than
    anything the apiserver can replay: the watch answers with an ERROR 410 Expired event,
    exactly what a client sees after etcd compaction, without waiting minutes for one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listed = threading.Event()
        self.resume = threading.Event()
        self.expired = 0

    def _watch(self) -> None:
        if not self.listed.is_set():
            self.listed.set()
            self.resume.wait(60)
            self.resource_version = "1"
        super()._watch()

    def _on_expired(self) -> None:
        self.expired += 1
        super()._on_expired()


@pytest.fixture
def widget_kind(kubectl, namespace):
    """A namespaced custom resource kind of its own (its CRD is deleted afterwards)."""
    group = f"{namespace}.kdash.test"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object",
                                         "x-kubernetes-preserve-unknown-fields": True}}}]},
    }
    kubectl("apply", "-f", "-", input=json.dumps(crd))
    kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=30s")
    yield Kind("Widget", "widgets", f"{group}/v1")
    kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def create_widget(kubectl, namespace: str, kind: Kind, name: str) -> None:
    widget = {"apiVersion": kind.api_version, "kind": "Widget",
              "metadata": {"name": name, "namespace": namespace}}
    # The CRD's endpoint may need a moment after Established before it accepts objects.
    wait_for(lambda: _try(kubectl, "apply", "-f", "-", input=json.dumps(widget)), timeout=15,
             message=f"widget {name} created")


def _try(kubectl, *args: str, **kwargs: Any) -> bool:
    try:
        kubectl(*args, **kwargs)
    except Exception:  # noqa: BLE001 - retried by wait_for
        return False
    return True


def test_expired_resource_version_relists_without_ghosts(connection, kubectl, namespace,
                                                         widget_kind, running):
    resource = f"widgets.{widget_kind.api_version.split('/')[0]}"
    for name in ("keep", "ghost"):
        create_widget(kubectl, namespace, widget_kind, name)
    store = Store()
    reflector = reflect(connection, store, widget_kind, namespace, running, cls=ExpiringReflector)
    assert reflector.listed.wait(30)
    assert set(store_items(store, "Widget", namespace)) == {"keep", "ghost"}
    # Changes made while the reflector is not watching: only a relist can reveal them.
    kubectl("delete", resource, "ghost", "-n", namespace)
    create_widget(kubectl, namespace, widget_kind, "newcomer")
    reflector.resume.set()

    wait_for(lambda: reflector.list_count == 2 and reflector.state == "live", timeout=30,
             message="relist after 410")
    assert reflector.expired == 1
    expected = kubectl_items(kubectl, resource, namespace)
    assert set(expected) == {"keep", "newcomer"}
    assert store_items(store, "Widget", namespace) == expected  # no ghost, same versions
    # It watches again from the fresh resourceVersion.
    create_widget(kubectl, namespace, widget_kind, "after")
    wait_for(lambda: store.get("Widget", namespace, "after"), timeout=15, message="watch resumed")
    assert reflector.list_count == 2


def test_watcher_all_namespaces_and_namespace_switch(connection, kubectl, namespace):
    kubectl("create", "configmap", "mine", "-n", namespace)
    watcher = Watcher(connection, None, kinds=[CONFIGMAP, NAMESPACE]).start()
    try:
        wait_for(lambda: watcher.health() == "live", message="live")
        wait_for(lambda: watcher.store.get("ConfigMap", namespace, "mine"), message="cm")
        assert watcher.store.get("Namespace", None, namespace)["kind"] == "Namespace"
        assert watcher.store.get("Namespace", None, "kube-system")
        assert {o["metadata"]["namespace"] for o in watcher.store.list("ConfigMap")} > {namespace}

        watcher.switch_namespace(namespace)
        wait_for(lambda: watcher.health() == "live", message="live after switch")
        wait_for(lambda: {o["metadata"]["namespace"] for o in watcher.store.list("ConfigMap")}
                 == {namespace}, message="only the chosen namespace")
        assert watcher.store.get("Namespace", None, "kube-system")
    finally:
        watcher.stop()


def test_watcher_stops_within_a_second(connection, namespace):
    watcher = Watcher(connection, namespace, kinds=ALL_KINDS).start()
    wait_for(lambda: watcher.health() == "live", timeout=30, message="all kinds live")
    time.sleep(0.2)  # every reflector is now blocked in its watch read
    started = time.monotonic()
    assert watcher.stop() is True
    assert time.monotonic() - started < 1.0
    assert not any(r.is_alive() for r in watcher.reflectors)


def test_forbidden_until_rbac_allows_it(cluster, kubectl, namespace, running, tmp_path):
    path = service_account_kubeconfig(cluster, kubectl, namespace, tmp_path / "viewer")
    viewer = connect(path, None)
    try:
        assert viewer.namespace == namespace
        store = Store()
        reflector = reflect(viewer, store, CONFIGMAP, namespace, running, auth_backoff=0.5)
        wait_for(lambda: reflector.state == "forbidden", message="forbidden")
        assert reflector.last_error.title == "Forbidden"
        assert "configmaps" in reflector.last_error.message
        assert reflector.list_count == 0

        kubectl("create", "configmap", "visible", "-n", namespace)
        apply(kubectl, namespace, textwrap.dedent(f"""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {{name: cm-reader}}
            rules:
            - apiGroups: [""]
              resources: [configmaps]
              verbs: [get, list, watch]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {{name: cm-reader}}
            roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}}
            subjects:
            - {{kind: ServiceAccount, name: viewer, namespace: {namespace}}}
        """))
        wait_for(lambda: reflector.state == "live", timeout=30, message="live once allowed")
        assert store.get("ConfigMap", namespace, "visible")
        assert reflector.last_error is None
    finally:
        for item in running:
            item.stop()
        viewer.close()
