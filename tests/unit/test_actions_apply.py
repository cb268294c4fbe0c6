"""Manifest parsing for apply (documents, lines, strictness) and the pure parts of the preview."""

from __future__ import annotations

import textwrap

import pytest

from kdash.actions import apply
from kdash.actions import diff as object_diff_module
from kdash.actions.apply import Manifest, Plan, PlanItem, parse_manifests
from kdash.errors import KdashError
from kdash.kube.discovery import Resource


def parse(text: str) -> list[Manifest]:
    return parse_manifests(textwrap.dedent(text).lstrip("\n"), "app.yaml")


def error_of(text: str) -> KdashError:
    with pytest.raises(KdashError) as info:
        parse(text)
    return info.value


def test_multi_document_file_keeps_document_numbers_and_lines() -> None:
    manifests = parse("""
        # a comment before the first document
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: one
        ---
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: two
          namespace: prod
        ---
        # only a comment: an empty document
        ...
    """)
    assert [(m.kind, m.name, m.namespace, m.index, m.line) for m in manifests] == [
        ("ConfigMap", "one", "", 1, 2),
        ("Deployment", "two", "prod", 3, 8),
    ]
    assert manifests[1].where == "app.yaml, document 3 (line 8)"
    assert manifests[1].target == "Deployment/prod/two"


def test_empty_text_and_comment_only_text_have_no_objects() -> None:
    assert parse("") == []
    assert parse("# nothing\n---\n---\n") == []


def test_kind_list_items_are_flattened_with_their_own_lines() -> None:
    manifests = parse("""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: a}
        - apiVersion: v1
          kind: Secret
          metadata: {name: b}
        ---
        apiVersion: v1
        kind: ConfigMapList
        items:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
    """)
    assert [(m.name, m.index, m.item, m.line) for m in manifests] == [
        ("a", 1, 1, 4), ("b", 1, 2, 7), ("c", 2, 1, 14)]
    assert manifests[1].where == "app.yaml, document 1, item 2 (line 7)"


def test_list_item_without_a_kind_names_the_item() -> None:
    error = error_of("""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: a}
        - apiVersion: v1
          metadata: {name: b}
    """)
    assert error.message == "app.yaml, document 1, item 2 (line 7): missing kind"


