"""API discovery: which kinds a group version serves, and which version of a resource to use."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from kdash.core.kinds import Kind, api_path
from kdash.errors import ApiException, describe_api_error
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API, from discovery."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str | None = None) -> str:
        """The list/watch path, in one namespace or (None, or cluster-scoped) across all."""
        return api_path(self.api_version, self.plural, namespace=namespace if self.namespaced else None)

    def path(self, namespace: str | None, name: str) -> str:
        return api_path(self.api_version, self.plural, namespace=namespace if self.namespaced else None, name=name)


_discovery: weakref.WeakKeyDictionary[ApiClient, dict[str, dict[str, Resource] | None]] = \
    weakref.WeakKeyDictionary()
_discovery_lock = threading.Lock()


def discover(api_client: ApiClient, api_version: str, refresh: bool = False) -> dict[str, Resource] | None:
    """Kinds served under `api_version` (kind → Resource), None if the server has no such version.

    Cached per api_client; `refresh` re-reads (a CRD may have been installed since).
    """
    with _discovery_lock:
        cache = _discovery.setdefault(api_client, {})
        if not refresh and api_version in cache:
            return cache[api_version]
    try:
        resources = get_json(api_client, api_path(api_version)).get("resources") or []
    except ApiException as exc:
        if exc.status != 404:
            raise describe_api_error(exc) from exc
        kinds = None
    except Exception as exc:
        raise describe_api_error(exc) from exc
    else:
        kinds = {
            r["kind"]: Resource(api_version, r["kind"], r["name"], bool(r.get("namespaced")))
            for r in resources
            if "/" not in r.get("name", "/")  # subresources (deployments/scale) share the kind
        }
    with _discovery_lock:
        _discovery.setdefault(api_client, {})[api_version] = kinds
    return kinds


def preferred(api_client: ApiClient, kind: str, api_versions: Sequence[str]) -> Resource | None:
    """The first of `api_versions` (list them newest first) under which the server serves `kind`.

    None when it serves none of them: the caller shows the kind as unavailable instead of failing,
    and never requests a version the server would answer with a deprecation warning when a newer one
    is served (CronJob batch/v1 over batch/v1beta1, HPA autoscaling/v2 over v2beta2, EndpointSlice
    discovery.k8s.io/v1 over v1beta1).
    """
    for api_version in api_versions:
        kinds = discover(api_client, api_version)
        if kinds is not None and kind in kinds:
            return kinds[kind]
    return None


def served_kind(api_client: ApiClient, kind: Kind) -> Kind | None:
    """`kind` at the version the server serves (its `versions`, newest first), None if it serves none;
    a kind without candidate versions is taken as it is."""
    if not kind.versions:
        return kind
    resource = preferred(api_client, kind.name, kind.versions)
    return None if resource is None else dataclasses.replace(kind, api_version=resource.api_version)
