"""A fake kubelet for the dev control plane: keeps Nodes Ready, runs pods on paper and serves their logs.

Like kubernetes-sigs/kwok, no container runs: bound pods get a realistic Running status (pod IP,
conditions, container statuses), terminating pods are deleted for real, and `kubectl logs` (the
apiserver proxies it to /containerLogs on this process) returns deterministic lines. Exec and
port-forward WebSockets (/exec, /portForward) are served by devcluster.fake_streaming, a test double
on loopback: exec runs a real host process with the container's environment, port-forward reaches a
small HTTP answerer per pod and port on 127.0.0.1.

Pod annotations that steer it (see ANNOTATIONS):

  kdash.io/fake-ready-delay: "5"          Running but not Ready for 5 s, then Ready (a container's
                                          readinessProbe.initialDelaySeconds delays it the same way).
  kdash.io/fake-never-ready: "true"       Running, never Ready (stays in Endpoints' notReadyAddresses).
  kdash.io/fake-crashloop: "true"         Containers crash every 5 s (or every N s for a number):
                                          running 2 s, then waiting CrashLoopBackOff with
                                          restartCount+1 and lastState.terminated (exitCode 1, Error).
  kdash.io/fake-image-pull-error: "true"  Pending, containers waiting ImagePullBackOff. Automatic for
                                          images containing "doesnotexist" or tagged ":bad".
  kdash.io/fake-log-rate: "50"            Log lines per second (default 1; 0 = no output).
  kdash.io/fake-run-seconds: "5"          Containers exit after 5 s (default 2 s for pods of a Job with
                                          restartPolicy Never/OnFailure; other pods run until deleted).
  kdash.io/fake-exit-code: "3"            The exit code they end with (default 0: Completed; else Error).
  kdash.io/fake-exit-reason: "OOMKilled"  The terminated reason instead of Completed/Error.

A pod that runs to completion behaves as kubelet does with its restartPolicy: Never ends in phase
Succeeded (all exit 0) or Failed; OnFailure restarts a failed container in place (restartCount grows,
CrashLoopBackOff between runs) and ends Succeeded only on exit 0. The job controller then counts the
pods (or the restarts) against the Job's completions and backoffLimit, as on a real cluster.

Image tags that steer it, so `kubectl set image` alone reaches each failure (see IMAGE_TAGS):

  :bad, or "doesnotexist" in the image    ImagePullBackOff (as the annotation above).
  :crash                                  crash-loops like kdash.io/fake-crashloop: "true".
  :never-ready                            Running, never Ready (as kdash.io/fake-never-ready).
  :logerror                               every 3rd log line (from line 0) is "p c ERROR line i: …".

The environment variable KDASH_FAKE_MODE of a container, literal or from a ConfigMap key (resolved
when the pod starts, as the kubelet resolves env), steers it like the tags: "crash" or "never-ready".
A bad value in a ConfigMap thus breaks only the pods started after it changed.

Containers that start waiting in CrashLoopBackOff or ImagePullBackOff get the kubelet's Warning Event
(BackOff, Failed) once per new reason.

Log line i of container c in pod p is "p c line i" ("p c restart k line i" for the k-th restart of a
crash-looping container), stamped startedAt + i/rate; `previous=true` returns the instance before.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import queue
import select
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from devcluster import fake_streaming

READY_DELAY = "kdash.io/fake-ready-delay"
NEVER_READY = "kdash.io/fake-never-ready"
CRASHLOOP = "kdash.io/fake-crashloop"
IMAGE_PULL_ERROR = "kdash.io/fake-image-pull-error"
LOG_RATE = "kdash.io/fake-log-rate"
RUN_SECONDS = "kdash.io/fake-run-seconds"
EXIT_CODE = "kdash.io/fake-exit-code"
EXIT_REASON = "kdash.io/fake-exit-reason"
JOB_RUN_SECONDS = 2.0  # how long a Job's pod runs when no annotation says
ANNOTATIONS = {
    READY_DELAY: "seconds a started pod stays not Ready",
    NEVER_READY: '"true": the pod never becomes Ready',
    CRASHLOOP: '"true" (5 s cycle) or seconds per cycle: containers crash-loop, restartCount grows',
    IMAGE_PULL_ERROR: '"true": Pending with ImagePullBackOff (also images with "doesnotexist" or ":bad")',
    LOG_RATE: "log lines per second for every container (default 1, 0 = silent)",
    RUN_SECONDS: "seconds until the containers exit (default 2 s for a Job's pods, else never)",
    EXIT_CODE: "exit code of the containers when they exit (default 0)",
    EXIT_REASON: "terminated reason (default Completed for 0, Error otherwise; e.g. OOMKilled)",
}

CRASH_TAG, NEVER_READY_TAG, LOG_ERROR_TAG = ":crash", ":never-ready", ":logerror"
IMAGE_TAGS = {
    ":bad": "ImagePullBackOff (also images containing \"doesnotexist\")",
    CRASH_TAG: "containers crash-loop (5 s cycle)",
    NEVER_READY_TAG: "the pod never becomes Ready",
    LOG_ERROR_TAG: "every 3rd log line is an ERROR line",
}
LOG_ERROR_EVERY = 3
FAKE_MODE_ENV = "KDASH_FAKE_MODE"
FAKE_MODES = {"crash": CRASHLOOP, "never-ready": NEVER_READY}

# Waiting reason -> (Event reason, message), worded like the kubelet's.
WARNINGS = {
    "CrashLoopBackOff": ("BackOff", "Back-off restarting failed container {container}"),
    "ImagePullBackOff": ("Failed", 'Failed to pull image "{image}": rpc error: code = NotFound desc = '
                                   'failed to pull and unpack image "{image}": not found'),
}

KUBELET_VERSION = "v1.20.2"
POD_NET = 0x0AF40000  # 10.244.0.0/16: pod IPs are only strings, nothing ever dials them
POD_NET_SIZE = 1 << 16
LEASE_EVERY = 10.0
STATUS_EVERY = 20.0
MERGE_PATCH = "application/merge-patch+json"
# Retry only failures to connect (or a pooled keep-alive connection the server dropped).
RETRIES = urllib3.Retry(total=2, read=0, redirect=0, status=0, backoff_factor=0.1)
NOT_READY_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
FAKE_NODE_LABEL = "kdash.io/fake-node"
ADOPT_EVERY = 1.0  # how often Nodes created by others with FAKE_NODE_LABEL=true are looked for

log = logging.getLogger("fake-kubelet")


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ns: int) -> str:
    # Go's time.RFC3339Nano trims trailing zeros, as the kubelet's timestamps=true output does.
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return base + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "y", "on")


def number(value, default: float) -> float:
    try:
        result = float(value)
        return result if math.isfinite(result) and result >= 0 else default
    except (TypeError, ValueError):
        return default


def ip_offset(ip: str | None) -> int | None:
    """Position of an address inside POD_NET, or None."""
    try:
        a, b, c, d = (int(x) for x in (ip or "").split("."))
    except ValueError:
        return None
    offset = ((a << 24) | (b << 16) | (c << 8) | d) - POD_NET
    return offset if 0 <= offset < POD_NET_SIZE else None


def bad_image(image: str) -> bool:
    return "doesnotexist" in image or image.endswith(":bad")


def image_id(image: str) -> str:
    # A repo digest names the repository without its tag (a port in the registry host is no tag).
    repo = image.split("@")[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"docker-pullable://{repo}@sha256:{short_hash(image)}"


def image_tagged(images, tag: str) -> bool:
    return any(image.endswith(tag) for image in images)


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ready_delay: float
    bad: bool

    @property
    def logs_errors(self) -> bool:
        return self.image.endswith(LOG_ERROR_TAG)


@dataclass
class PodRecord:
    """What the fake kubelet remembers per pod; its status is a pure function of this and the clock."""
    uid: str
    namespace: str
    name: str
    t0: int  # whole seconds, like every timestamp the API stores
    ip: str
    host_ip: str
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...]
    never_ready: bool
    crash_period: int
    log_period_ns: int | None
    scheduled_at: str
    deleting: bool = False
    last_hash: str | None = None
    seen_status: dict | None = None  # the status found when adopting a pod; dropped after one sync
    next_at: float | None = None
    warned: dict = field(default_factory=dict)  # container -> waiting reason last reported as an Event
    run_seconds: float | None = None  # containers exit after this long (None: they run until deleted)
    exit_code: int = 0
    exit_reason: str = ""

    @property
    def terminated_reason(self) -> str:
        return self.exit_reason or ("Completed" if self.exit_code == 0 else "Error")

    def container(self, name: str) -> tuple[Container | None, bool]:
        for c in self.containers:
            if c.name == name:
                return c, False
        for c in self.init_containers:
            if c.name == name:
                return c, True
        return None, False


@dataclass(frozen=True)
class Instance:
    """One run of a container: log lines are stamped start_ns + i * period."""
    number: int
    start_ns: int
    end_ns: int | None  # None while it runs with no end in sight


class LogError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# ---- pod status rendering -------------------------------------------------------------------


def container_id(rec: PodRecord, name: str, number: int) -> str:
    return "containerd://" + short_hash(rec.uid, name, str(number))


def crash_timing(rec: PodRecord) -> tuple[int, int]:
    period = rec.crash_period
    return period, max(1, round(period * 0.4))  # (cycle, seconds running before each crash)


def crash_state(rec: PodRecord, now: float) -> tuple[int, bool, float]:
    """(instance number, running?, time of the next transition) of a crash-looping container."""
    period, run = crash_timing(rec)
    k = int(max(0.0, now - rec.t0) // period)
    start = rec.t0 + k * period
    if now < start + run:
        return k, True, start + run
    return k, False, start + period


def render_status(rec: PodRecord, now: float) -> tuple[dict, float | None]:
    """The pod status the fake kubelet reports at `now`, and when it next changes."""
    t0 = rfc3339(rec.t0)
    next_at: float | None = None
    init_statuses, blocked = [], False
    for c in rec.init_containers:
        cs = {"name": c.name, "image": c.image, "imageID": "", "restartCount": 0, "ready": False,
              "lastState": {}}
        if c.bad or blocked:
            blocked = True
            cs["state"] = {"waiting": waiting_reason(c)}
        else:
            cs.update(imageID=image_id(c.image), containerID=container_id(rec, c.name, 0), ready=True)
            cs["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t0,
                                          "finishedAt": t0, "containerID": cs["containerID"]}}
        init_statuses.append(cs)

    statuses, unready, pending, ready_since = [], [], blocked, rec.t0
    for c in rec.containers:
        cs = {"name": c.name, "image": c.image, "imageID": "", "restartCount": 0, "ready": False,
              "started": False, "lastState": {}}
        if blocked:
            cs["state"] = {"waiting": {"reason": "PodInitializing"}}
        elif c.bad:
            pending = True
            cs["state"] = {"waiting": waiting_reason(c)}
        elif rec.crash_period:
            period, run = crash_timing(rec)
            k, running, change = crash_state(rec, now)
            next_at = min(next_at or change, change)
            cs["imageID"] = image_id(c.image)
            last = k - 1 if running else k
            if last >= 0:
                start = rec.t0 + last * period
                cs["lastState"] = {"terminated": {
                    "exitCode": rec.exit_code or 1, "reason": rec.exit_reason or "Error",
                    "startedAt": rfc3339(start),
                    "finishedAt": rfc3339(start + run), "containerID": container_id(rec, c.name, last)}}
            if running:
                cs.update(restartCount=k, started=True, containerID=container_id(rec, c.name, k))
                cs["state"] = {"running": {"startedAt": rfc3339(rec.t0 + k * period)}}
            else:
                cs.update(restartCount=k + 1, containerID=container_id(rec, c.name, k))
                cs["state"] = {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {period - run}s restarting failed container={c.name} "
                               f"pod={rec.name}_{rec.namespace}({rec.uid})"}}
        elif rec.run_seconds is not None and now >= rec.t0 + rec.run_seconds:
            finished = rec.t0 + math.ceil(rec.run_seconds)
            cs.update(imageID=image_id(c.image), containerID=container_id(rec, c.name, 0))
            cs["state"] = {"terminated": {"exitCode": rec.exit_code, "reason": rec.terminated_reason,
                                          "startedAt": t0, "finishedAt": rfc3339(finished),
                                          "containerID": cs["containerID"]}}
            ready_since = max(ready_since, finished)
        else:
            ready_at = rec.t0 + c.ready_delay
            cs.update(imageID=image_id(c.image), containerID=container_id(rec, c.name, 0), started=True)
            cs["state"] = {"running": {"startedAt": t0}}
            if rec.run_seconds is not None:
                next_at = min(next_at or rec.t0 + rec.run_seconds, rec.t0 + rec.run_seconds)
            if not rec.never_ready:
                if now >= ready_at:
                    cs["ready"] = True
                    ready_since = max(ready_since, math.ceil(ready_at))
                else:
                    next_at = min(next_at or ready_at, ready_at)
        if not cs["ready"]:
            unready.append(c.name)
        statuses.append(cs)

    def condition(kind: str, ok: bool, since: str, reason: str = "", message: str = "") -> dict:
        cond = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                "lastTransitionTime": since}
        if reason:
            cond.update(reason=reason, message=message)
        return cond

    done = bool(statuses) and all("terminated" in cs["state"] for cs in statuses)
    ready = not unready
    since = rfc3339(ready_since) if ready or done else t0
    why = f"containers with unready status: [{' '.join(unready)}]"
    if done:
        why = ""  # kubelet's reason for a pod whose containers all ended
    conditions = [
        condition("Initialized", not blocked, t0, *(("ContainersNotInitialized",
                  f"containers with incomplete status: [{' '.join(c.name for c in rec.init_containers)}]")
                  if blocked else ())),
        condition("Ready", ready, since, *(() if ready else ("PodCompleted", "") if done
                                            else ("ContainersNotReady", why))),
        condition("ContainersReady", ready, since, *(() if ready else ("PodCompleted", "") if done
                                                     else ("ContainersNotReady", why))),
        condition("PodScheduled", True, rec.scheduled_at),
    ]
    phase = "Pending" if pending else "Running"
    if done:
        phase = "Succeeded" if rec.exit_code == 0 else "Failed"
    status = {"phase": phase, "hostIP": rec.host_ip, "podIP": rec.ip,
              "podIPs": [{"ip": rec.ip}], "startTime": t0, "conditions": conditions,
              "containerStatuses": statuses}
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return status, next_at


def completion(pod: dict) -> tuple[float | None, int]:
    """(seconds until the containers exit or None, exit code) from the pod's annotations; a Job's
    pod that may end (restartPolicy Never/OnFailure) exits after JOB_RUN_SECONDS by default."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    ann = meta.get("annotations") or {}
    code = int(number(ann.get(EXIT_CODE), 0))
    if spec.get("restartPolicy") not in ("Never", "OnFailure"):
        return None, code
    if ann.get(RUN_SECONDS) is not None:
        return max(0.0, number(ann.get(RUN_SECONDS), JOB_RUN_SECONDS)), code
    owned_by_job = any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or ())
    return (JOB_RUN_SECONDS if owned_by_job else None), code


