"""The soak's budgets over its samples, a printed verdict and the plot: `python -m bench.soak_report FILE.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RSS_SLOPE_BUDGET_MB_PER_H = 10.0
PAUSE_BUDGET_MS = 250.0
WARMUP_S = 300.0  # RSS growth is judged after the first 5 minutes (the store and caches fill)
COUNTERS = ("threads", "os_threads", "fds", "sockets")


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value units per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / var * 3600


def warmup_s(duration_s: float) -> float:
    """5 minutes, or a third of a shorter run (a smoke run still gets a verdict)."""
    return min(WARMUP_S, duration_s / 3)


def verdict(samples: list[dict]) -> dict:
    """Each budget with its figure and whether it holds."""
    if len(samples) < 3:
        return {"ok": False, "reason": f"only {len(samples)} samples"}
    duration = samples[-1]["t"]
    warm = warmup_s(duration)
    steady = [s for s in samples if s["t"] >= warm]
    rss_slope = slope_per_hour([(s["t"], s["rss_mb"]) for s in steady])
    # Counters rise and fall with the session's cycle (a log follow opens streams, a switch starts
    # new watches before the old ones are joined): what leaks raises the floor they come back to.
    # "No growth" compares the floor (minimum) of the last third of the steady run with the first's.
    third = max(1, len(steady) // 3)
    counters = {}
    for name in COUNTERS:
        first, last = steady[:third], steady[-third:]
        counters[name] = {"first_third_min": min(s[name] for s in first), "last_third_min": min(s[name] for s in last),
                          "first_third_max": max(s[name] for s in first), "last_third_max": max(s[name] for s in last),
                          "slope_per_h": round(slope_per_hour([(s["t"], s[name]) for s in steady]), 2)}
        counters[name]["ok"] = counters[name]["last_third_min"] <= counters[name]["first_third_min"]
    pause = max(s["gc_max_ms"] for s in samples)
    worst = max(samples, key=lambda s: s["gc_max_ms"])
    checks = {
        "rss_slope_mb_per_h": {"value": round(rss_slope, 2), "budget": RSS_SLOPE_BUDGET_MB_PER_H,
                               "ok": rss_slope <= RSS_SLOPE_BUDGET_MB_PER_H},
        "gc_pause_max_ms": {"value": pause, "budget": PAUSE_BUDGET_MS, "ok": pause <= PAUSE_BUDGET_MS,
                            "at_s": worst["t"], "load1_then": worst.get("load1")},
        **{f"{name}_no_growth": c for name, c in counters.items()},
    }
    over = [s for s in samples if s["gc_max_ms"] > PAUSE_BUDGET_MS]
    # A namespace or context switch reloads the store, and kdash/heap.py then runs one full
    # collection over the whole heap: tell those pauses from the ones of a steady session.
    steady_pauses = [s["gc_max_ms"] for s in _without_reloads(samples)]
    return {
        "ok": all(c["ok"] for c in checks.values()),
        "duration_s": duration,
        "warmup_s": round(warm, 1),
        "checks": checks,
        "rss_mb": {"start": samples[0]["rss_mb"], "after_warmup": steady[0]["rss_mb"],
                   "end": samples[-1]["rss_mb"], "max": max(s["rss_mb"] for s in samples)},
        "samples_with_pause_over_budget": len(over),
        "gc_pause_max_cpu_ms": max(s.get("gc_max_cpu_ms", 0.0) for s in samples),
        "gc_pause_max_outside_reloads_ms": max(steady_pauses, default=0.0),
        "long_pauses": [p for s in samples for p in s.get("gc", {}).get("long", ())],
        "loop_stall_max_ms": max(s["loop_stall_max_ms"] for s in samples),
        "load1": {"min": min(s["load1"] for s in samples), "max": max(s["load1"] for s in samples),
                  "mean": round(sum(s["load1"] for s in samples) / len(samples), 2)},
    }


def _without_reloads(samples: list[dict]) -> list[dict]:
    """Samples in which kdash/heap.py froze no freshly loaded store (no reload collection)."""
    out = []
    for before, sample in zip(samples, samples[1:]):
        if (sample.get("heap") or {}).get("freezes") == (before.get("heap") or {}).get("freezes"):
            out.append(sample)
    return out


def describe(v: dict) -> str:
    if "checks" not in v:
        return f"soak: no verdict ({v.get('reason')})"
    c = v["checks"]
    lines = [f"soak over {v['duration_s'] / 60:.1f} min (budgets judged after {v['warmup_s']:.0f} s):"]

    def row(label: str, text: str, ok: bool) -> None:
        lines.append(f"  {'ok  ' if ok else 'FAIL'} {label:<26} {text}")

    r = c["rss_slope_mb_per_h"]
    row("RSS growth", f"{r['value']:+.2f} MB/h (budget ≤ {r['budget']:.0f}); RSS {v['rss_mb']['after_warmup']} → "
        f"{v['rss_mb']['end']} MB, max {v['rss_mb']['max']}", r["ok"])
    p = c["gc_pause_max_ms"]
    row("longest GC pause", f"{p['value']:.1f} ms at {p['at_s']:.0f} s (budget ≤ {p['budget']:.0f}; "
        f"load average then {p['load1_then']})", p["ok"])
    lines.append(f"  info longest GC pause in CPU time {v['gc_pause_max_cpu_ms']:.1f} ms; outside the "
                 f"collections after a store reload {v['gc_pause_max_outside_reloads_ms']:.1f} ms wall")
    for name in COUNTERS:
        k = c[f"{name}_no_growth"]
        row(f"{name} no growth", f"floor {k['first_third_min']} → {k['last_third_min']}, peak "
            f"{k['first_third_max']} → {k['last_third_max']} (first → last third; slope {k['slope_per_h']:+.2f}/h)",
            k["ok"])
    lines.append(f"  info longest UI-loop stall {v['loop_stall_max_ms']:.0f} ms; load average "
                 f"{v['load1']['min']}–{v['load1']['max']} (mean {v['load1']['mean']}) on this machine")
    lines.append("  verdict: " + ("all budgets met" if v["ok"] else "BUDGET MISSED"))
    return "\n".join(lines)


def plot(samples: list[dict], path: Path, title: str) -> Path | None:
    """RSS, GC pauses and load average over time as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    minutes = [s["t"] / 60 for s in samples]
    fig, (ax_rss, ax_gc, ax_n) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    ax_rss.plot(minutes, [s["rss_mb"] for s in samples], color="tab:blue")
    ax_rss.set_ylabel("RSS (MB)")
    ax_rss.set_title(title)
    warm = warmup_s(samples[-1]["t"]) / 60
    ax_rss.axvline(warm, color="grey", linestyle=":", linewidth=1)
    ax_gc.plot(minutes, [s["gc_max_ms"] or None for s in samples], "o", markersize=3, color="tab:orange",
               label="longest GC pause per sample (wall)")
    ax_gc.plot(minutes, [s.get("gc_max_cpu_ms") or None for s in samples], "^", markersize=3, color="tab:purple",
               label="the longest GC pause's CPU time")
    ax_gc.plot(minutes, [s["loop_stall_max_ms"] for s in samples], color="tab:red", linewidth=0.6, alpha=0.6,
               label="longest UI-loop stall per sample")
    ax_gc.axhline(PAUSE_BUDGET_MS, color="black", linestyle="--", linewidth=1, label="pause budget")
    ax_gc.set_yscale("log")  # wall times under load and CPU times are an order of magnitude apart
    ax_gc.set_ylabel("ms (log)")
    ax_gc.legend(loc="upper right", fontsize=8)
    load = ax_gc.twinx()
    load.plot(minutes, [s["load1"] for s in samples], color="tab:green", linewidth=0.8, alpha=0.6)
    load.set_ylabel("load average (1 min)", color="tab:green")
    for name in ("os_threads", "fds", "sockets"):
        ax_n.plot(minutes, [s[name] for s in samples], label=name)
    ax_n.set_ylabel("count")
    ax_n.set_xlabel("minutes")
    ax_n.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m bench.soak_report FILE.json [PLOT.png]", file=sys.stderr)
        return 2
    data = json.loads(Path(argv[0]).read_text())
    v = verdict(data["samples"])
    print(describe(v))
    out = Path(argv[1]) if len(argv) > 1 else Path(argv[0]).with_suffix(".png")
    if plot(data["samples"], out, f"kdash soak, {data.get('pods')} pods, {data.get('rate')} writes/s"):
        print(f"plot: {out}")
    return 0 if v["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
