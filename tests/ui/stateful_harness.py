"""Fake in-process clusters per kubeconfig context for whole-app Pilot tests: every request recorded."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import urllib3

from kdash.core.kinds import KINDS_BY_NAME, WATCHED_KINDS
from kdash.kube.api import ApiClient, Configuration
from kdash.kube.client import Connection
from kdash.kube.store import Store

DEV, ADMIN, PROD, DOWN, SILENT, SLOW = "dev", "admin", "prod", "down", "silent", "slow"
CONTEXTS = (DEV, ADMIN, PROD, DOWN, SILENT, SLOW)
HEALTHY = (DEV, ADMIN, PROD)
NAMESPACES = ("default", "shop")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Asking the server what the user may do is a POST, not a change.
NOT_WRITES = re.compile(r"/selfsubjectaccessreviews$")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Free-text fields the API server accepts with any characters (names and label values it refuses).
HOSTILE = (
    "x\x1b]2;PWNED\x07y",                 # OSC: sets the terminal title
    "\x1b]52;c;cHduZWQ=\x07clip",         # OSC 52: writes the clipboard
    "\x1b[2J\x1b[31mred\x1b[0m",          # CSI: clears the screen, colours
    "bell\x07bell",
    "c1\x9b31mcsi\x9dosc\x9c",            # 8-bit C1 CSI / OSC / ST
    "dcs\x1bPq#0\x1b\\end",
    "nul\x00del\x7fnext\x85line",
)


def kubeconfig_text(contexts: Iterable[str] = CONTEXTS) -> str:
    """A kubeconfig naming `contexts` (the context picker reads it; the fake connector ignores it)."""
    names = list(contexts)
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": names[0],
        "clusters": [{"name": n, "cluster": {"server": f"https://{n}.invalid"}} for n in names],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in names],
    })


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as it left kdash: which cluster it reached, and what the app used at that moment."""

    seq: int
    context: str
    """The context whose fake server received the request."""
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    app_context: str | None
    """The context of the connection the app held when the request was sent."""

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS and not NOT_WRITES.search(self.path)

    @property
    def dry_run(self) -> bool:
        return ("dryRun", "All") in self.query


class Recorder:
    """Every request to every fake server, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self.requests: list[Request] = []
        self.app_context: Callable[[], str | None] = lambda: None

    def record(self, context: str, method: str, url: str, body: Any) -> Request:
        parts = urlsplit(url)
        with self._lock:
            request = Request(next(self._seq), context, method, parts.path, tuple(parse_qsl(parts.query)),
                              body, self.app_context())
            self.requests.append(request)
        return request

    def writes(self, since: int = 0) -> list[Request]:
        with self._lock:
            return [r for r in self.requests[since:] if r.is_write]


class Gate:
    """Holds requests to the silent server (which then time out) and the slow one's connect (which
    then succeeds) until `release()`: their timing on the test's clock, not a real one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self.waiting = 0
        self.failing = 0  # of which will fail (silent)
        self.workers: set[Any] = set()  # Textual workers whose thread is held here

    def hold(self, fails: bool) -> None:
        from textual.worker import NoActiveWorker, get_current_worker

        try:
            worker = get_current_worker()
        except NoActiveWorker:
            worker = None
        with self._cond:
            generation = self._generation
            self.waiting += 1
            self.failing += fails
            self.workers.add(worker)
            self._cond.wait_for(lambda: self._generation != generation)
            self.waiting -= 1
            self.failing -= fails
            self.workers.discard(worker)

    def release(self) -> int:
        """Let every held request go on; returns how many of them will fail."""
        with self._cond:
            held = self.failing
            self._generation += 1
            self._cond.notify_all()
            return held


# -- the fake REST layer -------------------------------------------------------------------------


