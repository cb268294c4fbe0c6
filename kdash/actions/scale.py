"""Scale a Deployment or StatefulSet through its scale subresource, with optimistic concurrency."""

from __future__ import annotations

import re

from kdash.actions.http import CONFLICT_RETRIES, api_error, backoff, changed_meanwhile
from kdash.actions.safety import WriteContext, target_of
from kdash.core import objects
from kdash.core.hpa import by_target
from kdash.core.kinds import DEPLOYMENT, Kind
from kdash.errors import ApiException, KdashError, describe_api_error
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json
from kdash.kube.discovery import preferred

MAX_REPLICAS = 10_000  # a typo guard ("30000" for "3"), not an API limit
_DIGITS = re.compile(r"[0-9]+")


class InvalidReplicas(KdashError):
    """The replica count typed by the user is not a whole number in 0..MAX_REPLICAS."""

    def __init__(self, message: str) -> None:
        super().__init__("Invalid replicas", message)


def parse_replicas(text: str) -> int:
    """The replica count in `text`, or InvalidReplicas saying what is wrong with it."""
    value = text.strip()
    if not value:
        raise InvalidReplicas("enter a number of replicas")
    if value.startswith("-") and _DIGITS.fullmatch(value[1:]):
        raise InvalidReplicas(f"{value} is negative; replicas must be 0 or more")
    if not _DIGITS.fullmatch(value):
        raise InvalidReplicas(f"{value!r} is not a whole number")
    if len(value.lstrip("0")) > len(str(MAX_REPLICAS)):
        # Checked on the text: int() refuses strings of thousands of digits with its own error.
        raise InvalidReplicas(f"{value[:12]}{'…' if len(value) > 12 else ''} is more than {MAX_REPLICAS}")
    return check_replicas(int(value))


def check_replicas(replicas: int) -> int:
    """`replicas` if within 0..MAX_REPLICAS, else InvalidReplicas."""
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise InvalidReplicas(f"{replicas!r} is not a whole number")
    if replicas < 0:
        raise InvalidReplicas(f"{replicas} is negative; replicas must be 0 or more")
    if replicas > MAX_REPLICAS:
        raise InvalidReplicas(f"{replicas} is more than {MAX_REPLICAS}")
    return replicas


def scale_path(namespace: str, name: str, kind: Kind = DEPLOYMENT) -> str:
    return kind.object_path(namespace, name) + "/scale"


def read_scale(api_client: ApiClient, namespace: str, name: str, kind: Kind = DEPLOYMENT) -> dict:
    """The workload's autoscaling/v1 Scale object (its resourceVersion is the workload's)."""
    try:
        return get_json(api_client, scale_path(namespace, name, kind))
    except Exception as exc:
        raise api_error(exc, f"{kind.name} {namespace}/{name}") from exc


def get_scale(api_client: ApiClient, namespace: str, name: str, kind: Kind = DEPLOYMENT) -> int:
    """The workload's desired replicas, as the scale subresource reports them."""
    return int((read_scale(api_client, namespace, name, kind).get("spec") or {}).get("replicas") or 0)


def scale(ctx: WriteContext, namespace: str, name: str, replicas: int, *,
          expected_resource_version: str | None = None, expected_replicas: int | None = None,
          kind: Kind = DEPLOYMENT) -> str:
    """Set the workload's replicas through the scale subresource; returns a one-line summary.

    The PUT carries a resourceVersion, so a concurrent change fails with a clear "changed
    meanwhile" error instead of being overwritten. Two optional preconditions:
    `expected_resource_version` (strict, like kubectl --resource-version: any change since,
    even of the status, fails) and `expected_replicas` (like kubectl --current-replicas: fails
    only if the replica count itself moved — the better choice during a rollout, whose status
    changes every few seconds). Without the former, a conflict caused by a status update
    between our read and our write is retried.
    """
    check_replicas(replicas)
    what = f"{kind.name} {namespace}/{name}"
    with ctx.attempt("scale", target_of(kind.name, namespace, name)) as attempt:
        before = expected_replicas
        for tries in range(CONFLICT_RETRIES):
            if tries:
                backoff(tries)
            current = read_scale(ctx.api_client, namespace, name, kind)
            now = (current.get("spec") or {}).get("replicas")
            if before is not None and now != before:
                raise KdashError("Changed meanwhile", f"{what} now has {now} replicas, not {before}; "
                                 "nothing was changed — reload and retry")
            before = now
            metadata = dict(objects.meta(current))
            if expected_resource_version is not None:
                metadata["resourceVersion"] = str(expected_resource_version)
            body = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": metadata,
                    "spec": {"replicas": replicas}}
            try:
                attempt.send("PUT", scale_path(namespace, name, kind), body)
                break
            except ApiException as exc:
                if exc.status != 409 or expected_resource_version is not None:
                    raise api_error(exc, what, conflict=changed_meanwhile(what)) from exc
        else:
            raise KdashError("Changed meanwhile", changed_meanwhile(what))
        attempt.detail = f"replicas {before} -> {replicas}"
    return f"scaled {what} from {before} to {replicas} replicas"


def hpa_for(api_client: ApiClient, namespace: str, name: str, kind: str = "Deployment") -> str | None:
    """The name of a HorizontalPodAutoscaler targeting the workload (`kind` namespace/name): it would undo a scale.

    autoscaling/v1 (served by every supported server, found by discovery) has scaleTargetRef in
    all versions. A server that serves no HPAs, or a user who cannot list them, yields None: this
    only feeds a warning.
    """
    try:
        resource = preferred(api_client, "HorizontalPodAutoscaler", ("autoscaling/v1",))
        if resource is None:
            return None
        items = get_json(api_client, resource.collection(namespace)).get("items") or []
    except ApiException as exc:
        if exc.status in (403, 404):
            return None
        raise describe_api_error(exc) from exc
    except Exception as exc:
        raise describe_api_error(exc) from exc
    hpa = by_target(items).get((kind, namespace, name))
    return objects.name(hpa) if hpa is not None else None
