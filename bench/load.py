"""Load generator: N pods in M Deployments (plus a Service each) across a few namespaces, then churn.

Churn writes are chosen so that the tree shows their effect, which is what event→screen measures:
  scale     PATCH .../deployments/<d>/scale, replicas toggling base ↔ base+1. The Deployment line
            shows the new desired count ("3/4 ready") as soon as the Deployment event arrives:
            this is the direct write→screen path (the headline figure).
  flip      JSON-patch a pod's image between a good one and ":bad"; the fake kubelet answers with
            ImagePullBackOff / Running. Includes the kubelet's reaction (watch + status PATCH).
  rollout   a pod-template annotation change (a rolling update); the Deployment line shows the
            next "rev N" once the deployment controller made the new ReplicaSet. Includes the
            controller's reaction, and the rollout itself adds pod churn.
Each deployment is written at most once per M/rate seconds (round robin), so a write's effect can
never be hidden by the next write to the same object unless the view is that far behind.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.api import JSON_PATCH, MERGE_PATCH, Api, ApiError
from devcluster.fake_kubelet import LOG_RATE

LABEL = "kdash-bench"
GOOD_IMAGE = "nginx:1.21"
BAD_IMAGE = "nginx:bad"
LOG_NAMESPACE = "bench-logs"
LOG_DEPLOYMENT = "logs"
ROLLOUT_PERIOD = 5.0  # one rolling update every this many seconds of churn


@dataclasses.dataclass
class Deployment:
    namespace: str
    name: str
    replicas: int
    role: str = "scale"  # scale | flip | rollout
    current: int = 0
    revision: int = 1

    @property
    def key(self) -> str:
        return f"Deployment/{self.namespace}/{self.name}"


@dataclasses.dataclass
class Layout:
    pods: int
    namespaces: list[str]
    deployments: list[Deployment]
    log_pods: int
    log_rate_per_pod: int

    def by_role(self, role: str) -> list[Deployment]:
        return [d for d in self.deployments if d.role == role]


def plan(pods: int, deployments: int, log_pods: int = 5, log_rate: int = 5000) -> Layout:
    deployments = max(1, min(deployments, pods))
    n_ns = max(1, min(10, deployments // 50))
    namespaces = [f"bench-{i:02d}" for i in range(n_ns)]
    base, extra = divmod(pods, deployments)
    items = []
    for i in range(deployments):
        replicas = base + (1 if i < extra else 0)
        role = "scale"
        if deployments >= 20 and i % 20 == 1:
            role = "flip"  # never scaled: their pods stay put, so flips always have a target
        elif deployments >= 20 and i % 20 == 2 and i < 20 * 8:
            role = "rollout"  # at most 8 of them
        items.append(Deployment(namespaces[i % n_ns], f"app-{i:05d}", replicas, role, current=replicas))
    per_pod = max(1, log_rate // max(1, log_pods)) if log_pods else 0
    return Layout(pods, namespaces, items, log_pods, per_pod)


def deployment_manifest(namespace: str, name: str, replicas: int, annotations: dict | None = None) -> dict:
    labels = {"app": name, "bench": LABEL}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": labels, "annotations": annotations or {}},
                              "spec": {"containers": [{"name": "main", "image": GOOD_IMAGE}]}}},
    }


def service_manifest(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": {"bench": LABEL}},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "protocol": "TCP"}]}}


def populate(api: Api, layout: Layout, log: Callable[[str], None]) -> None:
    """Create the namespaces, Deployments and Services (returns before the pods run)."""
    for ns in [*layout.namespaces, LOG_NAMESPACE]:
        api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": ns}}, ok=(409,))
    deadline = time.monotonic() + 60
    for ns in [*layout.namespaces, LOG_NAMESPACE]:
        # Pods are refused until the namespace's default service account has its token.
        while not api.call("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default", ok=(404,)).get("secrets"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no default service account token in {ns}")
            time.sleep(0.2)

    def create(d: Deployment) -> None:
        api.call("POST", f"/apis/apps/v1/namespaces/{d.namespace}/deployments",
                 deployment_manifest(d.namespace, d.name, d.replicas), ok=(409,))
        api.call("POST", f"/api/v1/namespaces/{d.namespace}/services",
                 service_manifest(d.namespace, d.name), ok=(409,))

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, layout.deployments))
    if layout.log_pods:
        api.call("POST", f"/apis/apps/v1/namespaces/{LOG_NAMESPACE}/deployments",
                 deployment_manifest(LOG_NAMESPACE, LOG_DEPLOYMENT, layout.log_pods,
                                     {LOG_RATE: str(layout.log_rate_per_pod)}), ok=(409,))
    log(f"created {len(layout.deployments)} deployments + services in {time.monotonic() - t0:.1f} s")


def wait_ready(api: Api, layout: Layout, timeout: float, log: Callable[[str], None]) -> float:
    """Wait until every bench pod is Running and Ready and no pod is left over; returns seconds."""
    want = layout.pods + layout.log_pods
    t0 = time.monotonic()
    last_log = 0.0
    while True:
        elapsed = time.monotonic() - t0
        deployments = api.get(f"/apis/apps/v1/deployments?labelSelector=bench%3D{LABEL}")["items"]
        ready = sum((d.get("status") or {}).get("readyReplicas") or 0 for d in deployments)
        settled = all((d.get("status") or {}).get("readyReplicas") == d["spec"]["replicas"]
                      and (d.get("status") or {}).get("replicas") == d["spec"]["replicas"]
                      for d in deployments)
        if ready >= want and settled and len(deployments) == len(layout.deployments) + (1 if layout.log_pods else 0):
            pods = api.list_all(f"/api/v1/pods?labelSelector=bench%3D{LABEL}")
            running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                       and not p["metadata"].get("deletionTimestamp")]
            if len(pods) == want and len(running) == want:
                return elapsed
        if elapsed - last_log >= 10:
            log(f"  {ready}/{want} pods ready after {elapsed:.0f} s")
            last_log = elapsed
        if elapsed > timeout:
            raise RuntimeError(f"only {ready}/{want} pods ready after {timeout:.0f} s")
        time.sleep(2)


@dataclasses.dataclass
class Write:
    seq: int
    type: str
    key: str
    pattern: str  # a regex the node's label matches once the write shows
    value: int | None = None  # scale writes: the replicas written
    due: float = 0.0
    t: float = 0.0  # monotonic time the API write returned
    status: int = 0


class Churn:
    """`rate` writes per second for `seconds`, paced on a schedule and run by a thread pool.

    `emit(write)` is called (from a worker thread) as each write returns successfully.
    """

    def __init__(self, api: Api, layout: Layout, rate: float, seconds: float,
                 emit: Callable[[Write], None], workers: int = 16) -> None:
        self.api, self.layout, self.rate, self.seconds = api, layout, rate, seconds
        self.emit = emit
        self.workers = workers
        self.scale = layout.by_role("scale")
        self.flip = layout.by_role("flip")
        self.rollout = layout.by_role("rollout")
        self.flip_pods: list[tuple[str, str]] = []
        self.pod_image: dict[tuple[str, str], str] = {}
        self.writes: list[Write] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._next = {"scale": 0, "flip": 0, "rollout": 0}
        self.started = self.ended = 0.0

    def prepare(self) -> None:
        """Find the pods of the flip deployments (they are never scaled, so they stay)."""
        wanted = {(d.namespace, d.name) for d in self.flip}
        for ns in {d.namespace for d in self.flip}:
            for pod in self.api.list_all(f"/api/v1/namespaces/{ns}/pods?labelSelector=bench%3D{LABEL}"):
                meta = pod["metadata"]
                if (ns, meta["labels"].get("app")) in wanted and not meta.get("deletionTimestamp"):
                    self.flip_pods.append((ns, meta["name"]))
                    self.pod_image[(ns, meta["name"])] = GOOD_IMAGE
        self.flip_pods.sort()

    def _pick(self, kind: str, items: list):
        i = self._next[kind]
        self._next[kind] = i + 1
        return items[i % len(items)]

    def plan_write(self, seq: int) -> tuple[Write, Callable[[], int]]:
        rollout_every = max(1, round(self.rate * ROLLOUT_PERIOD))
        if self.rollout and seq % rollout_every == rollout_every // 2:
            d = self._pick("rollout", self.rollout)
            d.revision += 1
            body = {"spec": {"template": {"metadata": {"annotations": {"kdash.io/bench-rollout": str(seq)}}}}}
            path = f"/apis/apps/v1/namespaces/{d.namespace}/deployments/{d.name}"
            return (Write(seq, "rollout", d.key, rf"rev {d.revision}\b"),
                    lambda: self.api.request("PATCH", path, body, MERGE_PATCH)[0])
        if self.flip_pods and seq % 10 == 5:
            ns, name = self._pick("flip", self.flip_pods)
            image = BAD_IMAGE if self.pod_image[(ns, name)] == GOOD_IMAGE else GOOD_IMAGE
            self.pod_image[(ns, name)] = image
            body = [{"op": "replace", "path": "/spec/containers/0/image", "value": image}]
            pattern = r"  ImagePullBackOff  " if image == BAD_IMAGE else r"  Running  "
            path = f"/api/v1/namespaces/{ns}/pods/{name}"
            return (Write(seq, "flip", f"Pod/{ns}/{name}", pattern),
                    lambda: self.api.request("PATCH", path, body, JSON_PATCH)[0])
        d = self._pick("scale", self.scale)
        d.current = d.replicas + 1 if d.current == d.replicas else d.replicas
        body = {"spec": {"replicas": d.current}}
        path = f"/apis/apps/v1/namespaces/{d.namespace}/deployments/{d.name}/scale"
        return (Write(seq, "scale", d.key, rf"/{d.current} ready", value=d.current),
                lambda: self.api.request("PATCH", path, body, MERGE_PATCH)[0])

    def run(self) -> None:
        total = int(self.rate * self.seconds)
        self.started = time.monotonic() + 0.2
        with ThreadPoolExecutor(self.workers) as pool:
            for seq in range(total):
                write, do = self.plan_write(seq)
                write.due = self.started + seq / self.rate
                delay = write.due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._run_one, write, do)
        self.ended = time.monotonic()

    def _run_one(self, write: Write, do: Callable[[], int]) -> None:
        try:
            write.status = do()
        except (OSError, ApiError) as exc:
            write.status = -1
            with self._lock:
                self.errors.append(f"{write.type} {write.key}: {exc}")
            return
        write.t = time.monotonic()
        with self._lock:
            self.writes.append(write)
            if write.status >= 300:
                self.errors.append(f"{write.type} {write.key}: HTTP {write.status}")
        if write.status < 300:
            self.emit(write)

    def summary(self) -> dict:
        ok = [w for w in self.writes if 0 < w.status < 300]
        lateness = sorted(max(0.0, w.t - w.due) for w in ok)
        span = (max(w.t for w in ok) - self.started) if ok else 0.0
        return {
            "writes": len(self.writes), "ok": len(ok), "errors": len(self.errors),
            "by_type": {t: sum(1 for w in ok if w.type == t) for t in ("scale", "flip", "rollout")},
            "achieved_rate": round(len(ok) / span, 1) if span else 0.0,
            "done_after_due_p50_ms": round(_pct(lateness, 50) * 1000, 1) if lateness else None,
            "done_after_due_p99_ms": round(_pct(lateness, 99) * 1000, 1) if lateness else None,
            "first_errors": self.errors[:5],
        }


def _pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
