"""Machine info, percentiles, the printed table and the JSON results files."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

# The budgets of issue 7 (2-core machine, local control plane); key → (limit, "max"/"min", note).
BUDGETS = {
    "first_tree_ratio": (1.0, "max", "first tree ≤ 1.0× kubectl table"),
    "first_tree_vs_raw": (1.5, "max", "stretch: ≤ 1.5× raw list"),
    "event_to_screen_p99_ms": (100.0, "max", "p99 ≤ 100 ms at 100 writes/s"),
    "events_behind": (0, "max", "zero behind at the end"),
    "key_to_paint_p95_ms": (50.0, "max", "p95 ≤ 50 ms under churn"),
    "rss_mb": (250.0, "max", "≤ 250 MB (budget set for 10k pods)"),
    "log_lines_per_s": (5000.0, "min", "5k lines/s"),
    "log_max_stall_ms": (100.0, "max", "no UI stall > 100 ms"),
}
# Above 10k pods, issue 13's own budgets for 30,000 pods / 3,000 Deployments.
LARGE = 10000
LARGE_BUDGETS = {
    "event_to_screen_p99_ms": (150.0, "max", "p99 ≤ 150 ms at 30k pods"),
    "rss_mb": (500.0, "max", "≤ 500 MB at 30k pods"),
}


def budgets_for(pods: int | None) -> dict[str, tuple[float, str, str]]:
    return {**BUDGETS, **LARGE_BUDGETS} if (pods or 0) > LARGE else BUDGETS


def machine_info(k8s_version: str) -> dict:
    import textual

    import kdash

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_gb": mem_gb,
        "loadavg_at_start": [round(x, 2) for x in load] if load else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "kdash": kdash.__version__,
        "textual": textual.__version__,
        "kubernetes": k8s_version,
    }


def pct(sorted_values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile of an already sorted list (None if empty)."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return round(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo), 1)


def timing_summary(samples: dict[str, list[float]]) -> dict:
    out = {}
    for name, values in samples.items():
        values = sorted(values)
        out[name] = {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
                     "max": round(values[-1], 1) if values else None,
                     "total_ms": round(sum(values), 1)}
    return out


def verdict(key: str, value, pods: int | None = None) -> str:
    budgets = budgets_for(pods)
    if key not in budgets or value is None:
        return ""
    limit, sense, _ = budgets[key]
    ok = value <= limit if sense == "max" else value >= limit
    return "met" if ok else "MISSED"


def table(data: dict) -> str:
    churn = data.get("churn") or {}
    logs = data.get("logs") or {}
    m = data.get("machine") or {}
    rows: list[tuple[str, str, str, str]] = []

    def row(label: str, key: str | None, value, unit: str = "", budget: str = "") -> None:
        text = "—" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        rows.append((label, f"{text} {unit}".strip(), budget, verdict(key, value, data.get("pods")) if key else ""))

    def budget_of(key: str) -> str:
        limit, sense, _ = budgets_for(data.get("pods"))[key]
        return f"{'≤' if sense == 'max' else '≥'} {limit:g}"

    row("pods / deployments", None, f"{data.get('pods')} / {data.get('deployments')}")
    row("kubectl get deploy,rs,pods,svc -A", None, data.get("kubectl_list_s"), "s")
    row("raw HTTP list (same kinds)", None, data.get("raw_list_s"), "s")
    row("kdash tree -A (headless)", None, data.get("headless_tree_s"), "s")
    row("first complete tree (fresh process)", None, data.get("first_tree_s"), "s")
    row("  ratio to kubectl", "first_tree_ratio", data.get("first_tree_ratio"), "×", budget_of("first_tree_ratio"))
    row("  ratio to raw list", "first_tree_vs_raw", data.get("first_tree_vs_raw"), "×", budget_of("first_tree_vs_raw"))
    if churn:
        load = churn.get("load", {})
        row("churn writes (achieved rate)", None, f"{load.get('ok')} ({load.get('achieved_rate')}/s)")
        row("event→screen p50 (scale writes)", None, data.get("event_to_screen_p50_ms"), "ms")
        row("event→screen p99 (scale writes)", "event_to_screen_p99_ms", data.get("event_to_screen_p99_ms"), "ms",
            budget_of("event_to_screen_p99_ms"))
        for kind in ("flip", "rollout"):
            c = churn.get(kind) or {}
            if c.get("n"):
                row(f"  {kind} (incl. {'kubelet' if kind == 'flip' else 'controller'}) p50/p99", None,
                    f"{c.get('e2s_p50')} / {c.get('e2s_p99')}", "ms")
        row("  kubectl get deploy -A -w p99 (same writes)", None, data.get("kubectl_watch_p99_ms"), "ms")
        row("  event→screen p99 / kubectl watch p99", None, data.get("event_to_screen_vs_kubectl_watch_p99"), "×")
        row("scale writes not shown at end + 2 s", "events_behind", data.get("events_behind"), "",
            budget_of("events_behind"))
        row("  flips/rollouts not shown yet", None, data.get("events_behind_indirect"))
        row("key→paint p95 under churn", "key_to_paint_p95_ms", data.get("key_to_paint_p95_ms"), "ms",
            budget_of("key_to_paint_p95_ms"))
        row("longest UI stall under churn", None, churn.get("max_stall_ms"), "ms")
        row("full GC passes under churn (n / max / total)", None,
            f"{data.get('gc_full_passes')} / {data.get('gc_full_max_ms')} / {data.get('gc_full_total_ms')}", "ms")
        row("GC-tracked objects after the churn", None, data.get("gc_tracked_after_churn"))
    row("peak RSS (VmHWM)", "rss_mb", data.get("rss_mb"), "MiB", budget_of("rss_mb"))
    if logs:
        row("log lines/s into the view", "log_lines_per_s", data.get("log_lines_per_s"), "",
            budget_of("log_lines_per_s") + f" (offered {logs.get('offered_per_s')})")
        row("longest UI stall while logging", "log_max_stall_ms", data.get("log_max_stall_ms"), "ms",
            budget_of("log_max_stall_ms"))
        row("RSS drift over the log window", None, data.get("log_rss_growth_mb"), "MiB")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = (f"kdash bench · {m.get('cpu_count')} CPUs · Python {m.get('python')} · kdash {m.get('kdash')} · "
            f"k8s {m.get('kubernetes')} · {data.get('started')}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)).rstrip())
    return "\n".join(lines)


def write(data: dict, directory: Path, started: datetime) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for key in ("pods", "deployments", "first_tree_s", "kubectl_list_s", "raw_list_s", "first_tree_ratio",
                "event_to_screen_p50_ms", "event_to_screen_p99_ms", "events_behind", "key_to_paint_p95_ms",
                "rss_mb", "log_lines_per_s", "log_max_stall_ms"):
        data.setdefault(key, None)
    data["budgets"] = {k: {"limit": v[0], "sense": v[1], "what": v[2],
                           "result": verdict(k, data.get(k), data.get("pods")) or None}
                       for k, v in budgets_for(data.get("pods")).items()}
    text = json.dumps(data, indent=2, default=str)
    path = directory / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{data.get('pods')}pods.json"
    path.write_text(text)
    (directory / "latest.json").write_text(text)
    return path