class FakeResponse:
    """Enough of RESTResponse and urllib3's response for kdash's raw JSON helpers."""

    def __init__(self, status: int, payload: Any) -> None:
        self.status = status
        self.reason = "OK" if status < 300 else "Error"
        self.data = json.dumps(payload).encode()
        self.headers: dict[str, str] = {"Content-Type": "application/json"}
        self.response = self

    def read(self) -> bytes:
        return self.data

    def release_conn(self) -> None:
        pass

    def drain_conn(self) -> None:
        pass

    def getheaders(self) -> dict[str, str]:
        return self.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


def _refused(url: str) -> Exception:
    """What urllib3 raises for a closed port (kdash words it "cannot connect ... connection refused")."""
    reason = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return urllib3.exceptions.MaxRetryError(None, url, reason)


def _timed_out(url: str) -> Exception:
    return urllib3.exceptions.MaxRetryError(
        None, url, urllib3.exceptions.ReadTimeoutError(None, url, "Read timed out. (read timeout=10.0)"))


class FakeREST:
    """The lowest layer every kdash request goes through (ApiClient.call_api → rest_client.request)."""

    def __init__(self, context: str, recorder: Recorder, cluster: FakeCluster | None, gate: Gate) -> None:
        self.context = context
        self.recorder = recorder
        self.cluster = cluster
        self.gate = gate

    def request(self, method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        request = self.recorder.record(self.context, method, url, body)
        if self.context == DOWN:
            raise _refused(url)
        if self.context == SILENT:
            self.gate.hold(fails=True)
            raise _timed_out(url)
        if self.context == SLOW and request.path == "/version":
            self.gate.hold(fails=False)  # connecting takes long; once connected it answers at once
        assert self.cluster is not None
        status, payload = self.cluster.handle(request)
        return FakeResponse(status, payload)

    def close(self) -> None:
        pass


# -- objects -------------------------------------------------------------------------------------


def _uid(kind: str, namespace: str, name: str, incarnation: int) -> str:
    return f"{kind.lower()}-{namespace}-{name}-{incarnation}"


def deployment(namespace: str, name: str, *, replicas: int = 2, revision: int = 2, note: str = "",
               image: str = "nginx:1.25", incarnation: int = 0) -> dict:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if note:
        annotations["note"] = note
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": _uid("Deployment", namespace, name, incarnation),
                     "labels": {"app": name}, "annotations": annotations, "generation": 1,
                     "creationTimestamp": "2026-12-01T10:00:00Z"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": image,
                                                       "envFrom": [{"configMapRef": {"name": f"{name}-cfg"}}]}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                   "readyReplicas": replicas, "availableReplicas": replicas,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                                   "message": note or "ok"}]},
    }


def replicaset(owner: dict, revision: int, replicas: int, *, image: str = "nginx:1.25") -> dict:
    meta = owner["metadata"]
    name = f"{meta['name']}-r{revision}"
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": meta["namespace"],
                     "uid": _uid("ReplicaSet", meta["namespace"], name, int(meta["uid"].rsplit("-", 1)[1])),
                     "labels": {"app": meta["name"], "pod-template-hash": f"r{revision}"},
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                          "uid": meta["uid"], "controller": True}],
                     "creationTimestamp": f"2026-12-01T10:0{revision % 10}:00Z"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": meta["name"]}},
                 "template": {"metadata": {"labels": {"app": meta["name"], "pod-template-hash": f"r{revision}"}},
                              "spec": {"containers": [{"name": meta["name"], "image": image}]}}},
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


def pod(namespace: str, name: str, owner: dict | None = None, *, message: str = "") -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": _uid("Pod", namespace, name, 0),
                            "labels": dict(((owner or {}).get("metadata") or {}).get("labels") or {"app": name}),
                            "creationTimestamp": "2026-12-01T10:05:00Z"}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]
    status: dict[str, Any] = {"phase": "Running", "podIP": "10.0.0.1",
                              "conditions": [{"type": "Ready", "status": "True"}],
                              "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                                     "image": "nginx:1.25", "state": {"running": {}}}]}
    if message:
        status["message"] = message
        status["reason"] = "Hostile"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], "nodeName": "node-1"},
            "status": status}


