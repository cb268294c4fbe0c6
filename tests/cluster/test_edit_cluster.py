"""Edit and apply edge cases against the real control plane, compared with kubectl."""

from __future__ import annotations

import json
import uuid

import pytest

from kdash.actions import apply, edit
from kdash.actions.safety import AuditLog, WriteContext
from kdash.errors import KdashError

FINALIZER = "example.com/keep"


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


@pytest.fixture
def ctx(connection, audit) -> WriteContext:
    return WriteContext.for_connection(connection, audit=audit)


def get(kubectl, kind: str, namespace: str | None, name: str) -> dict:
    where = ["-n", namespace] if namespace else []
    return json.loads(kubectl("get", kind, name, *where, "-o", "json"))


@pytest.fixture
def guarded(kubectl, namespace):
    """A ConfigMap with an owner, a finalizer, labels and kubectl's last-applied annotation."""
    kubectl("create", "configmap", "owner", "-n", namespace)
    owner = get(kubectl, "configmap", namespace, "owner")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "app", "labels": {"team": "a"}, "finalizers": [FINALIZER],
                             "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                  "uid": owner["metadata"]["uid"]}]},
                "data": {"a": "1", "b": "2"}}
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    yield get(kubectl, "configmap", namespace, "app")
    kubectl("patch", "configmap", "app", "-n", namespace, "--type=json",
            "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]', check=False)


def edited_view(live: dict, **data: str) -> dict:
    text = edit.document(live).replace("  a: '1'\n", "".join(f"  {k}: '{v}'\n" for k, v in data.items()))
    view = edit.parse_edited(text, live)
    assert view is not None
    return view


def test_edit_changes_only_what_the_user_changed(ctx, kubectl, namespace, guarded):
    live = edit.fetch(ctx.api_client, "ConfigMap", namespace, "app")
    patch = edit.patch_for(live, edited_view(live, a="10"))
    preview = edit.save(ctx, live, patch, dry_run=True)
    diff = edit.diff(live, preview)
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ["-  a: '1'", "+  a: '10'"], diff
    edit.save(ctx, live, patch)
    after = get(kubectl, "configmap", namespace, "app")
    assert after["data"] == {"a": "10", "b": "2"}
    for field in ("ownerReferences", "finalizers", "labels", "annotations", "uid"):
        assert after["metadata"].get(field) == guarded["metadata"].get(field), field
    assert "kubectl.kubernetes.io/last-applied-configuration" in after["metadata"]["annotations"]


@pytest.mark.parametrize("dry_run", [True, False], ids=["preview", "save"])
def test_a_change_made_while_editing_is_a_conflict_not_an_overwrite(ctx, kubectl, namespace, guarded, dry_run):
    live = edit.fetch(ctx.api_client, "ConfigMap", namespace, "app")
    view = edited_view(live, a="mine")
    view["metadata"].pop("resourceVersion", None)
    kubectl("patch", "configmap", "app", "-n", namespace, "--type=merge", "-p", '{"data": {"b": "theirs"}}')
    with pytest.raises(KdashError) as info:
        edit.save(ctx, live, edit.patch_for(live, view), dry_run=dry_run)
    assert info.value.title == "Changed meanwhile"
    assert f"ConfigMap {namespace}/app changed meanwhile; nothing was changed" in info.value.message
    assert get(kubectl, "configmap", namespace, "app")["data"] == {"a": "1", "b": "theirs"}


# -- apply ---------------------------------------------------------------------------------------


def namespaced_file(ns: str, namespace_first: bool = False) -> str:
    """A ConfigMap, the Namespace, a Secret; `kubectl apply -f` needs the Namespace first, kdash does not."""
    namespace = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: a}}}}\n"
    objects = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\n"
               "data: {mode: blue}\n",
               f"apiVersion: v1\nkind: Secret\nmetadata: {{name: token, namespace: {ns}}}\nstringData: {{t: x}}\n"]
    documents = [namespace, *objects] if namespace_first else [objects[0], namespace, objects[1]]
    return "---\n".join(documents)


