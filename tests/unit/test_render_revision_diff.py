"""The revision diff: exactly the changed fields, a unified YAML diff, no hash label, no secret values."""

from __future__ import annotations

import json
from pathlib import Path

from kdash.core.revision_diff import HIDDEN, changed_fields, template_of
from kdash.render.revision_diff import revision_diff

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "revision_diff.json").read_text())


def test_names_exactly_the_changed_fields() -> None:
    diff = revision_diff(FIXTURE["old"], FIXTURE["new"])
    assert (diff.old, diff.new) == (2, 5)
    assert diff.fields == ("metadata.annotations", "spec.containers[api].env[DB_PASSWORD].value",
                           "spec.containers[api].env[LOG_LEVEL].value", "spec.containers[api].image")


def test_unified_yaml_diff_without_noise_or_secrets() -> None:
    diff = revision_diff(FIXTURE["old"], FIXTURE["new"])
    assert diff.lines[:2] == ("--- revision 2", "+++ revision 5")
    changed = [line for line in diff.lines[2:] if line[:1] in "+-"]
    assert changed == ["+  annotations:", "+    kubectl.kubernetes.io/restartedAt: '2026-12-07T05:00:00Z'",
                       "-      value: <hidden>", "+      value: <hidden, changed>",
                       "-      value: info", "+      value: debug",
                       "-    image: shop/api:1.4", "+    image: shop/api:1.5"]
    text = "\n".join(diff.lines)
    assert "pod-template-hash" not in text and "hunter2" not in text and "correct-horse" not in text
    # The password's change shows, its values never; unchanged, it reads <hidden> on both sides.
    assert template_of(FIXTURE["new"])["spec"]["containers"][0]["env"][0] == {"name": "DB_PASSWORD", "value": HIDDEN}


def test_same_template_and_reordered_or_added_items() -> None:
    assert revision_diff(FIXTURE["old"], FIXTURE["old"]).lines == ()
    a = {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
    assert changed_fields(a, {"containers": a["containers"][::-1]}) == ["containers (order)"]
    assert changed_fields(a, {"containers": [*a["containers"], {"name": "c"}]}) == ["containers[c]"]
    assert changed_fields({"args": ["a"]}, {"args": ["b"]}) == ["args"]
