"""Kinds table, object helpers, parse cost of raw JSON vs models, and UI-free imports."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from kubernetes.client import ApiClient

from kdash.core import objects as core_objects
from kdash.core.kinds import ALL_KINDS, CONFIGMAP, DEPLOYMENT, NAMESPACE, POD, api_path, kind_named
from kdash.core.labels import matches_selector
from kdash.kube import objects


def test_list_paths_for_namespaced_all_namespaces_and_cluster_scoped():
    assert DEPLOYMENT.list_path("web") == "/apis/apps/v1/namespaces/web/deployments"
    assert DEPLOYMENT.list_path(None) == "/apis/apps/v1/deployments"
    assert POD.list_path("x") == "/api/v1/namespaces/x/pods"
    assert NAMESPACE.list_path("ignored") == "/api/v1/namespaces"
    assert CONFIGMAP.object_path("x", "cm") == "/api/v1/namespaces/x/configmaps/cm"
    assert NAMESPACE.object_path(None, "x") == "/api/v1/namespaces/x"
    with pytest.raises(ValueError):
        POD.object_path(None, "p")


def test_api_path_builds_every_path_kdash_requests():
    assert api_path("v1") == "/api/v1"
    assert api_path("batch/v1") == "/apis/batch/v1"
    assert api_path("authorization.k8s.io/v1", "selfsubjectaccessreviews") == \
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert api_path("autoscaling/v1", "horizontalpodautoscalers", namespace="ns") == \
        "/apis/autoscaling/v1/namespaces/ns/horizontalpodautoscalers"
    assert api_path("apps/v1", "statefulsets", namespace="ns", name="db") == "/apis/apps/v1/namespaces/ns/statefulsets/db"
    assert POD.object_path("ns", "p") + "/exec" == "/api/v1/namespaces/ns/pods/p/exec"


def test_kind_table_covers_the_watched_kinds():
    assert [k.name for k in ALL_KINDS] == ["Deployment", "ReplicaSet", "Pod", "Service",
                                           "Endpoints", "ConfigMap", "Event", "Namespace"]
    assert kind_named("pods") is POD and kind_named("replicaset").plural == "replicasets"
    assert [k.name for k in ALL_KINDS if not k.namespaced] == ["Namespace"]


def pod(i: int) -> dict:
    """A realistic Pod as the API server sends it (managedFields included, ~4.5 KiB)."""
    name = f"web-5d78c9b8c-{i:05d}"
    return {
        "metadata": {
            "name": name, "generateName": "web-5d78c9b8c-", "namespace": "default",
            "uid": f"0b5c2a1e-1111-2222-3333-{i:012d}", "resourceVersion": str(1000 + i),
            "creationTimestamp": "2026-11-22T05:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d78c9b8c"},
            "annotations": {core_objects.LAST_APPLIED: '{"big": "blob"}', "team": "a"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "web-5d78c9b8c", "uid": "rs-uid", "controller": True,
                                 "blockOwnerDeletion": True}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "apiVersion": "v1", "time": "2026-11-22T05:00:00Z",
                               "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                            "f:spec": {"f:containers": {}}}}] * 2,
        },
        "spec": {
            "volumes": [{"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                        {"name": "token", "projected": {"sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt",
                                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
            "containers": [{
                "name": c, "image": f"{c}:1.25", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {
                    "name": "web-config", "key": "level"}}}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                                   "periodSeconds": 10, "failureThreshold": 3},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"} for c in ("web", "sidecar")],
            "nodeName": "node-1", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}],
        },
        "status": {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.0.0.1",
            "podIPs": [{"ip": "10.0.0.1"}], "startTime": "2026-11-22T05:00:00Z",
            "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True",
                            "lastTransitionTime": "2026-11-22T05:00:01Z"}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c, "ready": True, "restartCount": 0,
                                   "image": f"{c}:1.25", "imageID": f"docker://{c}@sha256:0",
                                   "containerID": "containerd://0", "started": True,
                                   "state": {"running": {"startedAt": "2026-11-22T05:00:01Z"}},
                                   "lastState": {}} for c in ("web", "sidecar")],
        },
    }


def test_slim_drops_bulk_but_keeps_what_the_ui_needs():
    original = pod(1)
    slimmed = objects.slim(original, POD)
    assert "managedFields" not in slimmed["metadata"]
    assert slimmed["metadata"]["annotations"] == {"team": "a"}
    assert slimmed["spec"]["containers"][0]["env"][0]["valueFrom"]["configMapKeyRef"]["name"] == \
        "web-config"
    assert slimmed["spec"]["volumes"] == original["spec"]["volumes"]
    assert (slimmed["kind"], slimmed["apiVersion"]) == ("Pod", "v1")
    assert "managedFields" in original["metadata"]  # the input is left alone
    saved = len(json.dumps(original)) - len(json.dumps(objects.slim(original)))
    assert saved > len(json.dumps(original["metadata"]["managedFields"]))


def test_key_owner_and_selector_helpers():
    p = pod(3)
    assert core_objects.key(p) == ("default", "web-5d78c9b8c-00003")
    assert core_objects.key({"metadata": {"name": "kube-system"}}) == ("", "kube-system")
    assert core_objects.owner_uid(p) == "rs-uid"
    p["metadata"]["ownerReferences"][0]["controller"] = False
    assert core_objects.owner_uid(p) is None
    assert matches_selector(p, {"app": "web"})
    assert not matches_selector(p, {"app": "web", "tier": "db"})
    assert not matches_selector(p, {})
    assert not core_objects.is_terminating(p)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_raw_json_parsing_is_much_cheaper_than_the_client_models():
    """Why the reflector parses with json.loads: see kdash/kube/reflector.py's docstring."""
    count = 300
    body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                       "metadata": {"resourceVersion": "5000"},
                       "items": [pod(i) for i in range(count)]})
    api = ApiClient()
    raw = best_of(lambda: [objects.slim(p, POD) for p in json.loads(body)["items"]], 5)
    models = best_of(lambda: api.deserialize(body, "V1PodList", "application/json"), 2)
    print(f"\n{count} pods: json.loads+slim {raw * 1e3:.1f} ms, "
          f"V1PodList models {models * 1e3:.1f} ms ({models / raw:.0f}x)")
    assert len(api.deserialize(body, "V1PodList", "application/json").items) == count
    assert models > 3 * raw


def test_the_kube_layer_never_imports_textual():
    code = ("import sys, kdash.errors, kdash.kube.client, kdash.core.kinds, kdash.core.objects, kdash.kube.objects, "
            "kdash.kube.reflector, kdash.kube.store, kdash.kube.watcher; "
            "sys.exit(1 if 'textual' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