def waiting_reason(c: Container) -> dict:
    if c.bad:
        return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c.image}"'}
    return {"reason": "PodInitializing"}


def log_instance(rec: PodRecord, name: str, now: float, previous: bool) -> Instance:
    """Which run of a container a log request reads, with the kubelet's errors for the rest."""
    c, is_init = rec.container(name)
    if c is None:
        raise LogError(404, f'container "{name}" not found in pod "{rec.name}"')
    status, _ = render_status(rec, now)
    cs = next(s for s in status["initContainerStatuses" if is_init else "containerStatuses"]
              if s["name"] == name)
    last = cs["lastState"].get("terminated")
    if previous:
        if not last:
            raise LogError(400, f'previous terminated container "{name}" in pod "{rec.name}" not found')
        return Instance(cs["restartCount"] - 1, parse_ns(last["startedAt"]), parse_ns(last["finishedAt"]))
    state = cs["state"]
    if "running" in state:
        start = parse_ns(state["running"]["startedAt"])
        end = None
        if rec.crash_period:
            end = start + crash_timing(rec)[1] * 1_000_000_000
        return Instance(cs["restartCount"], start, end)
    if "terminated" in state:
        return Instance(0, parse_ns(state["terminated"]["startedAt"]), parse_ns(state["terminated"]["finishedAt"]))
    if last:  # waiting to restart: the kubelet shows the run that just died
        return Instance(cs["restartCount"] - 1, parse_ns(last["startedAt"]), parse_ns(last["finishedAt"]))
    reason = state["waiting"]["reason"]
    if reason == "ImagePullBackOff":
        reason = "trying and failing to pull image"
    raise LogError(400, f'container "{name}" in pod "{rec.name}" is waiting to start: {reason}')


