"""ConfigMap-triggered restarts: stamp each consumer with the hash of the data it should run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kdash.actions.http import api_error
from kdash.actions.rollout import patch_deployment, read_deployment
from kdash.actions.safety import WriteContext, target_of
from kdash.core import objects
from kdash.core.configmaps import data_hash, stamp_key, template_annotations
from kdash.core.kinds import CONFIGMAP
from kdash.errors import KdashError
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json


def read_configmap(api_client: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """GET the ConfigMap as a raw dict; KdashError when it cannot be read (or is gone)."""
    try:
        return get_json(api_client, CONFIGMAP.object_path(namespace, name))
    except Exception as exc:
        raise api_error(exc, f"ConfigMap {namespace}/{name}") from exc


def restart_for_configmap(ctx: WriteContext, namespace: str, configmap_name: str, deployment_name: str) -> str | None:
    """Roll one consumer by stamping the ConfigMap's current data hash (see restart_stage)."""
    return restart_stage(ctx, namespace, configmap_name, deployment_name)[0]


def restart_stage(ctx: WriteContext, namespace: str, configmap_name: str,
                  deployment_name: str) -> tuple[str | None, dict[str, Any]]:
    """Roll one consumer by stamping the hash of the ConfigMap's data as it is now; returns that
    hash, or None when the Deployment already runs it (idempotent), and the Deployment as it was
    just before the patch (a rollout watch starts from its generation).

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
            return None, deployment
        if (deployment.get("spec") or {}).get("paused"):
            raise KdashError("Cannot restart", f"{what} is paused; resume it first")
        # The resourceVersion makes a concurrent edit fail cleanly instead of being rolled twice.
        patch = {"metadata": {"resourceVersion": objects.resource_version(deployment)},
                 "spec": {"template": {"metadata": {"annotations": {key: digest}}}}}
        patch_deployment(attempt, namespace, deployment_name, patch, what)
        attempt.detail = f"{key}={digest}"
    return digest, deployment


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
        restarted = f" (restarted: {', '.join(done)})" if done else ""
        raise KdashError("Some restarts failed", "; ".join(failed) + restarted)
    parts = [f"restarting {', '.join(done)} for ConfigMap {configmap_name} (data {digest[:12]})"] if done else []
    if current:
        whose = "its" if done else f"ConfigMap {configmap_name}'s"
        parts.append(f"{', '.join(current)} already on {whose} current data, not restarted")
    return "; ".join(parts) or f"nothing to restart for ConfigMap {configmap_name}"
