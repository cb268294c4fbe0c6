"""A peer for event→screen: `kubectl get deploy -A -w` timed on the same scale writes, same run.

kubectl prints one table line per Deployment event (NAMESPACE NAME READY ...; READY is
ready/spec.replicas). For each scale write the peer's latency is from the moment the write's
HTTP response returned until kubectl printed a line of that Deployment with the written
replicas, stamped by a small process of its own that reads kubectl's stdout (CLOCK_MONOTONIC,
the clock of kdash's e2s). kubectl does no layout and paints nothing: this is the floor of apiserver + watch + decode
+ print on this machine under the same load.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import results

REPO = Path(__file__).resolve().parent.parent


class KubectlWatch:
    """Runs `kubectl get deploy -A -w` under a stamper process (its own GIL: the bench process is
    busy pacing writes) that writes each line with its CLOCK_MONOTONIC time (system-wide, the
    same clock as the bench's and the app's) to a file."""

    def __init__(self, info) -> None:
        self.out = Path(tempfile.mkstemp(prefix="kdash-bench-kubectl-watch-", suffix=".txt")[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.kubectl_watch", str(self.out), info.kubectl_path,
             "--kubeconfig", info.kubeconfig, "get", "deploy", "-A", "-w"],
            cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def lines(self) -> list[tuple[float, str, str, int]]:
        """(monotonic, namespace, name, replicas) per printed Deployment line so far."""
        out = []
        for row in self.out.read_text().splitlines():
            t, _, line = row.partition("\t")
            parts = line.split()
            if len(parts) < 3 or "/" not in parts[2] or parts[0] == "NAMESPACE":
                continue
            try:
                out.append((float(t), parts[0], parts[1], int(parts[2].split("/", 1)[1])))
            except ValueError:
                continue
        return out

    def wait_listed(self, count: int, timeout: float) -> bool:
        """Until the initial listing (one line per Deployment) is printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.lines()) >= count:
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        self.ended_before_close = self.proc.poll()  # kubectl's exit code if its watch had ended
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def latencies(self, writes) -> dict:
        """Per scale write: write returned → kubectl printed the written replicas (ms).

        A line counts for a write if it shows the written replicas and came after the previous
        write to that Deployment returned (which wrote the other value): a line before this
        write returned is an event that beat the response, 0 ms, as the app's probe counts it.
        """
        lines = self.lines()
        by_key: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for t, namespace, name, replicas in lines:
            by_key.setdefault((namespace, name), []).append((t, replicas))
        found, missing, early = [], 0, 0
        previous: dict[tuple[str, str], float] = {}
        for w in sorted((w for w in writes if w.type == "scale" and w.value is not None), key=lambda w: w.t):
            _, namespace, name = w.key.split("/", 2)
            since = previous.get((namespace, name), float("-inf"))
            previous[(namespace, name)] = w.t
            hit = next((t for t, replicas in by_key.get((namespace, name), ())
                        if t > since and replicas == w.value), None)
            if hit is None:
                missing += 1
                continue
            early += hit < w.t
            found.append(max(0.0, hit - w.t) * 1000)
        found.sort()
        last = max((t for t, *_ in lines), default=None)
        self.out.unlink(missing_ok=True)
        stderr = Path(f"{self.out}.err")
        errors = stderr.read_text()[-500:] if stderr.exists() else ""
        stderr.unlink(missing_ok=True)
        return {"n": len(found), "missing": missing, "early": early, "lines": len(lines),
                "ended_before_close": getattr(self, "ended_before_close", None), "stderr": errors,
                "restarts": errors.count("; restart "),
                "last_line_t": last,
                "p50_ms": results.pct(found, 50), "p99_ms": results.pct(found, 99),
                "max_ms": round(found[-1], 1) if found else None}


def stamp(out: str, command: list[str]) -> int:
    """Run `command`, writing each stdout line to `out` as "<monotonic>\t<line>", flushed.

    kubectl 1.20's `get -w` ends with status 0 when the server closes its watch (seen after a
    minute or so under load); it is restarted with `--watch-only`, so the initial listing is not
    printed again (events while it reconnects are missed and show as missing writes).
    """
    current: list[subprocess.Popen] = []

    def stop(*_) -> None:
        for proc in current:
            proc.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    restarts = 0
    with open(out + ".err", "w") as errors, open(out, "a") as handle:  # stderr: kubectl's complaints
        while True:
            proc = subprocess.Popen(command if not restarts else [*command, "--watch-only"],
                                    stdout=subprocess.PIPE, stderr=errors, text=True, bufsize=1)
            current[:] = [proc]
            assert proc.stdout is not None
            for line in proc.stdout:
                handle.write(f"{time.monotonic()}\t{line}")
                handle.flush()
            code = proc.wait()
            restarts += 1
            errors.write(f"kubectl exited with {code}; restart {restarts}\n")
            errors.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(stamp(sys.argv[1], sys.argv[2:]))