def parse_ns(text: str) -> int:
    return int(parse_time(text)) * 1_000_000_000


# ---- the kubelet ----------------------------------------------------------------------------


class FakeKubelet:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.stop = threading.Event()
        self.nodes = [f"{args.node_prefix}-{i}" for i in range(1, args.nodes + 1)]
        self.node_set = set(self.nodes)
        self.adopted: set[str] = set()  # Nodes others created (a node "added later"); dropped when deleted
        self.node_uids: dict[str, str] = {}
        self.boot_id = str(uuid.uuid4())
        cfg = k8s_client.Configuration()
        k8s_config.load_kube_config(config_file=args.kubeconfig, client_configuration=cfg)
        # Every worker, the watch and the heartbeats may hold a connection at once.
        cfg.connection_pool_maxsize = args.workers + 8
        self.api = k8s_client.ApiClient(cfg)
        # managedFields name the manager after the user agent: show "kubelet" like a real node.
        self.api.user_agent = f"kubelet/{KUBELET_VERSION} (linux/amd64) kdash-fake-kubelet"
        self.pool = self.api.rest_client.pool_manager

        self.lock = threading.Lock()
        self.records: dict[str, PodRecord] = {}  # by uid
        self.by_name: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid
        self.ips: dict[int, str] = {}  # offset in POD_NET -> uid

        self.queues = [queue.Queue() for _ in range(args.workers)]
        self.pending: set[tuple[str, str]] = set()
        self.pending_lock = threading.Lock()
        self.timers: list[tuple[float, int, str, str]] = []
        self.timer_cond = threading.Condition()
        self.seq = itertools.count()
        self.watch_resp = None
        self.stats = {"patched": 0, "deleted": 0, "errors": 0}
        self.ready_since: dict[str, str] = {}  # per node: the Ready condition's lastTransitionTime
        self.lease_failed = False
        self.pod_ports = fake_streaming.PodPorts()

    # ---- REST: raw JSON over the client's connection pool (no models: fast, never fails on a field)

    def request(self, method: str, path: str, query: dict | None = None, body=None,
                content_type: str = "application/json", timeout=(5.0, 30.0), stream: bool = False):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        # param_serialize adds the kubeconfig's auth (token, or refreshed exec credentials).
        _, url, headers, _, _ = self.api.param_serialize(
            method, path, query_params=list((query or {}).items()), header_params=headers,
            auth_settings=["BearerToken"])
        resp = self.pool.request(method, url, headers=headers,
                                 body=None if body is None else json.dumps(body).encode(),
                                 timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                                 preload_content=not stream, retries=RETRIES)
        if stream:
            return resp
        data = resp.data
        try:
            return resp.status, json.loads(data) if data else {}
        except ValueError:
            return resp.status, {"message": data[:300].decode(errors="replace")}

    def read_data(self, kind: str, namespace: str, name: str) -> dict | None:
        """A ConfigMap's or Secret's data (None when missing), for a container's environment."""
        code, body = self.request("GET", f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        return (body.get("data") or {}) if code == 200 else None

    # ---- nodes: registration, heartbeats, leases

    def node_status(self, name: str, now: float, transition: str) -> dict:
        ts = rfc3339(now)

        def cond(kind: str, ok: bool, reason: str, message: str) -> dict:
            return {"type": kind, "status": "True" if ok else "False", "lastHeartbeatTime": ts,
                    "lastTransitionTime": transition, "reason": reason, "message": message}

        resources = {"cpu": "32", "memory": "128Gi", "pods": str(self.args.max_pods),
                     "ephemeral-storage": "100Gi", "hugepages-2Mi": "0"}
        return {
            "capacity": resources, "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": self.args.address},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.args.port}},
            "nodeInfo": {
                "machineID": short_hash("machine", name)[:32],
                "systemUUID": str(uuid.UUID(short_hash("system", name)[:32])),
                "bootID": self.boot_id, "kernelVersion": "5.10.0-kdash-fake",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.6.20", "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64"},
            "conditions": [
                cond("MemoryPressure", False, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", False, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", False, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", True, "KubeletReady", "kubelet is posting ready status"),
            ],
        }

    def register_node(self, name: str) -> None:
        code, node = self.request("GET", f"/api/v1/nodes/{name}")
        if code == 404:
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                      "beta.kubernetes.io/arch": "amd64", FAKE_NODE_LABEL: "true"}
            code, node = self.request("POST", "/api/v1/nodes", body={
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels,
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0"}}})
            if code == 409:
                code, node = self.request("GET", f"/api/v1/nodes/{name}")
            log.info("registered node %s", name)
        if code >= 300:
            raise RuntimeError(f"node {name}: HTTP {code} {node.get('message')}")
        self.node_uids[name] = node["metadata"]["uid"]
        # Adopting a node that is already Ready keeps its transition time (like a kubelet restart).
        self.ready_since[name] = next(
            (c.get("lastTransitionTime") for c in (node.get("status") or {}).get("conditions") or []
             if c.get("type") == "Ready" and c.get("status") == "True" and c.get("lastTransitionTime")),
            rfc3339(time.time()))
        self.heartbeat(name)

    def heartbeat(self, name: str) -> None:
        code, node = self.request("PATCH", f"/api/v1/nodes/{name}/status",
                                  body={"status": self.node_status(name, time.time(), self.ready_since[name])},
                                  content_type=MERGE_PATCH)
        if code == 404 and name in self.adopted:
            log.info("adopted node %s was deleted; forgetting it", name)
            self.forget_node(name)
            return
        if code == 404:
            log.warning("node %s disappeared; registering it again", name)
            self.register_node(name)
            return
        if code >= 300:
            raise RuntimeError(f"node {name} status: HTTP {code} {node.get('message')}")
        taints = (node.get("spec") or {}).get("taints") or []
        keep = [t for t in taints if t.get("key") not in NOT_READY_TAINTS]
        if len(keep) != len(taints):
            # A fresh node starts tainted not-ready until the lifecycle controller notices; skip the wait.
            self.request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"taints": keep or None}},
                         content_type=MERGE_PATCH)

    def renew_lease(self, name: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now}
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        code, body = self.request("PATCH", path, body={"spec": spec}, content_type=MERGE_PATCH)
        if code == 404:
            owner = [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": self.node_uids.get(name, "")}]
            code, body = self.request(
                "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                body={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                      "metadata": {"name": name, "namespace": "kube-node-lease",
                                   "ownerReferences": owner if owner[0]["uid"] else None},
                      "spec": {**spec, "acquireTime": now}})
        if code >= 300:
            raise RuntimeError(f"lease {name}: HTTP {code} {body.get('message')}")

    def node_loop(self) -> None:
        next_status = time.monotonic() + STATUS_EVERY
        while not self.stop.wait(LEASE_EVERY if not self.lease_failed else 1.0):
            self.lease_failed = False
            status_due = time.monotonic() >= next_status
            if status_due:
                next_status = time.monotonic() + STATUS_EVERY
            for name in list(self.nodes):
                for beat in (self.renew_lease, self.heartbeat) if status_due else (self.renew_lease,):
                    try:
                        beat(name)
                    except Exception as exc:  # noqa: BLE001 - keep heartbeating whatever happens
                        self.lease_failed = True  # retry within a second, long before the 40 s grace
                        log.warning("%s for %s failed: %s", beat.__name__, name, exc)

    def adopt_loop(self) -> None:
        """Run Nodes that someone else created with the fake-node label (a test adding a node later,
        so a DaemonSet must give it a pod): register them Ready, then run the pods bound to them."""
        while not self.stop.wait(ADOPT_EVERY):
            try:
                code, body = self.request("GET", "/api/v1/nodes", {"labelSelector": f"{FAKE_NODE_LABEL}=true"})
                if code >= 300:
                    continue
                for node in body.get("items") or []:
                    name = node["metadata"]["name"]
                    if name not in self.node_set:
                        self.adopt_node(name)
            except Exception as exc:  # noqa: BLE001 - keep looking whatever happens
                log.warning("looking for new nodes failed: %s", exc)

    def adopt_node(self, name: str) -> None:
        self.register_node(name)
        self.renew_lease(name)
        with self.lock:
            self.adopted.add(name)
            self.node_set.add(name)
            self.nodes.append(name)
        log.info("adopted node %s", name)
        # Pods bound before we ran the node arrived while it was not ours: take them now.
        code, body = self.request("GET", "/api/v1/pods", {"fieldSelector": f"spec.nodeName={name}"})
        for pod in (body.get("items") or []) if code < 300 else []:
            self.on_pod(pod)

    def forget_node(self, name: str) -> None:
        with self.lock:
            self.adopted.discard(name)
            self.node_set.discard(name)
            if name in self.nodes:
                self.nodes.remove(name)

    # ---- pods: reflector (list + watch on raw JSON)

    def pod_loop(self) -> None:
        rv, backoff = None, 0.5
        while not self.stop.is_set():
            try:
                if rv is None:
                    rv = self.relist()
                rv = self.watch(rv)
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - a reflector must outlive any error
                if self.stop.is_set():
                    return
                log.warning("pod watch failed (%s); retrying in %.1f s", exc, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def relist(self) -> str:
        seen, cont, rv = set(), None, None
        while True:
            query = {"fieldSelector": "spec.nodeName!=", "limit": "500"}
            if cont:
                query["continue"] = cont
            code, body = self.request("GET", "/api/v1/pods", query, timeout=(5.0, 60.0))
            if code == 410:  # the continue token expired: start over
                seen, cont, rv = set(), None, None
                continue
            if code >= 300:
                raise RuntimeError(f"list pods: HTTP {code} {body.get('message')}")
            rv = rv or body["metadata"]["resourceVersion"]
            for pod in body.get("items") or []:
                seen.add(pod["metadata"]["uid"])
                self.on_pod(pod)
            cont = body["metadata"].get("continue")
            if not cont:
                break
        with self.lock:
            gone = [uid for uid in self.records if uid not in seen]
        for uid in gone:
            self.forget(uid)
        log.info("listed pods at resourceVersion %s: %d on my nodes", rv, len(self.records))
        return rv

    def watch(self, rv: str) -> str | None:
        query = {"watch": "true", "fieldSelector": "spec.nodeName!=", "resourceVersion": rv,
                 "allowWatchBookmarks": "true", "timeoutSeconds": "30"}
        resp = self.request("GET", "/api/v1/pods", query, timeout=(5.0, 45.0), stream=True)
        self.watch_resp = resp
        try:
            if resp.status == 410:
                return None
            if resp.status != 200:
                raise RuntimeError(f"watch pods: HTTP {resp.status} {resp.data[:300]!r}")
            buf = b""
            for chunk in resp.stream(65536):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            return None
                        raise RuntimeError(f"watch error: {obj.get('message')}")
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if kind == "DELETED":
                        self.forget(obj["metadata"]["uid"])
                    elif kind in ("ADDED", "MODIFIED"):
                        self.on_pod(obj)
                if self.stop.is_set():
                    break
            return rv
        finally:
            # Close rather than reuse: a half-read watch must never go back to the pool.
            self.watch_resp = None
            resp.close()
            resp.release_conn()

    def on_pod(self, pod: dict) -> None:
        try:
            self._on_pod(pod)
        except Exception:  # noqa: BLE001 - one odd pod must not stop the watch
            meta = pod.get("metadata") or {}
            log.exception("cannot handle pod %s/%s", meta.get("namespace"), meta.get("name"))

    def _on_pod(self, pod: dict) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("nodeName") not in self.node_set:
            return
        uid = meta["uid"]
        with self.lock:
            rec = self.records.get(uid)
        if rec is None:
            if status.get("phase") in ("Succeeded", "Failed"):
                if meta.get("deletionTimestamp"):
                    self.delete_finished(meta)
                return
            rec = self.new_record(pod)
            if rec is None:
                return
            self.enqueue("sync", uid)
        elif [(c.name, c.image) for c in rec.containers] != [
                (c["name"], c.get("image", "")) for c in spec.get("containers") or []]:
            # Pod images are mutable (kubectl set image pod/...): re-render with the new ones.
            new = self.build_record(pod, rec.t0, rec.ip)
            new.deleting = rec.deleting
            with self.lock:
                if uid in self.records:
                    self.records[uid] = rec = new
            self.enqueue("sync", uid)
        if meta.get("deletionTimestamp") and not rec.deleting:
            rec.deleting = True
            grace = number(meta.get("deletionGracePeriodSeconds"), 0.0)
            self.schedule(time.time() + min(grace, self.args.delete_delay), "delete", uid)

    def build_record(self, pod: dict, t0: int, ip: str) -> PodRecord:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        ann = meta.get("annotations") or {}
        delay = number(ann.get(READY_DELAY), 0.0)
        pull_error = truthy(ann.get(IMAGE_PULL_ERROR))
        crash = ann.get(CRASHLOOP)
        crash_period = 0
        if crash is not None and str(crash).strip().lower() not in ("", "false", "0", "no"):
            crash_period = 5 if truthy(crash) else max(2, int(number(crash, 5)))
        images = [c.get("image") or "" for c in spec.get("containers") or []]
        if not crash_period and image_tagged(images, CRASH_TAG):
            crash_period = 5
        rate = number(ann.get(LOG_RATE), 1.0)
        run_seconds, exit_code = completion(pod)
        if run_seconds is not None and exit_code and spec.get("restartPolicy") == "OnFailure" and not crash_period:
            # kubelet restarts a failed container of an OnFailure pod in place: a crash loop.
            crash_period = max(2, round(run_seconds * 2.5))
            run_seconds = None

        def containers(items, with_probe: bool, force_bad: bool) -> tuple[Container, ...]:
            out = []
            for c in items or []:
                image = c.get("image") or ""
                probe = number(((c.get("readinessProbe") or {}).get("initialDelaySeconds")), 0.0) \
                    if with_probe and c.get("readinessProbe") else 0.0
                out.append(Container(c.get("name") or "", image, max(delay, probe),
                                     force_bad or bad_image(image)))
            return tuple(out)

        scheduled = next((c.get("lastTransitionTime") for c in (pod.get("status") or {}).get("conditions") or []
                          if c.get("type") == "PodScheduled" and c.get("lastTransitionTime")), None)
        return PodRecord(
            uid=meta["uid"], namespace=meta["namespace"], name=meta["name"], t0=t0, ip=ip,
            host_ip=self.args.address,
            containers=containers(spec.get("containers"), True, pull_error),
            init_containers=containers(spec.get("initContainers"), False, False),
            never_ready=truthy(ann.get(NEVER_READY)) or image_tagged(images, NEVER_READY_TAG),
            crash_period=crash_period,
            log_period_ns=round(1e9 / rate) if rate > 0 else None,
            scheduled_at=scheduled or rfc3339(t0), run_seconds=run_seconds, exit_code=exit_code,
            exit_reason=str(ann.get(EXIT_REASON) or ""))

    def with_env_mode(self, pod: dict) -> dict:
        """The pod with the annotation its containers' KDASH_FAKE_MODE asks for (see the docstring)."""
        namespace = pod["metadata"]["namespace"]
        for c in (pod.get("spec") or {}).get("containers") or []:
            for env in c.get("env") or []:
                if env.get("name") != FAKE_MODE_ENV:
                    continue
                value = env.get("value")
                ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    value = (self.read_data("configmaps", namespace, ref.get("name", "")) or {}).get(ref.get("key"))
                annotation = FAKE_MODES.get(str(value or "").strip())
                if annotation:
                    meta = {**pod["metadata"], "annotations": {**(pod["metadata"].get("annotations") or {}),
                                                                annotation: "true"}}
                    return {**pod, "metadata": meta}
        return pod

    def new_record(self, pod: dict) -> PodRecord | None:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        uid = meta["uid"]
        # A pod we (or an earlier run of us) already started keeps its start time, so its
        # status, container IDs and log lines come out the same after a restart.
        adopted = "startTime" in status and status.get("containerStatuses")
        t0 = int(parse_time(status["startTime"])) if adopted else int(time.time())
        pod = self.with_env_mode(pod)  # reads ConfigMaps: outside the lock
        with self.lock:
            if spec.get("hostNetwork"):
                ip = self.args.address
            else:
                ip = self.allocate_ip(uid, status.get("podIP") if adopted else None)
            rec = self.build_record(pod, t0, ip)
            if adopted:
                rec.seen_status = status
            self.records[uid] = rec
            self.by_name[(rec.namespace, rec.name)] = uid
        return rec

    def allocate_ip(self, uid: str, wanted: str | None) -> str:
        """Deterministic per pod (hash of its uid, probing past addresses in use); lock held."""
        offset = ip_offset(wanted)
        if offset is not None and offset not in self.ips:
            self.ips[offset] = uid
            return wanted
        offset = int(short_hash(uid)[:8], 16) % POD_NET_SIZE
        for _ in range(POD_NET_SIZE):
            if offset & 0xFF not in (0, 255) and offset not in self.ips:
                self.ips[offset] = uid
                addr = POD_NET + offset
                return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"
            offset = (offset + 1) % POD_NET_SIZE
        raise RuntimeError("pod network 10.244.0.0/16 is full")

    def forget(self, uid: str) -> None:
        with self.lock:
            rec = self.records.pop(uid, None)
            if rec is None:
                return
            if self.by_name.get((rec.namespace, rec.name)) == uid:
                del self.by_name[(rec.namespace, rec.name)]
            offset = ip_offset(rec.ip)
            if offset is not None and self.ips.get(offset) == uid:
                del self.ips[offset]
        self.pod_ports.pod_gone(uid)
        fake_streaming.kill_all(uid)

    def lookup(self, namespace: str, name: str) -> PodRecord | None:
        with self.lock:
            uid = self.by_name.get((namespace, name))
            return self.records.get(uid) if uid else None

    # ---- work: sharded queues (one pod always on the same worker, so its patches stay ordered)

    def enqueue(self, action: str, uid: str) -> None:
        key = (action, uid)
        with self.pending_lock:
            if key in self.pending:
                return
            self.pending.add(key)
        self.queues[hash(uid) % len(self.queues)].put(key)

    def schedule(self, when: float, action: str, uid: str) -> None:
        with self.timer_cond:
            heapq.heappush(self.timers, (when, next(self.seq), action, uid))
            self.timer_cond.notify()

    def timer_loop(self) -> None:
        while not self.stop.is_set():
            due = []
            with self.timer_cond:
                now = time.time()
                while self.timers and self.timers[0][0] <= now:
                    due.append(heapq.heappop(self.timers))
                if not due:
                    wait = self.timers[0][0] - now if self.timers else 0.5
                    self.timer_cond.wait(min(wait, 0.5))
            for _, _, action, uid in due:
                with self.lock:
                    alive = uid in self.records
                if alive:
                    self.enqueue(action, uid)

    def worker(self, q: queue.Queue) -> None:
        while not self.stop.is_set():
            try:
                key = q.get(timeout=0.5)
            except queue.Empty:
                continue
            with self.pending_lock:
                self.pending.discard(key)
            action, uid = key
            try:
                if action == "sync":
                    self.sync(uid)
                else:
                    self.delete(uid)
            except Exception as exc:  # noqa: BLE001 - retry later, never die
                self.stats["errors"] += 1
                log.warning("%s of pod %s failed: %s; retrying in 1 s", action, uid, exc)
                self.schedule(time.time() + 1.0, action, uid)

    def sync(self, uid: str) -> None:
        with self.lock:
            rec = self.records.get(uid)
        if rec is None or rec.deleting:
            return
        now = time.time()
        status, next_at = render_status(rec, now)
        digest = short_hash(json.dumps(status, sort_keys=True))
        seen, rec.seen_status = rec.seen_status, None
        if seen is not None:
            differs = [k for k, v in status.items() if seen.get(k) != v]
            if differs:
                log.debug("adopted pod %s/%s differs in %s", rec.namespace, rec.name, differs)
            else:
                rec.last_hash = digest  # an adopted pod that already shows exactly this
        if digest != rec.last_hash:
            code, body = self.request(
                "PATCH", f"/api/v1/namespaces/{rec.namespace}/pods/{rec.name}/status",
                body={"metadata": {"uid": uid}, "status": status}, content_type=MERGE_PATCH)
            if code in (404, 409, 422):  # gone, or a new pod with the same name
                log.debug("pod %s/%s: status patch HTTP %d", rec.namespace, rec.name, code)
                return
            if code >= 300:
                self.failed(f"status of {rec.namespace}/{rec.name}", code, body)
            rec.last_hash = digest
            self.stats["patched"] += 1
            self.warn(rec, status)
        if next_at is not None and rec.next_at != next_at:
            rec.next_at = next_at
            self.schedule(next_at, "sync", uid)

    def warn(self, rec: PodRecord, status: dict) -> None:
        """Warning Events as the kubelet records them when a container starts waiting for a bad reason
        (BackOff for a crash loop, Failed for an image it cannot pull), once per new reason."""
        for cs in status.get("containerStatuses") or []:
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            if reason == rec.warned.get(cs["name"]):
                continue
            rec.warned[cs["name"]] = reason
            event = WARNINGS.get(reason or "")
            if event is None:
                continue
            now = rfc3339(time.time())
            self.request("POST", f"/api/v1/namespaces/{rec.namespace}/events", body={
                "metadata": {"name": f"{rec.name}.{uuid.uuid4().hex[:16]}", "namespace": rec.namespace},
                "involvedObject": {"kind": "Pod", "namespace": rec.namespace, "name": rec.name, "uid": rec.uid,
                                   "apiVersion": "v1", "fieldPath": f"spec.containers{{{cs['name']}}}"},
                "reason": event[0], "message": event[1].format(container=cs["name"], image=cs["image"]),
                "type": "Warning", "source": {"component": "kubelet"},
                "firstTimestamp": now, "lastTimestamp": now, "count": 1})

    def delete(self, uid: str) -> None:
        with self.lock:
            rec = self.records.get(uid)
        if rec is None:
            return
        code, body = self.request(
            "DELETE", f"/api/v1/namespaces/{rec.namespace}/pods/{rec.name}",
            body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                  "preconditions": {"uid": uid}})
        if code >= 300 and code not in (404, 409):
            self.failed(f"deletion of {rec.namespace}/{rec.name}", code, body)
        self.stats["deleted"] += 1
        self.forget(uid)

    def delete_finished(self, meta: dict) -> None:
        """A finished pod we hold no record of (we restarted since) is deleted: confirm it as kubelet does."""
        code, body = self.request(
            "DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
            body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                  "preconditions": {"uid": meta["uid"]}})
        if code >= 300 and code not in (404, 409):
            log.warning("deletion of finished pod %s/%s: HTTP %d", meta["namespace"], meta["name"], code)

    def failed(self, what: str, code: int, body: dict) -> None:
        """Raise (so the worker retries) for errors that may pass; log and give up on the rest."""
        message = f"{what}: HTTP {code} {str(body.get('message'))[:300]}"
        if code == 429 or code >= 500:
            raise RuntimeError(message)
        self.stats["errors"] += 1
        log.warning("%s (not retried)", message)

    def stats_loop(self) -> None:
        while not self.stop.wait(30):
            with self.lock:
                tracked = len(self.records)
            log.info("pods tracked %d, status patches %d, deletions %d, errors %d",
                     tracked, self.stats["patched"], self.stats["deleted"], self.stats["errors"])

    # ---- lifecycle

    def run(self) -> None:
        server = make_log_server(self)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                         name="logs", daemon=True).start()
        log.info("serving /containerLogs on https://%s:%d", self.args.address, self.args.port)
        backoff = 0.5
        while not self.stop.is_set():
            try:
                for name in self.nodes:
                    self.register_node(name)
                    self.renew_lease(name)
                break
            except Exception as exc:  # noqa: BLE001 - the apiserver may still be starting
                log.warning("registering nodes failed (%s); retrying in %.1f s", exc, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        threads = [threading.Thread(target=self.node_loop, name="nodes"),
                   threading.Thread(target=self.adopt_loop, name="adopt"),
                   threading.Thread(target=self.pod_loop, name="pods"),
                   threading.Thread(target=self.timer_loop, name="timers"),
                   threading.Thread(target=self.stats_loop, name="stats")]
        threads += [threading.Thread(target=self.worker, args=(q,), name=f"worker-{i}")
                    for i, q in enumerate(self.queues)]
        for t in threads:
            t.daemon = True
            t.start()
        log.info("nodes %s ready", ", ".join(self.nodes))
        self.stop.wait()
        # Unblock the watch read; every thread is a daemon, so nothing else has to be joined.
        resp = self.watch_resp
        if resp is not None:
            try:
                resp.shutdown()
            except Exception:  # noqa: BLE001
                pass
        fake_streaming.kill_all()
        log.info("stopped")


# ---- logs over HTTPS ------------------------------------------------------------------------


class LogServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Failed TLS handshakes (port scans, plain-HTTP clients) are not worth a traceback.
        log.debug("log connection from %s failed: %s", client_address, sys.exc_info()[1])


def make_log_server(kubelet: FakeKubelet) -> LogServer:
    args = kubelet.args
    server = LogServer((args.address, args.port), make_handler(kubelet))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    # Handshake in the request thread, not in the accept loop, so one slow client blocks nobody.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def make_handler(kubelet: FakeKubelet):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kdash-fake-kubelet"

        def setup(self):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
            super().setup()

        def log_message(self, fmt, *args):
            log.debug("%s %s", self.address_string(), fmt % args)

        def reply(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            try:
                self.handle_get()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError, OSError):
                self.close_connection = True
            except Exception:  # noqa: BLE001
                log.exception("log request %s failed", self.path)
                self.close_connection = True

        def do_POST(self):
            # kubectl before 1.30 asks for SPDY streams with a POST: say plainly that only WebSocket is served.
            if self.path.split("/")[1:2] not in (["exec"], ["portForward"], ["attach"]):
                return self.reply(405, "method not allowed")
            # A Status body, because that is what kubectl prints from a refused upgrade.
            data = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "the fake kubelet serves exec and port-forward over WebSocket "
                                          "only (GET with Upgrade: websocket), not SPDY",
                               "reason": "BadRequest", "code": 400}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_get(self):
            url = urlsplit(self.path)
            if url.path in ("/healthz", "/healthz/"):
                return self.reply(200, "ok")
            parts = url.path.split("/")
            if len(parts) == 5 and parts[1] == "exec" or len(parts) == 4 and parts[1] == "portForward":
                rec = kubelet.lookup(parts[2], parts[3])
                if rec is None:
                    return self.reply(404, "pod does not exist")
                if parts[1] == "exec":
                    return fake_streaming.serve_exec(self, kubelet, rec, parts[4], url.query)
                return fake_streaming.serve_port_forward(self, kubelet.pod_ports, rec, url.query)
            if len(parts) != 5 or parts[1] != "containerLogs":
                return self.reply(404, "404 page not found")
            _, _, namespace, pod, name = parts
            rec = kubelet.lookup(namespace, pod)
            if rec is None:
                return self.reply(404, f'pod "{pod}" does not exist')
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                inst = log_instance(rec, name, time.time(), truthy(q.get("previous")))
                tail = int(q["tailLines"]) if "tailLines" in q else None
                limit = int(q["limitBytes"]) if "limitBytes" in q else None
                since_ns = None
                if "sinceTime" in q:
                    since_ns = int(parse_time(q["sinceTime"]) * 1e9)
                elif "sinceSeconds" in q:
                    since_ns = time.time_ns() - int(q["sinceSeconds"]) * 1_000_000_000
            except LogError as exc:
                return self.reply(exc.status, str(exc))
            except ValueError as exc:
                return self.reply(400, f"invalid log options: {exc}")
            self.stream(rec, name, inst, truthy(q.get("follow")) and not truthy(q.get("previous")),
                        tail, since_ns, truthy(q.get("timestamps")), limit)

        def stream(self, rec, name, inst, follow, tail, since_ns, timestamps, limit):
            period = rec.log_period_ns

            def count(until_ns: int) -> int:
                # Lines stamped at or before until_ns (inclusive, also for a finished run).
                if period is None or until_ns < inst.start_ns:
                    return 0
                return (until_ns - inst.start_ns) // period + 1

            def horizon() -> int:
                now = time.time_ns()
                return now if inst.end_ns is None else min(now, inst.end_ns)

            prefix = f"{rec.name} {name} " + (f"restart {inst.number} " if inst.number else "")
            container, _ = rec.container(name)
            errors = container is not None and container.logs_errors
            n = count(horizon())
            first = 0
            if since_ns is not None and period:
                first = max(0, -((inst.start_ns - since_ns) // period))  # ceil((since-start)/period)
            if tail is not None and tail >= 0:
                first = max(first, n - tail)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            budget = [limit if limit and limit > 0 else None]

            def emit(lo: int, hi: int) -> bool:
                """Write lines lo..hi-1 as chunks of at most ~64 KiB; False once limitBytes is used up."""
                i = lo
                while i < hi:
                    out = []
                    size = 0
                    while i < hi and size < 65536:
                        ts = rfc3339_nano(inst.start_ns + i * period) + " " if timestamps else ""
                        if errors and i % LOG_ERROR_EVERY == 0:
                            line = f"{ts}{prefix}ERROR line {i}: upstream connection refused\n"
                        else:
                            line = f"{ts}{prefix}line {i}\n"
                        out.append(line)
                        size += len(line)
                        i += 1
                    data = "".join(out).encode()
                    if budget[0] is not None:
                        data = data[:budget[0]]
                        budget[0] -= len(data)
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    if budget[0] == 0:
                        return False
                self.wfile.flush()
                return True

            more = emit(first, n)
            next_i = max(first, n)
            while more and follow and not kubelet.stop.is_set():
                if inst.end_ns is not None and time.time_ns() >= inst.end_ns:
                    break  # this run of the container exited
                if kubelet.lookup(rec.namespace, rec.name) is not rec:
                    break  # the pod is gone (or was replaced)
                wait = 0.5
                if period is not None:
                    wait = min(wait, max(0.0, (inst.start_ns + next_i * period - time.time_ns()) / 1e9))
                if wait > 0 and self.client_gone(wait):
                    self.close_connection = True
                    return
                m = count(horizon())
                if m > next_i:
                    more = emit(next_i, m)
                    next_i = m
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def client_gone(self, timeout: float) -> bool:
            """Wait up to `timeout`; True if the peer closed (it never sends more while we stream)."""
            try:
                readable, _, _ = select.select([self.connection], [], [], timeout)
                if not readable:
                    return False
                # Readable may mean TLS records without data: never block on them.
                self.connection.settimeout(0.05)
                try:
                    return self.connection.recv(1) == b""
                finally:
                    self.connection.settimeout(None)
            except TimeoutError:
                return False
            except (OSError, ValueError):
                return True

    return Handler


# ---- command line ---------------------------------------------------------------------------


def self_signed(address: str) -> tuple[str, str]:
    """A throwaway serving certificate for when --cert/--key are not given."""
    d = tempfile.mkdtemp(prefix="fake-kubelet-")
    cert, key = os.path.join(d, "kubelet.pem"), os.path.join(d, "kubelet-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "3650", "-subj", "/CN=kdash-fake-kubelet",
                    "-addext", f"subjectAltName=IP:{address}"], check=True, capture_output=True)
    return cert, key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster.fake_kubelet",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
    parser.add_argument("--nodes", type=int, default=2, help="how many Nodes to run (default 2)")
    parser.add_argument("--node-prefix", default="kdash-node", help="Nodes are PREFIX-1..N")
    parser.add_argument("--address", default="127.0.0.1", help="InternalIP of the nodes and log server address")
    parser.add_argument("--port", type=int, default=10250, help="log server port (daemonEndpoints)")
    parser.add_argument("--cert", help="serving certificate (PEM); self-signed if omitted")
    parser.add_argument("--key", help="serving key (PEM)")
    parser.add_argument("--max-pods", type=int, default=5000, help="pods capacity per node")
    parser.add_argument("--workers", type=int, default=8, help="threads patching pod status")
    parser.add_argument("--delete-delay", type=float, default=1.0,
                        help="seconds before a terminating pod is removed (at most its grace period)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    if not args.cert or not args.key:
        args.cert, args.key = self_signed(args.address)

    kubelet = FakeKubelet(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: kubelet.stop.set())
    kubelet.run()
    sys.stderr.flush()
    # Daemon threads may sit in blocking reads; exiting now keeps shutdown well under a second.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
