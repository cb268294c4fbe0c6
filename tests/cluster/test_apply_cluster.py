"""Server-side apply with a dry-run preview against the real control plane: all or nothing."""

from __future__ import annotations

import json
import textwrap

import pytest

from devcluster.cluster import ClusterError
from kdash.actions import apply
from kdash.actions.safety import AuditLog, WriteContext
from kdash.errors import KdashError


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


@pytest.fixture
def ctx(connection, audit) -> WriteContext:
    return WriteContext.for_connection(connection, audit=audit)


def manifests(text: str) -> list[apply.Manifest]:
    return apply.parse_manifests(textwrap.dedent(text).lstrip("\n"), "app.yaml")


def configmap(name: str, **data: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {json.dumps(data)}\n"


def kubectl_data(kubectl, namespace: str, name: str) -> dict[str, str] | None:
    """The ConfigMap's data as kubectl sees it, None when it does not exist."""
    try:
        return json.loads(kubectl("get", "configmap", name, "-n", namespace, "-o", "json"))["data"]
    except ClusterError as exc:
        assert "NotFound" in str(exc) or "not found" in str(exc)
        return None


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
"""


def test_preview_says_created_changed_unchanged_then_apply(ctx, kubectl, namespace, audit):
    first = manifests(configmap("same", a="1") + "---\n" + configmap("edited", a="1") + "---\n" + DEPLOYMENT)
    planned = apply.plan(ctx, first, namespace)
    assert [i.status for i in planned.items] == ["created"] * 3
    assert "+  name: web" in planned.items[2].diff and "+kind: Deployment" in planned.items[2].diff
    assert apply.apply(ctx, planned) == "applied 3 objects: 3 created, 0 changed, 0 unchanged"
    assert kubectl_data(kubectl, namespace, "edited") == {"a": "1"}
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)

    second = manifests(configmap("same", a="1") + "---\n" + configmap("edited", a="2") + "---\n"
                       + configmap("new", b="x") + "---\n" + DEPLOYMENT.replace("replicas: 1", "replicas: 2"))
    planned = apply.plan(ctx, second, namespace)
    assert [(i.manifest.name, i.status) for i in planned.items] == [
        ("same", "unchanged"), ("edited", "changed"), ("new", "created"), ("web", "changed")]
    assert planned.items[0].diff == ""
    edited = planned.items[1].diff.splitlines()
    assert edited[:2] == [f"--- live ConfigMap/{namespace}/edited", f"+++ applied ConfigMap/{namespace}/edited"]
    assert "-  a: '1'" in edited and "+  a: '2'" in edited
    web = planned.items[3].diff
    assert "-  replicas: 1" in web and "+  replicas: 2" in web
    for noise in ("managedFields", "resourceVersion", "uid:", "creationTimestamp", "status:", "generation"):
        assert noise not in web
    assert planned.summary() == "1 to create, 2 to change, 1 unchanged"
    assert kubectl_data(kubectl, namespace, "edited") == {"a": "1"}  # the preview changed nothing

    apply.apply(ctx, planned)
    assert kubectl_data(kubectl, namespace, "edited") == {"a": "2"}
    assert kubectl_data(kubectl, namespace, "new") == {"b": "x"}
    assert kubectl("get", "deployment/web", "-n", namespace, "-o", "jsonpath={.spec.replicas}") == "2"
    created = json.loads(kubectl("get", "configmap", "new", "-n", namespace, "-o", "json"))
    managers = created["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managers] == [("kdash", "Apply")]
    real = [l for l in audit.lines() if not l["dry_run"]]
    assert [(l["object"], l["result"], l["detail"]) for l in real[-4:]] == [
        (f"ConfigMap/{namespace}/same", "ok", "unchanged"), (f"ConfigMap/{namespace}/edited", "ok", "changed"),
        (f"ConfigMap/{namespace}/new", "ok", "created"), (f"Deployment/{namespace}/web", "ok", "changed")]


@pytest.mark.parametrize(("second", "message"), [
    ("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n",
     "app.yaml, document 2 (line 7): no kind Frobnicator in apiVersion v1 on this server"),
    ("apiVersion: nope.example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
     "no kind Widget in apiVersion nope.example.com/v1 on this server (the server has no apiVersion"),
    (DEPLOYMENT.replace("selector: {matchLabels: {app: web}}", "selector: {matchLabels: {app: other}}"),
     "`selector` does not match template `labels`"),
    (DEPLOYMENT.replace("replicas: 1", "replicas: 1\n  bogus: true"), ".spec.bogus: field not declared in schema"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: does-not-exist}\n",
     'namespaces "does-not-exist" not found'),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: default}\n",
     "Namespace is cluster-scoped; remove metadata.namespace"),
], ids=["unknown kind", "unknown apiVersion", "invalid", "unknown field", "no namespace", "cluster-scoped"])
def test_an_invalid_second_document_means_nothing_is_applied(ctx, kubectl, namespace, second, message):
    docs = manifests(configmap("first", a="1") + "---\n" + second.lstrip("\n"))
    planned = apply.plan(ctx, docs, namespace)
    assert [i.status for i in planned.items] == ["created", "error"]
    assert message in planned.items[1].message
    assert planned.items[1].message.startswith("app.yaml, document 2 (line ")
    with pytest.raises(KdashError) as info:
        apply.apply(ctx, planned)
    assert info.value.title == "Apply refused"
    assert message in info.value.message and "nothing was applied" in info.value.message
    assert kubectl_data(kubectl, namespace, "first") is None


def test_conflicts_with_other_managers_are_listed_and_force_takes_over(ctx, kubectl, namespace):
    kubectl("create", "configmap", "owned", "--from-literal=a=1", "-n", namespace)
    docs = manifests(configmap("owned", a="2"))
    planned = apply.plan(ctx, docs, namespace)
    [item] = planned.items
    assert item.status == "error"
    assert "fields owned by other field managers: .data.a (kubectl-create)" in item.message
    assert "apply with force" in item.message
    with pytest.raises(KdashError, match="Apply refused"):
        apply.apply(ctx, planned)
    assert kubectl_data(kubectl, namespace, "owned") == {"a": "1"}

    forced = apply.plan(ctx, docs, namespace, force=True)
    assert [i.status for i in forced.items] == ["changed"]
    apply.apply(ctx, forced)
    assert kubectl_data(kubectl, namespace, "owned") == {"a": "2"}


def test_malformed_yaml_names_the_line_and_sends_nothing(ctx, kubectl, namespace, audit):
    text = (configmap("ok", a="1")
            + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  labels: [a\ndata: {}\n")
    with pytest.raises(KdashError) as info:
        apply.parse_manifests(text, "app.yaml")
    assert info.value.title == "Invalid YAML"
    assert info.value.message == ("app.yaml, document 2, line 12: expected ',' or ']', but got ':' "
                                  "(while parsing a flow sequence started at line 11)")
    assert audit.lines() == []
    assert kubectl_data(kubectl, namespace, "ok") is None


def test_cluster_scoped_objects_and_the_default_namespace(ctx, kubectl, namespace):
    extra = f"{namespace}-x"
    docs = manifests(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {extra}}}\n---\n"
                     + configmap("in-default", a="1"))
    planned = apply.plan(ctx, docs, namespace)
    assert [(i.manifest.target, i.status) for i in planned.items] == [
        (f"Namespace/{extra}", "created"), (f"ConfigMap/{namespace}/in-default", "created")]
    try:
        apply.apply(ctx, planned)
        assert json.loads(kubectl("get", "namespace", extra, "-o", "json"))["metadata"]["name"] == extra
        assert kubectl_data(kubectl, namespace, "in-default") == {"a": "1"}
    finally:
        kubectl("delete", "namespace", extra, "--wait=false", check=False)


def test_the_same_object_twice_is_an_error(ctx, kubectl, namespace):
    docs = manifests(configmap("twice", a="1") + "---\n" + configmap("twice", a="2"))
    planned = apply.plan(ctx, docs, namespace)
    assert planned.items[1].status == "error"
    assert "the same object as app.yaml, document 1 (line 1)" in planned.items[1].message
