"""The Jobs tree: CronJob → Jobs newest first → Pods, then standalone Jobs (batch/v1 fixtures)."""

from __future__ import annotations

from render_fixtures import load

from kdash.core.values import parse_time
from kdash.render.jobs import build_jobs_tree
from kdash.render.tree import flatten, label_at

DATA = load("jobs.json")
NOW = parse_time(DATA["now"])


def tree():
    return build_jobs_tree(DATA["cronjobs"], [c["job"] for c in DATA["jobs"]], DATA["pods"], NOW)


def test_cronjobs_then_standalone_jobs() -> None:
    nodes = tree()
    assert [(n.kind, n.name) for n in nodes] == [
        ("CronJob", "cleanup"), ("CronJob", "report"),
        ("Job", "flaky"), ("Job", "going"), ("Job", "held"), ("Job", "migrate")]
    report = nodes[1]
    assert [j.name for j in report.children] == ["report-29000010", "report-29000005"]  # newest first
    assert label_at(report, NOW) == "cronjob report  */5 * * * *  active 1  last schedule 10m ago"
    assert label_at(nodes[0], NOW) == "cronjob cleanup  0 3 * * *  active 0  last schedule <none>  SUSPENDED"
    assert (report.columns["suspend"], report.columns["active"], report.columns["time_zone"]) == ("False", "1", "Etc/UTC")


def test_job_lines_say_what_kubectl_says() -> None:
    lines = {n.name: (label_at(n, NOW), n.health) for _, n in flatten(tree())}
    assert lines["report-29000005"] == ("job report-29000005  Complete  1/1  30s  15m", "ok")
    assert lines["migrate"] == ("job migrate  Failed: BackoffLimitExceeded  0/1  60m  60m", "error")
    assert lines["flaky"] == ("job flaky  Running  0/1 of 4  2m  backoff 2/6  2m", "warning")
    assert lines["migrate-x2"][0].startswith("pod migrate-x2  OOMKilled  0/1")
    assert lines["migrate-x1"][0].startswith("pod migrate-x1  Error  0/1")
    assert lines["report-29000005-abcde"] == (
        "pod report-29000005-abcde  Completed  0/1  0  14m  node-1  10.1.0.9", "ok")


def test_keys_are_unique_and_ages_move_at_paint_time() -> None:
    keys = [n.key for _, n in flatten(tree())]
    assert len(keys) == len(set(keys))
    later = NOW.replace(hour=11)
    report = tree()[1]
    assert label_at(report, later).endswith("last schedule 70m ago")
