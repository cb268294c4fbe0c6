"""Pause and resume a Deployment's rollout, like `kubectl rollout pause|resume` (spec.paused)."""

from __future__ import annotations

from kdash.actions.rollout import patch_deployment, read_deployment
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError


def pause(ctx: WriteContext, namespace: str, name: str) -> str:
    """Set spec.paused: template changes from now on are staged, not rolled out."""
    return _set_paused(ctx, namespace, name, True)


def resume(ctx: WriteContext, namespace: str, name: str) -> str:
    """Clear spec.paused: the staged template rolls out."""
    return _set_paused(ctx, namespace, name, False)


def _set_paused(ctx: WriteContext, namespace: str, name: str, paused: bool) -> str:
    verb = "pause" if paused else "resume"
    what = f"Deployment {namespace}/{name}"
    with ctx.attempt(verb, target_of("Deployment", namespace, name)) as attempt:
        deployment = read_deployment(ctx.api_client, namespace, name)
        if bool((deployment.get("spec") or {}).get("paused")) == paused:
            # kubectl's wording: `deployments.apps "web" is already paused` / `is not paused`.
            state = "already paused" if paused else "not paused"
            raise KdashError(f"Cannot {verb}", f'deployments.apps "{name}" is {state}')
        resource_version = (deployment.get("metadata") or {}).get("resourceVersion")
        # The resourceVersion makes the patch fail rather than act on a Deployment changed since it was read.
        patch = {"metadata": {"resourceVersion": resource_version}, "spec": {"paused": paused}}
        patch_deployment(attempt, namespace, name, patch, what)
        attempt.detail = f"spec.paused={str(paused).lower()}"
    return f"{what} {'paused' if paused else 'resumed'}"
