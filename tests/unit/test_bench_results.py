"""The bench's verdicts: 30,000 pods are judged by their own budgets (issue 13), smaller runs by the 10k ones."""

from __future__ import annotations

from bench import results


def test_a_30k_run_is_judged_by_its_own_budgets():
    assert results.verdict("rss_mb", 450.0, pods=30000) == "met"
    assert results.verdict("rss_mb", 450.0, pods=10000) == "MISSED"
    assert results.verdict("event_to_screen_p99_ms", 140.0, pods=30000) == "met"
    assert results.verdict("event_to_screen_p99_ms", 140.0, pods=2000) == "MISSED"
    assert results.verdict("key_to_paint_p95_ms", 60.0, pods=30000) == "MISSED"  # the same at every size


def test_the_table_and_json_say_which_budget_applied(tmp_path):
    from datetime import UTC, datetime

    data = {"pods": 30000, "deployments": 3000, "rss_mb": 450.0, "event_to_screen_p99_ms": 200.0}
    lines = results.table(data).splitlines()
    assert any("peak RSS" in line and "≤ 500" in line and line.endswith("met") for line in lines)
    results.write(data, tmp_path, datetime(2026, 12, 8, tzinfo=UTC))
    assert data["budgets"]["rss_mb"]["limit"] == 500.0 and data["budgets"]["rss_mb"]["result"] == "met"
    assert data["budgets"]["event_to_screen_p99_ms"]["result"] == "MISSED"
