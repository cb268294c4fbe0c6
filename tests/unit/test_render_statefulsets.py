"""The StatefulSet tree: pods in ordinal order with revision and partition, claims with their phase."""

from __future__ import annotations

import copy

from render_fixtures import load

from kdash.core.values import parse_time
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.tree import flatten, label_at


def _build(mutate=None) -> list:
    fixture = copy.deepcopy(load("statefulsets.json"))
    if mutate:
        mutate(fixture)
    now = parse_time(fixture["now"])
    return build_statefulset_tree(fixture["statefulsets"]["items"], fixture["pods"]["items"],
                                  fixture["persistentvolumeclaims"]["items"],
                                  fixture["controllerrevisions"]["items"], now)


def _lines(nodes) -> list[str]:
    now = parse_time(load("statefulsets.json")["now"])
    return [label_at(n, now) for _, n in flatten(nodes)]


def test_staged_set_shows_partition_revisions_and_pods_in_order() -> None:
    db, web = _build()
    assert web.label.startswith("sts web  3/3 ready  updated 1/3  partition 2  rev 1→2  staged")
    assert web.columns["partition"] == "2" and web.columns["up_to_date"] == "1" and web.columns["current"] == "2"
    assert [c.name for c in web.children] == ["web-0", "web-1", "web-2"]
    held = web.children[0]
    assert "rev 1 (held by partition 2)" in held.label and held.columns["revision_state"] == "current"
    assert "rev 2  " in web.children[2].label and web.children[2].columns["revision_note"] == ""
    assert web.health == "warning"  # staged: older ordinals run the old template on purpose


def test_each_pod_lists_its_claims_with_phase() -> None:
    _, web = _build()
    claim = web.children[0].children[0]
    assert claim.kind == "PersistentVolumeClaim" and claim.name == "www-web-0"
    assert claim.label == "pvc www-web-0  Bound  kdash-pv-web-0  1Gi" and claim.health == "ok"


def test_pending_on_an_unbound_claim_says_so() -> None:
    db, _ = _build()
    pod = db.children[0]
    assert pod.name == "db-0" and "Pending" in pod.label
    assert pod.label.endswith("unbound claim data-db-0 (Pending)") and pod.health == "warning"
    assert pod.children[0].label == "pvc data-db-0  Pending  no volume bound (class kdash-unprovisioned)"


def test_an_ordinal_without_pod_is_visible_with_its_missing_claim() -> None:
    db, _ = _build()
    missing = db.children[1]
    assert missing.kind == "notice" and missing.label == "pod db-1  no pod: waits for db-0 to be Ready"
    assert missing.children[0].label == "pvc data-db-1  not created"


def test_ordinal_order_is_numeric() -> None:
    def grow(fixture):
        web = next(s for s in fixture["statefulsets"]["items"] if s["metadata"]["name"] == "web")
        web["spec"]["replicas"] = 11
        pod = next(p for p in fixture["pods"]["items"] if p["metadata"]["name"] == "web-2")
        ten = copy.deepcopy(pod)
        ten["metadata"]["name"] = "web-10"
        ten["metadata"]["uid"] = "uid-web-10"
        fixture["pods"]["items"].append(ten)

    _, web = _build(grow)
    assert [c.columns["ordinal"] for c in web.children] == [str(i) for i in range(11)]


def test_lines_fit_80_columns_in_the_common_case() -> None:
    assert all(len(line) + 4 <= 80 for line in _lines(_build()))


def test_on_delete_pods_say_they_wait_for_a_delete() -> None:
    def on_delete(fixture):
        web = next(s for s in fixture["statefulsets"]["items"] if s["metadata"]["name"] == "web")
        web["spec"]["updateStrategy"] = {"type": "OnDelete"}

    _, web = _build(on_delete)
    assert "OnDelete: delete pods to update" in web.label
    assert "(old: delete to update)" in web.children[0].label


def test_describe_shows_revisions_partition_and_kubectl_status() -> None:
    from kdash.render.details import describe

    web = next(s for s in load("statefulsets.json")["statefulsets"]["items"] if s["metadata"]["name"] == "web")
    (section,) = describe(web, {}, parse_time(load("statefulsets.json")["now"]), kind="StatefulSet")
    rows = dict(section.rows)
    assert rows["Update strategy"] == "RollingUpdate, partition 2"
    assert rows["Rollout"] == "partitioned roll out complete: 1 new pods have been updated..."
    assert rows["Update revision"] == web["status"]["updateRevision"]


def test_a_memo_reuses_unchanged_sets_and_equals_a_fresh_build() -> None:
    from kdash.render.tree import NodeMemo

    fixture = copy.deepcopy(load("statefulsets.json"))
    now = parse_time(fixture["now"])
    lists = [fixture[k]["items"] for k in ("statefulsets", "pods", "persistentvolumeclaims", "controllerrevisions")]
    memo = NodeMemo()
    first = build_statefulset_tree(*lists, now, cache=memo)
    again = build_statefulset_tree(*lists, now, cache=memo)
    assert all(a is b for a, b in zip(first, again)) and memo.hits == 2
    # A changed pod (a new dict, as the store makes) rebuilds its set only.
    pods = lists[1]
    index = next(i for i, p in enumerate(pods) if p["metadata"]["name"] == "web-1")
    pods[index] = copy.deepcopy(pods[index])
    pods[index]["status"]["phase"] = "Failed"
    db, web = build_statefulset_tree(*lists, now, cache=memo)
    assert db is again[0] and web is not again[1]
    assert [db, web] == build_statefulset_tree(*lists, now)
    assert "Failed" in web.children[1].label


def test_wide_output_names_a_missing_ordinal_by_its_text() -> None:
    from kdash.render.output import wide_table

    lines = wide_table([("STATEFULSETS", _build())]).splitlines()
    assert any(line.strip().startswith("pod db-1  no pod: waits for db-0 to be Ready") for line in lines)
    assert any(line.strip().startswith("pvc/www-web-0") and "Bound" in line for line in lines)