@pytest.fixture
def new_namespaces(kubectl):
    names = [f"t-new-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    yield names
    for name in names:
        kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_a_namespace_and_objects_in_it_apply_like_kubectl(ctx, kubectl, namespace, new_namespaces):
    ours, theirs, _ = new_namespaces
    planned = apply.plan(ctx, apply.parse_manifests(namespaced_file(ours), "app.yaml"), namespace)
    assert planned.ok, planned.errors
    assert [(i.status, i.waits_for) for i in planned.items] == [("created", ours), ("created", ""),
                                                                  ("created", ours)]
    assert kubectl("get", "namespace", ours, check=False) == "", "the preview created nothing"
    result = apply.apply(ctx, planned)
    assert result == "applied 3 objects: 3 created, 0 changed, 0 unchanged"
    kubectl("apply", "-f", "-", input=namespaced_file(theirs, namespace_first=True))
    for kind, name in (("configmap", "settings"), ("secret", "token")):
        mine, reference = get(kubectl, kind, ours, name), get(kubectl, kind, theirs, name)
        assert mine.get("data") == reference.get("data"), kind
    assert get(kubectl, "namespace", None, ours)["metadata"]["labels"]["team"] == "a"
    # Applied again: everything exists, nothing waits.
    again = apply.plan(ctx, apply.parse_manifests(namespaced_file(ours), "app.yaml"), namespace)
    assert [(i.status, i.waits_for) for i in again.items] == [("unchanged", "")] * 3


def test_a_bad_object_in_a_new_namespace_stops_the_apply_and_says_what_exists(ctx, kubectl, namespace,
                                                                              new_namespaces):
    ns = new_namespaces[0]
    text = namespaced_file(ns).replace("data: {mode: blue}", "data: {'bad key!': blue}")
    planned = apply.plan(ctx, apply.parse_manifests(text, "app.yaml"), namespace)
    # The apiserver refuses a missing namespace before it validates the object: the preview
    # cannot see the bad key; it says these objects are checked once the namespace exists.
    assert planned.ok and [i.waits_for for i in planned.waiting] == [ns, ns]
    with pytest.raises(KdashError) as info:
        apply.apply(ctx, planned)
    assert info.value.title == "Apply stopped"
    assert "bad key!" in info.value.message
    assert info.value.message.endswith(f"already created: Namespace/{ns} (nothing from the file in it); "
                                       "nothing else was applied")
    names = kubectl("get", "configmaps,secrets", "-n", ns, "-o", "name").split()
    assert "configmap/settings" not in names and "secret/token" not in names


def test_only_a_field_manager_conflict_offers_force(ctx, kubectl, namespace):
    kubectl("create", "configmap", "owned", "--from-literal=a=1", "-n", namespace)
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned}\ndata: {a: '2'}\n---\n" \
           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken}\ndata: {'bad key!': x}\n"
    planned = apply.plan(ctx, apply.parse_manifests(text, "conflict-notes.yaml"), namespace)
    assert [(i.status, i.conflict) for i in planned.items] == [("error", True), ("error", False)]
    assert "kubectl-create" in planned.items[0].message and "conflict" in planned.items[1].message


def test_apply_to_an_object_being_deleted_says_so(ctx, kubectl, namespace, guarded):
    kubectl("delete", "configmap", "app", "-n", namespace, "--wait=false")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: '3'}\n"
    planned = apply.plan(ctx, apply.parse_manifests(text, "app.yaml"), namespace, force=True)
    [item] = planned.items
    assert item.status == "changed"
    assert item.deleting.startswith("being deleted since ") and FINALIZER in item.deleting
    assert "does not stop the deletion" in item.deleting
    result = apply.apply(ctx, planned)
    assert result.endswith(f"still being deleted (apply does not stop that): ConfigMap/{namespace}/app")
    assert get(kubectl, "configmap", namespace, "app")["metadata"].get("deletionTimestamp")
