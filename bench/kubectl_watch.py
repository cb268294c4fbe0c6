"""A peer for event→screen: `kubectl get deploy -A -w` timed on the same scale writes, same run.

kubectl prints one table line per Deployment event (NAMESPACE NAME READY ...; READY is
ready/spec.replicas). For each scale write the peer's latency is from the moment the write's
HTTP response returned until kubectl printed a line of that Deployment with the written
replicas, read from its stdout pipe by a thread of the bench process (the same clock as kdash's
e2s). kubectl does no layout and paints nothing: this is the floor of apiserver + watch + decode
+ print on this machine under the same load.
"""

from __future__ import annotations

import subprocess
import threading
import time

from bench import results


class KubectlWatch:
    def __init__(self, info) -> None:
        self.lines: list[tuple[float, str, str, int]] = []  # (monotonic, namespace, name, replicas)
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [info.kubectl_path, "--kubeconfig", info.kubeconfig, "get", "deploy", "-A", "-w"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._thread = threading.Thread(target=self._read, daemon=True, name="kubectl-watch")
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            t = time.monotonic()
            parts = line.split()
            if len(parts) < 3 or "/" not in parts[2] or parts[0] == "NAMESPACE":
                continue
            try:
                replicas = int(parts[2].split("/", 1)[1])
            except ValueError:
                continue
            with self._lock:
                self.lines.append((t, parts[0], parts[1], replicas))

    def wait_listed(self, count: int, timeout: float) -> bool:
        """Until the initial listing (one line per Deployment) is printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.lines) >= count:
                    return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def latencies(self, writes) -> dict:
        """Per scale write: write returned → kubectl printed the written replicas (ms)."""
        with self._lock:
            lines = list(self.lines)
        by_key: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for t, namespace, name, replicas in lines:
            by_key.setdefault((namespace, name), []).append((t, replicas))
        found, missing = [], 0
        for w in writes:
            if w.type != "scale" or w.value is None:
                continue
            _, namespace, name = w.key.split("/", 2)
            hit = next((t for t, replicas in by_key.get((namespace, name), ())
                        if t >= w.t and replicas == w.value), None)
            if hit is None:
                missing += 1
            else:
                found.append((hit - w.t) * 1000)
        found.sort()
        return {"n": len(found), "missing": missing, "p50_ms": results.pct(found, 50),
                "p99_ms": results.pct(found, 99), "max_ms": round(found[-1], 1) if found else None}
