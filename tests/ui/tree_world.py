"""A small cluster as a store drives it (Deployment, ReplicaSet, Pods, Service, ConfigMap) and a
dashboard app fed only by the test, for comparing what the tree widget shows with a fresh build."""

from __future__ import annotations

import itertools
from argparse import Namespace
from datetime import UTC, datetime, timedelta

from kdash.app import KdashApp, make_app
from kdash.config import Settings
from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CREATED = (NOW - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
TREE_KINDS = ("Deployment", "ReplicaSet", "Pod", "Service", "Endpoints", "ConfigMap", "CronJob", "Job",
              "HorizontalPodAutoscaler", "Ingress")
_versions = itertools.count(1000)


def meta(name: str, ns: str, uid: str, owner: tuple[str, str, str] | None = None,
         labels: dict | None = None) -> dict:
    out = {"name": name, "namespace": ns, "uid": uid, "resourceVersion": str(next(_versions)),
           "creationTimestamp": CREATED, "labels": labels or {}}
    if owner is not None:
        kind, owner_name, owner_uid = owner
        out["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": owner_uid,
                                   "controller": True}]
    return out


def deployment(ns: str = "demo", name: str = "web", replicas: int = 3) -> dict:
    return {"metadata": meta(name, ns, f"uid-dep-{ns}-{name}", labels={"app": name}) | {"generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1"},
                                                          ],
                                           "volumes": [{"name": "conf", "configMap": {"name": f"{name}-conf"}}]}}},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas}}


def replicaset(ns: str = "demo", name: str = "web", replicas: int = 3) -> dict:
    rs_name = f"{name}-5d4f"
    m = meta(rs_name, ns, f"uid-rs-{ns}-{rs_name}", ("Deployment", name, f"uid-dep-{ns}-{name}"),
             labels={"app": name})
    m["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    return {"metadata": m,
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas}}


def pod(name: str, ns: str = "demo", owner_rs: str | None = None, app: str = "web") -> dict:
    owner = ("ReplicaSet", owner_rs, f"uid-rs-{ns}-{owner_rs}") if owner_rs else None
    return {"metadata": meta(name, ns, f"uid-pod-{ns}-{name}", owner, labels={"app": app}),
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx:1"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "state": {"running": {"startedAt": CREATED}}}]}}


def service(ns: str = "demo", name: str = "web") -> dict:
    return {"metadata": meta(name, ns, f"uid-svc-{ns}-{name}"),
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": name},
                     "ports": [{"port": 80, "protocol": "TCP"}]}}


def endpoints(pods: list[dict], ns: str = "demo", name: str = "web") -> dict:
    addresses = [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": p["metadata"]["name"],
                                                  "namespace": ns, "uid": p["metadata"]["uid"]}} for p in pods]
    return {"metadata": meta(name, ns, f"uid-ep-{ns}-{name}"), "subsets": [{"addresses": addresses}] if addresses else []}


def configmap(ns: str = "demo", name: str = "web-conf") -> dict:
    return {"metadata": meta(name, ns, f"uid-cm-{ns}-{name}"), "data": {"a": "1"}}


def cronjob(ns: str = "demo", name: str = "report", suspend: bool = False) -> dict:
    return {"apiVersion": "batch/v1beta1", "metadata": meta(name, ns, f"uid-cj-{ns}-{name}"),
            "spec": {"schedule": "*/5 * * * *", "suspend": suspend,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}},
            "status": {"lastScheduleTime": CREATED}}


def job(ns: str = "demo", name: str = "report-1", cronjob_name: str | None = "report", done: bool = True) -> dict:
    owner = ("CronJob", cronjob_name, f"uid-cj-{ns}-{cronjob_name}") if cronjob_name else None
    status: dict = {"startTime": CREATED, "succeeded": 1 if done else 0, "active": 0 if done else 1}
    if done:
        status |= {"completionTime": CREATED, "conditions": [{"type": "Complete", "status": "True"}]}
    return {"metadata": meta(name, ns, f"uid-job-{ns}-{name}", owner), "spec": {"completions": 1}, "status": status}


def job_pod(name: str, ns: str, job_name: str) -> dict:
    out = pod(name, ns, app=job_name)
    out["metadata"] = meta(name, ns, f"uid-pod-{ns}-{name}", ("Job", job_name, f"uid-job-{ns}-{job_name}"),
                           labels={"job-name": job_name})
    return out


def hpa(ns: str = "demo", target: str = "web") -> dict:
    return {"apiVersion": "autoscaling/v2beta2", "metadata": meta(f"{target}-hpa", ns, f"uid-hpa-{ns}-{target}"),
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": 3, "desiredReplicas": 0}}


def ingress(ns: str = "demo", name: str = "web", service_name: str = "web", canary_weight: int | None = None) -> dict:
    m = meta(name, ns, f"uid-ing-{ns}-{name}")
    if canary_weight is not None:
        m["annotations"] = {"nginx.ingress.kubernetes.io/canary": "true",
                            "nginx.ingress.kubernetes.io/canary-weight": str(canary_weight)}
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service_name, "port": {"number": 80}}}}
    return {"metadata": m, "spec": {"rules": [{"host": "shop.test", "http": {"paths": [path]}}]}}


def item1_namespace(ns: str = "demo") -> dict[str, list[dict]]:
    """Item 1's namespace: one Deployment of 3 replicas and three bare Pods (plus a Service and a
    ConfigMap for the other views)."""
    rs_name = "web-5d4f"
    owned = [pod(f"{rs_name}-{i}", ns, rs_name) for i in range(3)]
    bare = [pod(f"solo-{i}", ns, app="solo") for i in range(3)]
    return {"Deployment": [deployment(ns)], "ReplicaSet": [replicaset(ns)], "Pod": owned + bare,
            "Service": [service(ns)], "Endpoints": [endpoints(owned, ns)], "ConfigMap": [configmap(ns)]}


def refreshed(obj: dict) -> dict:
    """The same object at a new resourceVersion (what a relist after a missed update brings)."""
    return obj | {"metadata": obj["metadata"] | {"resourceVersion": str(next(_versions))}}


class FedApp(KdashApp):
    """The real app with no connection: the test fills the store and flushes it."""

    def connect_and_watch(self, context: str | None) -> None:
        self.context_name, self.namespace, self.server_version = "test", "demo", "v1.20.2"

    def watch_health(self) -> str:
        return "live"

    def put(self, kind: str, objects: list[dict], namespace: str | None = None) -> None:
        """A reflector's (re)list of one kind: the store holds exactly `objects`, then a flush."""
        self.store.replace(kind, namespace, [slim(o, KINDS_BY_NAME[kind]) for o in objects])
        self.dashboard.refresh_data({kind})

    def event(self, kind: str, event_type: str, obj: dict) -> None:
        self.store.apply(kind, [(event_type, slim(obj, KINDS_BY_NAME[kind]))])
        self.dashboard.refresh_data({kind})


def fed_app(**overrides) -> FedApp:
    args = Namespace(kubeconfig=None, context=None, namespace="demo", all_namespaces=False, readonly=False,
                     theme=None)
    options = dict(clock=lambda: NOW, settings=Settings())
    options.update(overrides)
    return make_app(args, app_class=FedApp, **options)


def shown_vs_fresh(app: KdashApp) -> tuple[list[str], list[str]]:
    """(what the dashboard's tree widget shows, what a fresh build of the same store shows)."""
    screen = app.dashboard
    return screen.tree.displayed_lines(), screen.tree.lines_for(screen.view_nodes(fresh=True))
