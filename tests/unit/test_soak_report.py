"""The soak's budgets (bench/soak_report.py) on made-up samples: slope, counters, pauses, reloads."""

from __future__ import annotations

import json

from bench import soak_report


def samples(minutes: float = 60, rss=lambda t: 150.0, pause=lambda t: 20.0, fds=lambda t: 17,
            freezes=lambda t: 1) -> list[dict]:
    out = []
    for i in range(int(minutes * 6) + 1):
        t = i * 10.0
        out.append({"t": t, "rss_mb": rss(t), "gc_max_ms": pause(t), "gc_max_cpu_ms": pause(t) / 4,
                    "loop_stall_max_ms": 50.0, "threads": 14, "os_threads": 14, "fds": fds(t), "sockets": fds(t) - 6,
                    "load1": 2.0, "heap": {"freezes": freezes(t)}, "gc": {"long": []}})
    return out


def test_slope_is_a_least_squares_fit_per_hour() -> None:
    assert soak_report.slope_per_hour([(0, 100.0), (1800, 105.0), (3600, 110.0)]) == 10.0
    assert soak_report.slope_per_hour([(0, 1.0)]) == 0.0


def test_a_flat_session_meets_every_budget() -> None:
    v = soak_report.verdict(samples())
    assert v["ok"], v
    assert v["warmup_s"] == 300
    assert "all budgets met" in soak_report.describe(v)


def test_growth_after_the_warmup_fails_but_growth_during_it_does_not() -> None:
    warming = soak_report.verdict(samples(rss=lambda t: 100 + min(t, 300) / 10))  # +30 MB in 5 min, then flat
    assert warming["checks"]["rss_slope_mb_per_h"]["ok"]
    leaking = soak_report.verdict(samples(rss=lambda t: 150 + t / 3600 * 12))  # 12 MB/h
    assert not leaking["checks"]["rss_slope_mb_per_h"]["ok"]
    assert leaking["checks"]["rss_slope_mb_per_h"]["value"] == 12.0


def test_a_counter_that_creeps_up_fails_no_growth() -> None:
    v = soak_report.verdict(samples(fds=lambda t: 17 + int(t // 900)))
    assert not v["checks"]["fds_no_growth"]["ok"]
    assert v["checks"]["threads_no_growth"]["ok"]


def test_pauses_over_budget_fail_and_reload_pauses_are_told_apart() -> None:
    # A long pause in the sample where a reload froze a new store; steady pauses stay short.
    v = soak_report.verdict(samples(pause=lambda t: 400.0 if t == 1200 else 20.0,
                                    freezes=lambda t: 2 if t >= 1200 else 1))
    assert not v["checks"]["gc_pause_max_ms"]["ok"]
    assert v["checks"]["gc_pause_max_ms"]["at_s"] == 1200
    assert v["gc_pause_max_outside_reloads_ms"] == 20.0
    assert "BUDGET MISSED" in soak_report.describe(v)


def test_the_report_command_prints_the_verdict_and_plots(tmp_path, capsys) -> None:
    path = tmp_path / "soak.json"
    path.write_text(json.dumps({"samples": samples(minutes=10), "pods": 2000, "rate": 20}))
    assert soak_report.main([str(path), str(tmp_path / "plot.png")]) == 0
    assert "all budgets met" in capsys.readouterr().out