def test_malformed_yaml_names_document_and_line() -> None:
    error = error_of("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: ok}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: broken
          labels: [a, b
        data: {}
    """)
    assert error.title == "Invalid YAML"
    assert error.message.startswith("app.yaml, document 2, line 10: ")


def test_bad_indentation_names_the_line() -> None:
    error = error_of("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: x
         data: 1
    """)
    assert "document 1, line 5" in error.message


def test_duplicate_keys_are_an_error_with_both_lines() -> None:
    error = error_of("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: first
          name: second
    """)
    assert error.title == "Invalid YAML"
    assert "document 1, line 5" in error.message
    assert "duplicate key 'name' (first at line 4)" in error.message


def test_duplicate_top_level_keys_in_a_later_document() -> None:
    error = error_of("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---
        apiVersion: v1
        kind: ConfigMap
        kind: Secret
        metadata: {name: b}
    """)
    assert "document 2, line 7" in error.message and "duplicate key 'kind'" in error.message


def test_yaml_merge_keys_are_not_duplicates() -> None:
    manifests = parse("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: merged
          labels: &base {app: web}
          annotations:
            <<: *base
            app: override
    """)
    assert manifests[0].doc["metadata"]["annotations"] == {"app": "override"}


def test_tabs_get_a_clear_message() -> None:
    error = error_of("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n")
    assert "line 4" in error.message
    assert "tab" in error.message and "spaces" in error.message


@pytest.mark.parametrize(("text", "message"), [
    ("kind: ConfigMap\nmetadata: {name: a}\n", "app.yaml, document 1 (line 1): missing apiVersion"),
    ("apiVersion: v1\nmetadata: {name: a}\n", "app.yaml, document 1 (line 1): missing kind"),
    ("apiVersion: v1\nkind: ConfigMap\n", "app.yaml, document 1 (line 1): missing metadata (with a name)"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n",
     "app.yaml, document 1 (line 1): missing metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n",
     "app.yaml, document 1 (line 1): missing metadata.name; apply needs a fixed name, not generateName"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../secrets}\n", "cannot be used in a URL"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: a/b}\n", "metadata.namespace"),
    ("- a\n- b\n", "expected a mapping with apiVersion, kind and metadata, found list"),
    ("just a string\n", "found str"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbinaryData: {k: !!binary aGk=}\n",
     "not representable as JSON"),
])
def test_documents_missing_what_apply_needs(text: str, message: str) -> None:
    error = error_of(text)
    assert error.title == "Invalid manifest"
    assert message in error.message


def test_second_document_missing_name_is_named() -> None:
    error = error_of("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---

        apiVersion: v1
        kind: ConfigMap
        metadata: {}
    """)
    assert error.message == "app.yaml, document 2 (line 6): missing metadata.name"


def test_timestamps_stay_strings_like_kubectl_decodes_them() -> None:
    manifests = parse("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        data:
          since: 2024-01-01
          at: 2024-01-01T10:00:00Z
          replicas: "3"
    """)
    assert manifests[0].doc["data"] == {"since": "2024-01-01", "at": "2024-01-01T10:00:00Z", "replicas": "3"}


def test_resource_paths() -> None:
    assert Resource("v1", "ConfigMap", "configmaps", True).path("ns", "a") == "/api/v1/namespaces/ns/configmaps/a"
    assert Resource("apps/v1", "Deployment", "deployments", True).path("ns", "w") == \
        "/apis/apps/v1/namespaces/ns/deployments/w"
    assert Resource("v1", "Namespace", "namespaces", False).path(None, "ns") == "/api/v1/namespaces/ns"


def test_comparable_drops_status_and_server_fields_only() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "status": {"x": 1},
           "metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "7", "generation": 2,
                        "creationTimestamp": "t", "managedFields": [{}], "labels": {"k": "v"}},
           "data": {"a": "1"}}
    assert object_diff_module.comparable(obj) == {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "a", "namespace": "n", "labels": {"k": "v"}},
                                      "data": {"a": "1"}}


def _manifest(kind: str = "ConfigMap") -> Manifest:
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "a", "namespace": "n"}}
    return Manifest(doc, 1, 1, "app.yaml")


def test_diff_is_a_readable_unified_yaml_diff() -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "1"},
            "data": {"a": "1", "b": "2"}}
    merged = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "2"},
              "data": {"a": "1", "b": "3"}}
    diff = object_diff_module.object_diff(live, merged, _manifest().target)
    assert diff.splitlines()[:2] == ["--- live ConfigMap/n/a", "+++ applied ConfigMap/n/a"]
    assert "-  b: '2'" in diff and "+  b: '3'" in diff
    assert "resourceVersion" not in diff


def test_secret_values_are_masked_in_the_diff() -> None:
    live = {"kind": "Secret", "metadata": {"name": "a"}, "data": {"same": "c2VjcmV0", "changed": "b2xk"}}
    merged = {"kind": "Secret", "metadata": {"name": "a"}, "data": {"same": "c2VjcmV0", "changed": "bmV3"}}
    diff = object_diff_module.object_diff(live, merged, _manifest("Secret").target)
    assert "c2VjcmV0" not in diff and "b2xk" not in diff and "bmV3" not in diff
    assert "-  changed: '*** (before)'" in diff and "+  changed: '*** (after)'" in diff


def test_secret_data_in_the_last_applied_annotation_is_masked_too() -> None:
    last = "kubectl.kubernetes.io/last-applied-configuration"
    live = {"kind": "Secret", "metadata": {"name": "a", "annotations": {last: '{"data":{"p":"b2xk"}}'}},
            "data": {"p": "b2xk"}}
    merged = {"kind": "Secret", "metadata": {"name": "a", "annotations": {last: '{"data":{"p":"b2xk"}}'}},
              "data": {"p": "bmV3"}}
    diff = object_diff_module.object_diff(live, merged, _manifest("Secret").target)
    assert "b2xk" not in diff and "bmV3" not in diff


def test_plan_summary_and_ok() -> None:
    items = [PlanItem(_manifest(), "created"), PlanItem(_manifest(), "unchanged"),
             PlanItem(_manifest(), "error", "app.yaml, document 1 (line 1): boom")]
    planned = Plan(items, "default")
    assert not planned.ok
    assert planned.summary() == "1 to create, 0 to change, 1 unchanged, 1 error"
    assert Plan(items[:2], "default").ok


def test_conflict_message_lists_fields_and_managers() -> None:
    from kdash.errors import ApiException

    exc = ApiException(status=409, body='{"kind":"Status","code":409,"message":"Apply failed with 2 conflicts",'
                       '"details":{"causes":[{"reason":"FieldManagerConflict","message":'
                       '"conflict with \\"kubectl-create\\" using apps/v1","field":".spec.replicas"},'
                       '{"reason":"FieldManagerConflict","message":"conflict with \\"helm\\" using apps/v1",'
                       '"field":".spec.template.spec.containers[name=\\"web\\"].image"}]}}')
    message = apply._conflict_message(apply._field_conflicts(exc, apply.status_of(exc)))
    assert message == ('fields owned by other field managers: .spec.replicas (kubectl-create), '
                       '.spec.template.spec.containers[name="web"].image (helm); '
                       'apply with force to take them over')
