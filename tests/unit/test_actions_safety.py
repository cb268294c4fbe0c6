"""The write gate: audit lines, read-only refusal before any request, and the requests actions send."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import urllib3

from kdash.actions import apply, delete, image, rollout, scale
from kdash.actions.http import CONFLICT_RETRIES
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.errors import KdashError
from kdash.kube.api import ApiClient, Configuration, RESTResponse


class NoRequests:
    """An api_client that fails the test on any use at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"api_client.{name} used: a read-only context must not send anything")


class FakeRest:
    """Stands in for the REST layer of a real ApiClient: records requests, answers from a script."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[int, Any]]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        self.routes[(method, path)] = lambda _request: (status, body if body is not None else {})

    def on_each(self, method: str, path: str, answers: list[tuple[int, Any]]) -> None:
        """Answer with each (status, body) in turn, then keep repeating the last one."""
        queue = list(answers)
        self.routes[(method, path)] = lambda _request: queue.pop(0) if len(queue) > 1 else queue[0]

    def request(self, method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        parts = urlsplit(url)
        request = {"method": method, "path": parts.path, "query": dict(parse_qsl(parts.query)),
                   "content_type": (headers or {}).get("Content-Type"), "body": body}
        self.requests.append(request)
        route = self.routes.get((method, parts.path))
        status, answer = route(request) if route else (404, {"kind": "Status", "code": 404, "message": "nope"})
        data = json.dumps(answer).encode()
        return RESTResponse(urllib3.HTTPResponse(body=data, status=status, preload_content=True))

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] != "GET"]


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "state" / "kdash" / "audit.log")


@pytest.fixture
def rest() -> FakeRest:
    return FakeRest()


@pytest.fixture
def ctx(rest: FakeRest, audit: AuditLog) -> WriteContext:
    api_client = ApiClient(Configuration(host="https://k8s.test"))
    api_client.rest_client = rest
    return WriteContext(api_client, "dev", audit=audit)


DEPLOYMENT = {
    "metadata": {"name": "web", "namespace": "prod", "uid": "d-uid", "resourceVersion": "10", "generation": 2,
                 "annotations": {"deployment.kubernetes.io/revision": "2"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"initContainers": [{"name": "setup", "image": "busybox:1"}],
                                   "containers": [{"name": "web", "image": "nginx:1.25"}]}}},
}
DEPLOY_PATH = "/apis/apps/v1/namespaces/prod/deployments/web"


# -- audit log -----------------------------------------------------------------------------------


def test_audit_log_creates_its_directory_and_appends_json_lines(audit: AuditLog, monkeypatch) -> None:
    for name in ("SUDO_USER", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    audit.record(context="dev", verb="scale", target="Deployment/prod/web", dry_run=False, result="ok",
                 detail="replicas 2 -> 3")
    audit.record(context="dev", verb="apply", target="ConfigMap/prod/a", dry_run=True, result="error",
                 detail="boom")
    lines = [json.loads(line) for line in audit.path.read_text().splitlines()]
    assert [(l["verb"], l["object"], l["dry_run"], l["result"], l["detail"]) for l in lines] == [
        ("scale", "Deployment/prod/web", False, "ok", "replicas 2 -> 3"),
        ("apply", "ConfigMap/prod/a", True, "error", "boom")]
    assert set(lines[0]) == {"time", "context", "verb", "object", "dry_run", "result", "detail", "user", "seq",
                             "prev"}
    assert lines[0]["time"].endswith("Z") and lines[0]["time"][10] == "T"
    assert lines[0]["context"] == "dev"


def test_audit_log_is_thread_safe(audit: AuditLog) -> None:
    def write(n: int) -> None:
        for i in range(50):
            audit.record(context="dev", verb="scale", target=f"Deployment/ns/d{n}-{i}", dry_run=False,
                         result="ok", detail="x" * 200)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = audit.lines()
    assert len(lines) == 400
    assert len({line["object"] for line in lines}) == 400


def test_default_audit_log_lives_in_the_state_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert AuditLog.default().path == tmp_path / "kdash" / "audit.log"


def test_unwritable_audit_log_blocks_the_write(tmp_path: Path, rest: FakeRest) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    api_client = ApiClient(Configuration(host="https://k8s.test"))
    api_client.rest_client = rest
    ctx = WriteContext(api_client, "dev", audit=AuditLog(blocker / "audit.log"))
    with pytest.raises(KdashError, match="Audit log unavailable"):
        delete.delete_pod(ctx, "prod", "web-1")
    assert rest.requests == []


def test_describe_says_where_writes_land(audit: AuditLog) -> None:
    client: Any = NoRequests()
    assert WriteContext(client, "prod-eu", audit=audit).describe() == "context prod-eu"
    assert WriteContext(client, "prod-eu", True, audit).describe() == "context prod-eu (read-only)"


# -- read-only -----------------------------------------------------------------------------------


def _manifests() -> list[apply.Manifest]:
    return apply.parse_manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", "cm.yaml")


WRITES: dict[str, Callable[[WriteContext], Any]] = {
    "scale": lambda ctx: scale.scale(ctx, "prod", "web", 3),
    "set-image (object)": lambda ctx: image.set_image(ctx, DEPLOYMENT, "web", "nginx:1.26"),
    "set-image (name)": lambda ctx: image.set_image(ctx, ("prod", "web"), "web", "nginx:1.26"),
    "undo": lambda ctx: rollout.undo(ctx, "prod", "web"),
    "undo to revision": lambda ctx: rollout.undo(ctx, "prod", "web", 1),
    "restart": lambda ctx: rollout.restart(ctx, "prod", "web"),
    "delete pod": lambda ctx: delete.delete_pod(ctx, "prod", "web-1", "uid-1"),
    "apply preview": lambda ctx: apply.plan(ctx, _manifests(), "prod"),
    "apply": lambda ctx: apply.apply(ctx, apply.Plan([apply.PlanItem(_manifests()[0], "created")], "prod")),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_read_only_refuses_every_write_before_any_request(write: Callable[[WriteContext], Any],
                                                          audit: AuditLog) -> None:
    ctx = WriteContext(NoRequests(), "prod-eu", readonly=True, audit=audit)  # type: ignore[arg-type]
    with pytest.raises(ReadOnlyError) as info:
        write(ctx)
    assert info.value.title == "Read-only"
    assert "prod-eu" in info.value.message and "read-only" in info.value.message
    [line] = audit.lines()
    assert line["result"] == "refused" and line["context"] == "prod-eu"


# -- request shapes and audit outcomes -----------------------------------------------------------


def test_scale_puts_the_scale_subresource_with_the_version_read(ctx: WriteContext, rest: FakeRest,
                                                                audit: AuditLog) -> None:
    scale_obj = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                 "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "10"},
                 "spec": {"replicas": 2}}
    rest.on("GET", DEPLOY_PATH + "/scale", body=scale_obj)
    rest.on("PUT", DEPLOY_PATH + "/scale", body=scale_obj)
    assert scale.scale(ctx, "prod", "web", 5) == "scaled Deployment prod/web from 2 to 5 replicas"
    [put] = rest.writes()
    assert put["body"]["metadata"]["resourceVersion"] == "10"
    assert put["body"]["spec"] == {"replicas": 5}
    assert put["query"] == {"fieldManager": "kdash"}
    record = audit.lines()[-1]
    assert {k: v for k, v in record.items() if k not in ("user", "seq", "prev")} | {"time": ""} == {
        "time": "", "context": "dev", "verb": "scale", "object": "Deployment/prod/web", "dry_run": False,
        "result": "ok", "detail": "replicas 2 -> 5"}


def test_scale_conflict_on_a_stale_version_is_a_clear_error(ctx: WriteContext, rest: FakeRest,
                                                              audit: AuditLog) -> None:
    rest.on("GET", DEPLOY_PATH + "/scale", body={"metadata": {"resourceVersion": "11"}, "spec": {"replicas": 2}})
    rest.on("PUT", DEPLOY_PATH + "/scale", 409, {"kind": "Status", "code": 409, "reason": "Conflict",
                                                 "message": "the object has been modified"})
    with pytest.raises(KdashError) as info:
        scale.scale(ctx, "prod", "web", 5, expected_resource_version="10")
    assert info.value.title == "Changed meanwhile"
    assert "reload and retry" in info.value.message
    assert len(rest.writes()) == 1  # a caller-given version is never retried
    assert rest.writes()[0]["body"]["metadata"]["resourceVersion"] == "10"
    assert audit.lines()[-1]["result"] == "error"


def test_scale_refuses_when_the_replicas_moved(ctx: WriteContext, rest: FakeRest) -> None:
    rest.on("GET", DEPLOY_PATH + "/scale", body={"metadata": {"resourceVersion": "11"}, "spec": {"replicas": 4}})
    with pytest.raises(KdashError, match="now has 4 replicas, not 2"):
        scale.scale(ctx, "prod", "web", 5, expected_replicas=2)
    assert rest.writes() == []


def test_invalid_replicas_send_nothing_and_are_not_audited(ctx: WriteContext, rest: FakeRest,
                                                           audit: AuditLog) -> None:
    with pytest.raises(scale.InvalidReplicas):
        scale.scale(ctx, "prod", "web", -1)
    assert rest.requests == [] and audit.lines() == []


def test_set_image_patches_by_strategic_merge_with_the_resource_version(ctx: WriteContext,
                                                                        rest: FakeRest) -> None:
    rest.on("PATCH", DEPLOY_PATH, body=DEPLOYMENT)
    assert image.set_image(ctx, DEPLOYMENT, "setup", "busybox:1.36") == \
        "set init container setup of Deployment prod/web to busybox:1.36"
    [patch] = rest.requests  # the object was given: no GET
    assert patch["content_type"] == "application/strategic-merge-patch+json"
    assert patch["body"] == {"metadata": {"resourceVersion": "10"}, "spec": {"template": {"spec": {
        "initContainers": [{"name": "setup", "image": "busybox:1.36"}]}}}}


def test_set_image_unknown_container_sends_nothing(ctx: WriteContext, rest: FakeRest, audit: AuditLog) -> None:
    with pytest.raises(KdashError) as info:
        image.set_image(ctx, DEPLOYMENT, "nope", "nginx:1")
    assert info.value.title == "Unknown container"
    assert info.value.message == "Deployment prod/web has no container 'nope' (it has: web, setup)"
    assert rest.requests == []
    assert audit.lines()[-1]["result"] == "error"


def test_set_image_invalid_image_sends_nothing(ctx: WriteContext, rest: FakeRest) -> None:
    with pytest.raises(image.InvalidImage):
        image.set_image(ctx, DEPLOYMENT, "web", "NGINX")
    assert rest.requests == []


def test_set_image_retries_a_status_only_conflict_but_not_a_spec_change(ctx: WriteContext, rest: FakeRest,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(image, "backoff", lambda _attempt: None)
    conflict = {"kind": "Status", "code": 409, "reason": "Conflict", "message": "modified"}
    rest.on("PATCH", DEPLOY_PATH, 409, conflict)
    status_moved = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], resourceVersion="11"))
    rest.on("GET", DEPLOY_PATH, body=status_moved)
    with pytest.raises(KdashError, match="changed meanwhile"):
        image.set_image(ctx, DEPLOYMENT, "web", "nginx:1.26")
    versions = [r["body"]["metadata"]["resourceVersion"] for r in rest.writes()]
    assert versions == ["10"] + ["11"] * (CONFLICT_RETRIES - 1)  # fresh version while the spec is the same

    rest.requests.clear()
    spec_moved = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], resourceVersion="12", generation=3))
    rest.on("GET", DEPLOY_PATH, body=spec_moved)
    with pytest.raises(KdashError, match="changed meanwhile"):
        image.set_image(ctx, DEPLOYMENT, "web", "nginx:1.26")
    assert len(rest.writes()) == 1


def test_delete_pod_sends_a_uid_precondition_and_background_propagation(ctx: WriteContext,
                                                                        rest: FakeRest) -> None:
    rest.on("DELETE", "/api/v1/namespaces/prod/pods/web-1", 409,
            {"kind": "Status", "code": 409, "message": "the UID in the precondition (u1) does not match"})
    with pytest.raises(KdashError) as info:
        delete.delete_pod(ctx, "prod", "web-1", uid="u1")
    assert info.value.title == "Pod replaced"
    [request] = rest.requests
    assert request["body"] == {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                               "preconditions": {"uid": "u1"}}
    assert request["query"] == {}  # no fieldManager on DELETE


def test_restart_stamps_the_template_like_kubectl(ctx: WriteContext, rest: FakeRest) -> None:
    from datetime import datetime

    rest.on("GET", DEPLOY_PATH, body=DEPLOYMENT)
    rest.on("PATCH", DEPLOY_PATH, body=DEPLOYMENT)
    rollout.restart(ctx, "prod", "web", now=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC))
    [patch] = rest.writes()
    assert patch["content_type"] == "application/strategic-merge-patch+json"
    assert patch["body"] == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z"}}}}}


def test_plan_dry_runs_are_audited_as_dry_runs(ctx: WriteContext, rest: FakeRest, audit: AuditLog) -> None:
    rest.on("GET", "/api/v1", body={"resources": [
        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
        {"name": "pods/log", "kind": "Pod", "namespaced": True}]})
    merged = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "prod"}}
    rest.on("PATCH", "/api/v1/namespaces/prod/configmaps/a", body=merged)
    planned = apply.plan(ctx, _manifests(), "prod")
    assert [item.status for item in planned.items] == ["created"]
    patch = rest.writes()[0]
    assert patch["query"] == {"fieldManager": "kdash", "dryRun": "All"}
    assert patch["content_type"] == "application/apply-patch+yaml"
    assert patch["body"]["metadata"] == {"name": "a", "namespace": "prod"}
    assert [(l["verb"], l["dry_run"], l["result"], l["detail"]) for l in audit.lines()] == [
        ("apply", True, "ok", "created")]


def _configmap_api(rest: FakeRest) -> None:
    rest.on("GET", "/api/v1", body={"resources": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True}]})
    rest.on("PATCH", "/api/v1/namespaces/prod/configmaps/a",
            body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "prod"}})


def test_apply_dry_runs_again_then_applies_for_real(ctx: WriteContext, rest: FakeRest, audit: AuditLog) -> None:
    _configmap_api(rest)
    planned = apply.Plan([apply.PlanItem(_manifests()[0], "created")], "prod")
    assert apply.apply(ctx, planned) == "applied 1 objects: 1 created, 0 changed, 0 unchanged"
    assert [r["query"] for r in rest.writes()] == [{"fieldManager": "kdash", "dryRun": "All"},
                                                   {"fieldManager": "kdash"}]
    assert [(l["dry_run"], l["result"]) for l in audit.lines()] == [(True, "ok"), (False, "ok")]


def test_apply_refuses_a_plan_with_errors_without_a_request(ctx: WriteContext, rest: FakeRest) -> None:
    items = [apply.PlanItem(_manifests()[0], "created"),
             apply.PlanItem(_manifests()[0], "error", "app.yaml, document 2 (line 5): no kind X")]
    with pytest.raises(KdashError) as info:
        apply.apply(ctx, apply.Plan(items, "prod"))
    assert info.value.title == "Apply refused"
    assert info.value.message == "app.yaml, document 2 (line 5): no kind X; nothing was applied"
    assert rest.requests == []
    with pytest.raises(KdashError, match="Nothing to apply"):
        apply.apply(ctx, apply.Plan([], "prod"))


def _history(rest: FakeRest) -> None:
    def rs(revision: int, image_name: str) -> dict[str, Any]:
        return {"metadata": {"name": f"web-{revision}", "uid": f"rs-{revision}",
                             "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                             "ownerReferences": [{"uid": "d-uid", "controller": True}]},
                "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": str(revision)}},
                                      "spec": {"containers": [{"name": "web", "image": image_name}]}}}}
    rest.on("GET", "/apis/apps/v1/namespaces/prod/replicasets",
            body={"items": [rs(1, "nginx:1.24"), rs(2, "nginx:1.25")]})


TEST_FAILED = (422, {"kind": "Status", "code": 422, "reason": "Invalid", "details": {},
                     "message": "the server rejected our request due to an error in our request"})


def test_undo_retries_when_only_the_status_moved(ctx: WriteContext, rest: FakeRest, monkeypatch) -> None:
    monkeypatch.setattr(rollout, "backoff", lambda _attempt: None)
    _history(rest)
    # The controller bumped the status and the revision annotation: not a change of intent.
    moved = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], resourceVersion="11",
                                           annotations={"deployment.kubernetes.io/revision": "3"}))
    rest.on_each("GET", DEPLOY_PATH, [(200, DEPLOYMENT), (200, moved)])
    rest.on_each("PATCH", DEPLOY_PATH, [TEST_FAILED, (200, moved)])
    assert "back to revision 1 (nginx:1.24)" in rollout.undo(ctx, "prod", "web")
    patches = rest.writes()
    assert [p["body"][0] for p in patches] == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": v} for v in ("10", "11")]
    assert all(p["content_type"] == "application/json-patch+json" for p in patches)


def test_undo_fails_cleanly_when_the_spec_moved(ctx: WriteContext, rest: FakeRest, monkeypatch) -> None:
    monkeypatch.setattr(rollout, "backoff", lambda _attempt: None)
    _history(rest)
    edited = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], resourceVersion="12", generation=3))
    annotated = dict(DEPLOYMENT, metadata=dict(DEPLOYMENT["metadata"], resourceVersion="12",
                                               annotations={**DEPLOYMENT["metadata"]["annotations"], "team": "b"}))
    rest.on("PATCH", DEPLOY_PATH, *TEST_FAILED)
    for changed in (edited, annotated):
        rest.requests.clear()
        rest.on_each("GET", DEPLOY_PATH, [(200, DEPLOYMENT), (200, changed)])
        with pytest.raises(KdashError) as info:
            rollout.undo(ctx, "prod", "web")
        assert info.value.title == "Changed meanwhile"
        assert len(rest.writes()) == 1


def test_undo_reports_a_real_validation_error_at_once(ctx: WriteContext, rest: FakeRest) -> None:
    _history(rest)
    rest.on("GET", DEPLOY_PATH, body=DEPLOYMENT)
    rest.on("PATCH", DEPLOY_PATH, 422, {"kind": "Status", "code": 422, "reason": "Invalid",
                                       "message": "Deployment.apps \"web\" is invalid: spec.template: bad",
                                       "details": {"causes": [{"field": "spec.template"}]}})
    with pytest.raises(KdashError, match="is invalid: spec.template: bad"):
        rollout.undo(ctx, "prod", "web")
    assert len(rest.writes()) == 1
