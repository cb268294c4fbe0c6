"""Pod rows: kubectl's STATUS/READY/RESTARTS for every pod state in the fixtures."""

from __future__ import annotations

import pytest
from render_fixtures import NOW, by_name, pod_cases

from kdash.core.pods import is_pod_ready, pod_status
from kdash.render.pods import pod_row

CASES = pod_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_kubectl_columns(case: dict) -> None:
    row = pod_row(case["pod"], NOW)
    expected = case["expected"]
    assert (row.status, row.ready_text, row.restarts_text) == (
        expected["status"], expected["ready"], expected["restarts"]), case["why"]
    assert pod_status(case["pod"]) == expected["status"]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_health_class(case: dict) -> None:
    assert pod_row(case["pod"], NOW).health == case["expected"]["health"], case["why"]


def test_row_fields_of_a_running_pod() -> None:
    pod = by_name("pods", "web-7d9c6b5f4-abcde")
    row = pod_row(pod, NOW)
    assert row.name == "web-7d9c6b5f4-abcde"
    assert row.namespace == "default"
    assert row.uid == pod["metadata"]["uid"]
    assert row.node == "node-1"
    assert row.ip == "10.244.0.11"
    assert row.age == "7m29s"
    assert row.images == ("nginx:1.21",)
    assert row.ready is True
    assert row.restarts == 0
    assert row.phase == "Running"


def test_pending_pod_without_ip_or_node() -> None:
    pod = by_name("pods", "web-7d9c6b5f4-klmno")
    row = pod_row(pod, NOW)
    assert (row.status, row.ip, row.ready) == ("ContainerCreating", "<none>", False)
    unscheduled = next(c["pod"] for c in CASES if c["case"] == "pending-unschedulable")
    assert pod_row(unscheduled, NOW).node == "<none>"


def test_restarts_show_time_since_last_termination() -> None:
    row = pod_row(by_name("pods", "api-58c4d7f9b6-bbbbb"), NOW)
    assert row.restarts == 2
    assert row.restarts_text == "2 (4m ago)"
    assert row.status == "Running"  # an OOMKilled last state does not change the current status


def test_ready_condition_is_separate_from_container_counts() -> None:
    pod = by_name("pods", "web-7d9c6b5f4-fghij")
    assert not is_pod_ready(pod)
    assert pod_row(pod, NOW).ready_text == "0/1"


def test_minimal_pod_does_not_crash() -> None:
    row = pod_row({"metadata": {"name": "bare"}}, NOW)
    assert (row.name, row.status, row.ready_text, row.age, row.health) == ("bare", "Unknown", "0/0", "<unknown>", "warning")
