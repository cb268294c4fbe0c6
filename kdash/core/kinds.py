"""The resource kinds kdash watches, with their API paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One watched resource kind; `name` (e.g. "Pod") is the key used by the store and on_change."""

    name: str
    plural: str
    api_version: str  # "v1" for the core group, else "group/version"
    namespaced: bool = True

    def list_path(self, namespace: str | None = None) -> str:
        """The collection path: namespaced when `namespace` is given, else across all namespaces."""
        return api_path(self.api_version, self.plural, namespace=namespace if self.namespaced else None)

    def object_path(self, namespace: str | None, name: str) -> str:
        """The path of a single object."""
        if self.namespaced and not namespace:
            raise ValueError(f"{self.name} is namespaced: a namespace is required")
        return api_path(self.api_version, self.plural, namespace=namespace if self.namespaced else None, name=name)


def api_path(api_version: str, plural: str = "", *, namespace: str | None = None, name: str = "") -> str:
    """The one REST path builder: the group version, then `namespaces/<ns>`, the resource and the name
    (each when given): api_path("apps/v1", "deployments", namespace="ns", name="web")."""
    # The core group lives under /api, every named group under /apis.
    parts = [f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"]
    if namespace:
        parts += ["namespaces", namespace]
    return "/".join(parts + [part for part in (plural, name) if part])


DEPLOYMENT = Kind("Deployment", "deployments", "apps/v1")
REPLICASET = Kind("ReplicaSet", "replicasets", "apps/v1")
POD = Kind("Pod", "pods", "v1")
SERVICE = Kind("Service", "services", "v1")
ENDPOINTS = Kind("Endpoints", "endpoints", "v1")
CONFIGMAP = Kind("ConfigMap", "configmaps", "v1")
EVENT = Kind("Event", "events", "v1")
NAMESPACE = Kind("Namespace", "namespaces", "v1", namespaced=False)

ALL_KINDS: tuple[Kind, ...] = (
    DEPLOYMENT,
    REPLICASET,
    POD,
    SERVICE,
    ENDPOINTS,
    CONFIGMAP,
    EVENT,
    NAMESPACE,
)

# What the Watcher lists and watches for the whole scope. Events are not among them: at 10k pods
# they were ~30 % of the watch traffic, only to show the selected object's few (kube/events.py).
WATCHED_KINDS: tuple[Kind, ...] = tuple(kind for kind in ALL_KINDS if kind is not EVENT)

KINDS_BY_NAME: dict[str, Kind] = {kind.name: kind for kind in ALL_KINDS}


def kind_named(name: str) -> Kind:
    """Look a kind up by its name ("Pod") or plural ("pods"), case-insensitively."""
    wanted = name.lower()
    for kind in ALL_KINDS:
        if wanted in (kind.name.lower(), kind.plural):
            return kind
    raise KeyError(f"unknown kind: {name}")
