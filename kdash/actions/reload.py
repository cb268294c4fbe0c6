"""ConfigMap-triggered restarts: stamp consumers with the data hash, detect real data changes, opt-ins."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from kdash.actions.configmap import Consumer, consumers, data_hash
from kdash.actions.http import STRATEGIC_MERGE_PATCH, api_error
from kdash.actions.rollout import read_deployment
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError
from kdash.kube import objects
from kdash.kube.client import get_json
from kdash.kube.kinds import CONFIGMAP, DEPLOYMENT

STAMP_PREFIX = "kdash.io/configmap."
# Opt-ins to automatic restarts: stakater Reloader's (honoured so one annotation serves both) and ours.
RELOADER_AUTO = "reloader.stakater.com/auto"
RELOADER_LIST = "configmap.reloader.stakater.com/reload"
KDASH_AUTO = "kdash.io/auto-restart"
KDASH_LIST = "kdash.io/restart-on-configmaps"
ANNOTATION_NAME_MAX = 63


def stamp_key(configmap_name: str) -> str:
    """The pod-template annotation carrying the hash; its name part must fit 63 characters."""
    name = f"configmap.{configmap_name}"
    if len(name) > ANNOTATION_NAME_MAX:
        digest = hashlib.sha1(configmap_name.encode()).hexdigest()[:12]
        name = f"{name[:ANNOTATION_NAME_MAX - 13]}-{digest}"
    return "kdash.io/" + name


def template_annotations(deployment: dict[str, Any]) -> dict[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}


@dataclass(frozen=True)
class RestartItem:
    consumer: Consumer
    deployment: dict[str, Any]
    needed: bool
    """False when the template already carries this data's hash: already rolled for this content."""


def restart_plan(configmap: dict[str, Any], deployments: Iterable[dict[str, Any]]) -> list[RestartItem]:
    """Each consumer of the ConfigMap, and whether it still needs a restart for the current data."""
    name, namespace = objects.name(configmap), objects.namespace(configmap)
    digest, key = data_hash(configmap), stamp_key(name)
    by_name = {objects.name(d): d for d in deployments if objects.namespace(d) == namespace}
    return [RestartItem(c, by_name[c.deployment], template_annotations(by_name[c.deployment]).get(key) != digest)
            for c in consumers(name, namespace, by_name.values())]


def read_configmap(api_client: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """GET the ConfigMap as a raw dict; KdashError when it cannot be read (or is gone)."""
    try:
        return get_json(api_client, CONFIGMAP.object_path(namespace, name))
    except Exception as exc:
        raise api_error(exc, f"ConfigMap {namespace}/{name}") from exc


def restart_for_configmap(ctx: WriteContext, namespace: str, configmap_name: str, deployment_name: str) -> str | None:
    """Roll one consumer by stamping the hash of the ConfigMap's data as it is now; returns that
    hash, or None when the Deployment already runs it (idempotent).

    The ConfigMap is read here, at write time, not taken from when the restart was offered: an
    answer to an offer made for older data must neither stamp the older hash (the view would then
    call the consumer stale) nor roll a consumer a second time.
    """
    key = stamp_key(configmap_name)
    what = f"Deployment {namespace}/{deployment_name}"
    with ctx.attempt("restart-for-configmap", target_of("Deployment", namespace, deployment_name)) as attempt:
        digest = data_hash(read_configmap(ctx.api_client, namespace, configmap_name))
        deployment = read_deployment(ctx.api_client, namespace, deployment_name)
        if template_annotations(deployment).get(key) == digest:
            attempt.detail = f"already at {key}={digest}"
            return None
        if (deployment.get("spec") or {}).get("paused"):
            raise KdashError("Cannot restart", f"{what} is paused; resume it first")
        # The resourceVersion makes a concurrent edit fail cleanly instead of being rolled twice.
        patch = {"metadata": {"resourceVersion": objects.resource_version(deployment)},
                 "spec": {"template": {"metadata": {"annotations": {key: digest}}}}}
        try:
            attempt.send("PATCH", DEPLOYMENT.object_path(namespace, deployment_name), patch,
                         content_type=STRATEGIC_MERGE_PATCH)
        except ApiException as exc:
            raise api_error(exc, what) from exc
        attempt.detail = f"{key}={digest}"
    return digest


def restart_consumers(ctx: WriteContext, namespace: str, configmap_name: str, deployment_names: Iterable[str]) -> str:
    """Restart each consumer for the ConfigMap's current data; keep going past a failure and report all."""
    done, current, failed, digest = [], [], [], ""
    for name in deployment_names:
        try:
            stamped = restart_for_configmap(ctx, namespace, configmap_name, name)
        except KdashError as exc:
            failed.append(f"{name}: {exc.message}")
            continue
        if stamped:
            done.append(name)
            digest = stamped
        else:
            current.append(name)
    if failed:
        raise KdashError("Some restarts failed", "; ".join(failed) + (f" (restarted: {', '.join(done)})" if done else ""))
    parts = [f"restarting {', '.join(done)} for ConfigMap {configmap_name} (data {digest[:12]})"] if done else []
    if current:
        whose = "its" if done else f"ConfigMap {configmap_name}'s"
        parts.append(f"{', '.join(current)} already on {whose} current data, not restarted")
    return "; ".join(parts) or f"nothing to restart for ConfigMap {configmap_name}"


def wants_auto_restart(deployment: dict[str, Any], configmap_name: str) -> bool:
    """Did the Deployment opt in to automatic restarts when this ConfigMap changes?"""
    annotations = objects.annotations(deployment)
    if annotations.get(RELOADER_AUTO) == "true" or annotations.get(KDASH_AUTO) == "true":
        return True
    listed = f"{annotations.get(RELOADER_LIST, '')},{annotations.get(KDASH_LIST, '')}"
    return configmap_name in {n.strip() for n in listed.split(",")}


class DataChanges:
    """Remembers each ConfigMap's data hash; reports only real data changes.

    The first sighting of a ConfigMap (start-up, a new namespace, a relist after a reconnect)
    only records its hash: Reloader's worst bug was restarting everything on such events.
    Metadata-only edits keep the hash and so are not changes.
    """

    def __init__(self) -> None:
        self._hashes: dict[tuple[str, str], str] = {}

    def observe(self, configmaps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        changed, seen = [], set()
        for cm in configmaps:
            key = objects.key(cm)
            seen.add(key)
            digest = data_hash(cm)
            before = self._hashes.get(key)
            self._hashes[key] = digest
            if before is not None and before != digest:
                changed.append(cm)
        for gone in set(self._hashes) - seen:
            del self._hashes[gone]
        return changed

    def forget(self) -> None:
        """After a namespace or context switch: everything is a first sighting again."""
        self._hashes.clear()