def configmap(namespace: str, name: str, value: str = "v") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "uid": _uid("ConfigMap", namespace, name, 0),
                         "creationTimestamp": "2026-12-01T10:00:00Z"},
            "data": {"key": value}}


def event(involved: dict, kind: str, message: str, n: int) -> dict:
    meta = involved["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.e{n}", "namespace": meta["namespace"],
                         "uid": f"event-{meta['uid']}-{n}", "creationTimestamp": "2026-12-01T10:06:00Z"},
            "involvedObject": {"kind": kind, "name": meta["name"], "namespace": meta["namespace"],
                               "uid": meta["uid"]},
            "type": "Warning", "reason": "Hostile", "message": message, "count": 1,
            "lastTimestamp": "2026-12-01T10:06:00Z"}


def namespace_obj(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": f"namespace-{name}", "creationTimestamp": "2026-12-01T09:00:00Z"},
            "status": {"phase": "Active"}}


# -- a cluster -----------------------------------------------------------------------------------


PATH = re.compile(r"^/apis?/(?:[^/]+/)?v1(?:beta1)?(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
                  r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")
PLURALS = {k.plural: k.name for k in KINDS_BY_NAME.values()}


class FakeCluster:
    """Objects of one context's cluster; watchers of this cluster see every change at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.objects: dict[str, dict[tuple[str, str], dict]] = {}
        self.watchers: list[FakeWatcher] = []
        self.event_feeds: list[FakeEventFeed] = []
        self._rv = itertools.count(1)
        self._lock = threading.RLock()
        for ns in NAMESPACES:
            self.put("Namespace", namespace_obj(ns))

    # -- state ----------------------------------------------------------------------------

    def put(self, kind: str, obj: dict) -> dict:
        with self._lock:
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(next(self._rv))
            meta = obj["metadata"]
            self.objects.setdefault(kind, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self._tell(kind, obj, deleted=False)
        return obj

    def remove(self, kind: str, namespace: str, name: str) -> dict | None:
        with self._lock:
            obj = self.objects.get(kind, {}).pop((namespace, name), None)
        if obj is not None:
            self._tell(kind, obj, deleted=True)
        return obj

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        with self._lock:
            return self.objects.get(kind, {}).get((namespace, name))

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return [o for (ns, _), o in sorted(self.objects.get(kind, {}).items())
                    if namespace is None or ns == namespace]

    def _tell(self, kind: str, obj: dict, *, deleted: bool) -> None:
        for watcher in list(self.watchers):
            watcher.saw(kind, obj, deleted)
        if kind == "Event":
            for feed in list(self.event_feeds):
                feed.saw(obj, deleted)

    # -- requests -------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any]:
        if request.path == "/version":
            return 200, {"gitVersion": f"v1.20.2-{self.name}"}
        if NOT_WRITES.search(request.path):
            return 201, {"status": {"allowed": True}}
        match = PATH.match(request.path)
        if not match:
            return 404, _status(404, f"no route {request.path}")
        ns, plural, name, sub = match["ns"] or "", match["plural"], match["name"], match["sub"]
        kind = PLURALS.get(plural)
        if kind is None:
            return 200, {"items": []}  # horizontalpodautoscalers and other lists kdash only reads
        if name is None:
            return 200, {"items": self.list(kind, ns or None), "metadata": {"resourceVersion": "1"}}
        obj = self.get(kind, ns, name)
        if obj is None:
            return 404, _status(404, f'{plural} "{name}" not found')
        if request.method == "GET":
            if sub == "scale":
                return 200, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                             "metadata": {"name": name, "namespace": ns,
                                          "resourceVersion": obj["metadata"]["resourceVersion"]},
                             "spec": {"replicas": obj["spec"].get("replicas", 1)}}
            return 200, obj
        if request.dry_run:
            return 200, obj
        return self._write(kind, obj, request, sub)

    def _write(self, kind: str, obj: dict, request: Request, sub: str | None) -> tuple[int, Any]:
        meta = obj["metadata"]
        if request.method == "DELETE":
            self.remove(kind, meta["namespace"], meta["name"])
            return 200, obj
        changed = json.loads(json.dumps(obj))
        if sub == "scale":
            replicas = int(request.body["spec"]["replicas"])
            changed["spec"]["replicas"] = replicas
        changed["metadata"]["generation"] = int(meta.get("generation", 1)) + 1
        return 200, self.put(kind, changed)


def _status(code: int, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


# -- watchers: the store fed from a fake cluster, synchronously ----------------------------------


class FakeWatcher:
    """Stands in for kdash.kube.watcher.Watcher: lists at start, then follows the cluster's changes."""

    order: tuple[str, ...] = tuple(k.name for k in WATCHED_KINDS)
    """The order kinds list in at start (pods before their ReplicaSets, or after)."""

    def __init__(self, connection: Connection, namespace: str | None, kinds=WATCHED_KINDS,
                 on_change: Callable[[str], None] | None = None, *, store: Store | None = None,
                 watch_timeout: int = 45, first: Iterable[str] = ()) -> None:
        self.connection = connection
        self.first = frozenset(first)  # listing order is `order` here
        self.cluster: FakeCluster = connection.api_client.rest_client.cluster
        self.namespace = namespace
        self.kinds = {k.name: k for k in kinds}
        self.on_change = on_change or (lambda _kind: None)
        self.store = store if store is not None else Store()
        self._stop = threading.Event()
        self.pending: list = []
        self.path = None  # no path monitor: the fake clusters' paths never stall

    def stale(self) -> str:
        return ""

    def start(self) -> FakeWatcher:
        """Lists arrive later, one kind at a time (`list_next`), in `order`, as reflectors' would."""
        self._stop = threading.Event()
        self.cluster.watchers.append(self)
        self.pending = [self.kinds[name] for name in self.order if name in self.kinds]
        return self

    def list_next(self) -> bool:
        """Deliver the next kind's initial list; False when every kind has listed."""
        if not self.pending or self._stop.is_set():
            return False
        self._list(self.pending.pop(0))
        return True

    def stop(self, timeout: float = 1.0) -> bool:
        self._stop.set()
        if self in self.cluster.watchers:
            self.cluster.watchers.remove(self)
        return True

    def switch_namespace(self, namespace: str | None, timeout: float = 1.0) -> None:
        self.retire(self.begin_switch(namespace))

    def begin_switch(self, namespace: str | None) -> list:
        """The old namespace's objects go now; the new one's lists arrive later (`list_next`)."""
        self.namespace = namespace
        namespaced = [kind for kind in self.kinds.values() if kind.namespaced]
        for kind in namespaced:
            self.store.clear(kind.name)
        self.pending = [k for k in self.pending if not k.namespaced] + sorted(
            namespaced, key=lambda k: self.order.index(k.name) if k.name in self.order else len(self.order))
        return []

    def retire(self, old: list, timeout: float = 1.0) -> None:
        for kind in self.kinds.values():
            if kind.namespaced:
                self.on_change(kind.name)

    def health(self) -> str:
        from kdash.kube.store import summarize_states

        return summarize_states(self.store.states())

    def relist(self) -> None:
        """A reflector's relist (after a 410 Gone): the store becomes exactly the cluster's objects."""
        for kind in self.kinds.values():
            self._list(kind)

    def _scopes(self, kind) -> list[str | None]:
        """One reflector per watched namespace ("a,b" is a subset); None = cluster-wide."""
        return self.namespace.split(",") if kind.namespaced and self.namespace else [None]

    def _list(self, kind) -> None:
        for scope in self._scopes(kind):
            self.store.replace(kind.name, scope, self.cluster.list(kind.name, scope), stop=self._stop)
            self.store.set_state(kind.name, scope, "live", stop=self._stop)
        self.on_change(kind.name)

    def saw(self, kind_name: str, obj: dict, deleted: bool) -> None:
        kind = self.kinds.get(kind_name)
        if kind is None or self._stop.is_set() or kind in self.pending:
            return  # a reflector watches only after its list
        scopes = self._scopes(kind)
        if scopes != [None] and obj["metadata"].get("namespace") not in scopes:
            return
        self.store.apply(kind_name, [("DELETED" if deleted else "MODIFIED", obj)], stop=self._stop)
        self.on_change(kind_name)


class FakeEventFeed:
    """Stands in for kdash.kube.events.EventFeed: the events of the followed object only."""

    def __init__(self, connection: Connection, store: Store, on_change: Callable[[str], None],
                 watch_timeout: int = 45, path: object = None) -> None:
        self.cluster: FakeCluster = connection.api_client.rest_client.cluster
        self.store = store
        self.on_change = on_change
        self.uid: str | None = None
        self.cluster.event_feeds.append(self)

    def follow(self, kind: str, namespace: str | None, name: str, uid: str | None) -> None:
        if uid == self.uid:
            return
        self.uid = uid
        self.store.replace("Event", None, [e for e in self.cluster.list("Event") if self._ours(e)])
        self.on_change("Event")

    def stop(self) -> None:
        self.uid = None
        if self in self.cluster.event_feeds:
            self.cluster.event_feeds.remove(self)
        self.store.replace("Event", None, [])

    def _ours(self, event_obj: dict) -> bool:
        return bool(self.uid) and (event_obj.get("involvedObject") or {}).get("uid") == self.uid

    def saw(self, event_obj: dict, deleted: bool) -> None:
        if self._ours(event_obj):
            self.store.apply("Event", [("DELETED" if deleted else "MODIFIED", event_obj)])
            self.on_change("Event")


# -- the world: clusters, connector, recorder ----------------------------------------------------


@dataclass
class World:
    """One fake cluster per healthy context, a failing server for the others, and the request log."""

    recorder: Recorder = field(default_factory=Recorder)
    gate: Gate = field(default_factory=Gate)
    clusters: dict[str, FakeCluster] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in HEALTHY + (SLOW,):
            self.clusters[name] = FakeCluster(name)

    def connector(self, kubeconfig: str | None, context: str | None) -> Connection:
        """What kdash.kube.client.connect returns: building a connection sends nothing."""
        name = context or DEV
        api_client = ApiClient(Configuration(host=f"https://{name}.invalid"))
        api_client.rest_client = FakeREST(name, self.recorder, self.clusters.get(name), self.gate)
        return Connection(api_client, name, "default", f"https://{name}.invalid", contexts=list(CONTEXTS),
                          kubeconfig=kubeconfig)

    def seed(self, cluster: FakeCluster, namespace: str, name: str, *, note: str = "",
             order: Iterable[str] = ("Deployment", "ReplicaSet", "Pod")) -> None:
        """A workload (see `workload`) created in `order`, its ConfigMap and its Service."""
        objs = self.workload(cluster, namespace, name, note=note)
        for kind in order:
            for obj in objs[kind]:
                cluster.put(kind, obj)

    def workload(self, cluster: FakeCluster, namespace: str, name: str, *, note: str = "") -> dict[str, list[dict]]:
        """A Deployment with two revisions (so undo has a target) and its pods, not yet created;
        its ConfigMap and Service are."""
        dep = deployment(namespace, name, note=note)
        old, new = replicaset(dep, 1, 0), replicaset(dep, 2, 2)
        cluster.put("ConfigMap", configmap(namespace, f"{name}-cfg", note or "v"))
        cluster.put("Service", {"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": namespace,
                                             "uid": _uid("Service", namespace, name, 0),
                                             "creationTimestamp": "2026-12-01T10:00:00Z"},
                                "spec": {"selector": {"app": name}, "ports": [{"port": 80}],
                                         "type": "ClusterIP", "clusterIP": "10.96.0.10"}})
        return {"Deployment": [dep], "ReplicaSet": [old, new],
                "Pod": [pod(namespace, f"{new['metadata']['name']}-{i}", new) for i in range(2)]}


def control_chars(text: str) -> list[str]:
    """The C0/C1 control characters (and DEL) in `text`, as escapes for an assertion message."""
    return sorted({repr(c) for c in CONTROL.findall(text)})
