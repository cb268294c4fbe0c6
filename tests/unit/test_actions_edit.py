"""Edit: the patch carries only what the user changed plus the version read; the preview is the whole object."""

from __future__ import annotations

import copy

import pytest

from kdash.actions import edit
from kdash.actions.safety import AuditLog, WriteContext
from kdash.errors import KdashError
from tests.unit.test_actions_safety import FakeRest, audit, ctx, rest  # noqa: F401  (fixtures)

LIVE = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "app", "namespace": "prod", "uid": "u1", "resourceVersion": "41",
                 "labels": {"team": "a"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"big": 1}', "note": "x"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1"}],
                 "finalizers": ["example.com/keep"],
                 "managedFields": [{"manager": "kubectl"}]},
    "data": {"a": "1", "b": "2"},
}
PATH = "/api/v1/namespaces/prod/configmaps/app"


def edited(**changes) -> dict:
    view = copy.deepcopy(edit.editable(LIVE))
    for key, value in changes.items():
        view["data"][key] = value
        if value is None:
            del view["data"][key]
    return view


def test_the_editor_shows_the_editable_part_without_server_fields_or_kubectl_bookkeeping() -> None:
    text = edit.document(LIVE)
    assert "ownerReferences" not in edit.user_text(text) and "managedFields" not in text
    assert "last-applied-configuration" not in text and "note: x" in text
    assert "resourceVersion 41" in text.splitlines()[0]
    assert edit.parse_edited(text, LIVE) == edit.editable(LIVE)


def test_the_patch_is_only_the_change_plus_the_version_read() -> None:
    assert edit.patch_for(LIVE, edited(a="10", b=None, c="3")) == {
        "metadata": {"resourceVersion": "41"}, "data": {"a": "10", "b": None, "c": "3"}}
    assert edit.patch_for(LIVE, edited()) is None


def test_the_version_read_is_sent_even_when_the_user_deletes_resource_version_from_the_text() -> None:
    view = edited(a="10")
    view["metadata"]["resourceVersion"] = "999"  # typed in by hand: not what was read
    assert edit.patch_for(LIVE, view)["metadata"]["resourceVersion"] == "41"


def test_merge_patch_recurses_into_maps_and_replaces_lists() -> None:
    before = {"m": {"k": "v", "gone": "x"}, "l": [1, 2], "same": 1}
    after = {"m": {"k": "w"}, "l": [1], "same": 1, "new": {"x": 1}}
    assert edit.merge_patch(before, after) == {"m": {"k": "w", "gone": None}, "l": [1], "new": {"x": 1}}


def test_save_sends_a_merge_patch_and_audits_field_names_not_values(ctx: WriteContext, rest: FakeRest,
                                                                   audit: AuditLog) -> None:
    result = copy.deepcopy(LIVE)
    result["data"]["a"] = "secret-value"
    result["metadata"]["resourceVersion"] = "42"
    rest.on("PATCH", PATH, body=result)
    patch = edit.patch_for(LIVE, edited(a="secret-value"))
    edit.save(ctx, LIVE, patch, dry_run=True)
    edit.save(ctx, LIVE, patch)
    first, second = rest.writes()
    assert first["content_type"] == "application/merge-patch+json"
    assert first["query"] == {"fieldManager": "kdash", "dryRun": "All"} and second["query"] == {"fieldManager": "kdash"}
    assert second["body"] == {"metadata": {"resourceVersion": "41"}, "data": {"a": "secret-value"}}
    lines = audit.lines()
    assert [(l["verb"], l["dry_run"], l["result"]) for l in lines] == [("edit", True, "ok"), ("edit", False, "ok")]
    assert lines[1]["detail"] == "data.a; resourceVersion 41 → 42"
    assert "secret-value" not in audit.path.read_text()


def test_a_concurrent_change_is_refused_as_changed_meanwhile(ctx: WriteContext, rest: FakeRest) -> None:
    rest.on("PATCH", PATH, status=409, body={"kind": "Status", "code": 409, "reason": "Conflict",
                                             "message": "the object has been modified"})
    with pytest.raises(KdashError) as info:
        edit.save(ctx, LIVE, edit.patch_for(LIVE, edited(a="2")))
    assert info.value.title == "Changed meanwhile"
    assert "ConfigMap prod/app changed meanwhile; nothing was changed" in info.value.message


def test_the_preview_diffs_the_whole_object_so_a_lost_field_would_show() -> None:
    after = copy.deepcopy(LIVE)
    after["data"]["a"] = "10"
    del after["metadata"]["finalizers"]
    after["metadata"]["resourceVersion"] = "42"
    diff = edit.diff(LIVE, after)
    assert "-  a: '1'" in diff and "+  a: '10'" in diff
    assert "-  finalizers:" in diff
    assert "resourceVersion" not in diff and "managedFields" not in diff


def test_invalid_edits_name_the_problem() -> None:
    with pytest.raises(KdashError, match="metadata.name cannot change"):
        edit.parse_edited(edit.to_text(dict(edit.editable(LIVE), metadata={"name": "other", "namespace": "prod"})),
                          LIVE)
    with pytest.raises(KdashError, match="kind cannot change"):
        edit.parse_edited(edit.to_text(dict(edit.editable(LIVE), kind="Secret")), LIVE)
    with pytest.raises(KdashError, match="expected one object"):
        edit.parse_edited(edit.to_text(edit.editable(LIVE)) + "---\n" + edit.to_text(edit.editable(LIVE)), LIVE)
    assert edit.parse_edited("# only comments\n\n", LIVE) is None


def test_an_error_goes_on_top_and_the_line_numbers_still_match_the_file() -> None:
    broken = edit.user_text(edit.document(LIVE)).replace("  a: '1'", "  a: [1")
    text = edit.document(LIVE, broken, "edited object, document 1, line 9: oops\nsecond line")
    lines = text.splitlines()
    assert lines[:2] == ["# ERROR: edited object, document 1, line 9: oops", "# ERROR: second line"]
    assert edit.user_text(text) == broken
    with pytest.raises(KdashError) as info:
        edit.parse_edited(text, LIVE)
    bad_line = next(n for n, line in enumerate(lines, 1) if "a: [1" in line)
    assert f"line {bad_line + 1}" in info.value.message or f"line {bad_line}" in info.value.message
