"""Validate image references and change a workload container's image (init containers too)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kdash.actions.http import CONFLICT_RETRIES, STRATEGIC_MERGE_PATCH, api_error, backoff, changed_meanwhile
from kdash.actions.safety import WriteContext, target_of
from kdash.core import objects
from kdash.core.kinds import DEPLOYMENT, KINDS_BY_NAME, Kind
from kdash.errors import ApiException, KdashError
from kdash.kube.client import get_json

# The docker reference grammar (github.com/distribution/reference, regexp.go):
#   reference := name [":" tag] ["@" digest];  name := [domain "/"] path-component ["/" path-component]*
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
# Registries only use these two; the grammar's open-ended algorithm list would accept typos.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
MAX_NAME_LENGTH = 255


class InvalidImage(KdashError):
    """The image reference typed by the user does not follow the docker reference grammar."""

    def __init__(self, message: str) -> None:
        super().__init__("Invalid image", message)


@dataclass(frozen=True)
class ContainerRef:
    """A container of a pod template, for the set-image picker."""

    name: str
    init: bool
    image: str


def parse_image(ref: str) -> str:
    """`ref` without surrounding blanks if it is a valid image reference, else InvalidImage."""
    value = ref.strip()
    if not value:
        raise InvalidImage("enter an image, e.g. nginx:1.25 or registry.example.com:5000/team/app@sha256:…")
    if any(char.isspace() for char in value):
        raise InvalidImage(f"{value!r} contains a space")
    name_tag, _, digest = value.partition("@")
    if "@" in value:
        _check_digest(digest)
    name, tag = _split_tag(name_tag)
    if tag is not None:
        _check_tag(tag)
    _check_name(name)
    return value


def _split_tag(name_tag: str) -> tuple[str, str | None]:
    # A ':' before the last '/' belongs to a registry port (localhost:5000/app), not a tag.
    colon = name_tag.rfind(":")
    if colon == -1 or colon < name_tag.rfind("/"):
        return name_tag, None
    return name_tag[:colon], name_tag[colon + 1:]


def _check_digest(digest: str) -> None:
    if not _DIGEST.fullmatch(digest):
        raise InvalidImage(f"digest {digest!r} is invalid: expected sha256: and 64 lowercase hex digits")


def _check_tag(tag: str) -> None:
    if not tag:
        raise InvalidImage("the tag after ':' is empty")
    if not _TAG.fullmatch(tag):
        raise InvalidImage(f"tag {tag!r} is invalid: letters, digits, '_', '.' and '-', "
                           "at most 128, not starting with '.' or '-'")


def _check_name(name: str) -> None:
    if not name:
        raise InvalidImage("the repository name before the tag or digest is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidImage(f"the repository name is longer than {MAX_NAME_LENGTH} characters")
    parts = name.split("/")
    if "" in parts:
        raise InvalidImage(f"{name!r} has an empty path component ('//' or a '/' at an end)")
    if len(parts) > 1 and _is_domain(parts[0]):
        if not _DOMAIN.fullmatch(parts[0]):
            raise InvalidImage(f"registry {parts[0]!r} is not a valid host[:port]")
        parts = parts[1:]
    for part in parts:
        if part != part.lower():
            raise InvalidImage(f"repository {name!r} must be lowercase")
        if not _PATH_COMPONENT.fullmatch(part):
            raise InvalidImage(f"{part!r} is not a valid repository name component: lowercase "
                               "letters and digits, separated by '.', '_', '__' or '-'")


def _is_domain(first: str) -> bool:
    # Docker's rule (ParseNormalizedNamed): the first component is a registry if it looks like one.
    return "." in first or ":" in first or first == "localhost" or first != first.lower()


def containers(deployment: Mapping[str, Any]) -> list[ContainerRef]:
    """The pod template's containers, then its init containers."""
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [
        ContainerRef(c.get("name", ""), init, c.get("image", ""))
        for field, init in (("containers", False), ("initContainers", True))
        for c in pod_spec.get(field) or ()
    ]


def set_image(ctx: WriteContext, deployment: Mapping[str, Any] | tuple[str, str], container: str,
              image: str, *, kind: Kind | None = None) -> str:
    """Set one container's image by strategic-merge patch; returns a one-line summary.

    `deployment` is the object the user looked at, or (namespace, name) to read it now. Its
    resourceVersion goes into the patch, so a Deployment changed meanwhile is not patched.
    A conflict caused only by status updates (same metadata.generation, i.e. the same spec;
    a rollout moves the status every few seconds) is retried with the fresh resourceVersion.
    """
    image = parse_image(image)
    namespace, name = _namespace_name(deployment)
    if kind is None:
        # The object the user looked at names its kind (the store stamps it); a Deployment otherwise.
        named = deployment.get("kind") if isinstance(deployment, Mapping) else None
        kind = KINDS_BY_NAME.get(named or "", DEPLOYMENT)
    what = f"{kind.name} {namespace}/{name}"
    with ctx.attempt("set-image", target_of(kind.name, namespace, name)) as attempt:
        obj = deployment if isinstance(deployment, dict) else _read(ctx, namespace, name, kind)
        ref = _find_container(obj, container, what)
        if ref.image == image:
            attempt.detail = f"{container}: already {image}"
            return f"container {container} of {what} already runs {image}; nothing changed"
        field = "initContainers" if ref.init else "containers"
        seen = obj
        for tries in range(CONFLICT_RETRIES):
            if tries:
                backoff(tries)
                obj = _same_spec_or_fail(seen, _read(ctx, namespace, name, kind), what)
            patch = {
                "metadata": {"resourceVersion": objects.resource_version(obj)},
                # Strategic merge: list items merge by name, the container's other fields stay.
                "spec": {"template": {"spec": {field: [{"name": container, "image": image}]}}},
            }
            try:
                attempt.send("PATCH", kind.object_path(namespace, name), patch,
                             content_type=STRATEGIC_MERGE_PATCH)
                break
            except ApiException as exc:
                if exc.status != 409:
                    raise api_error(exc, what) from exc
        else:
            raise KdashError("Changed meanwhile", changed_meanwhile(what))
        attempt.detail = f"{container}: {ref.image} -> {image}"
    which = "init container" if ref.init else "container"
    return f"set {which} {container} of {what} to {image}"


def _same_spec_or_fail(seen: dict[str, Any], fresh: dict[str, Any], what: str) -> dict[str, Any]:
    """`fresh` if only its status moved since `seen`, else the "changed meanwhile" error."""
    if objects.meta(seen).get("generation") != objects.meta(fresh).get("generation"):
        raise KdashError("Changed meanwhile", changed_meanwhile(what))
    return fresh


def _namespace_name(deployment: Mapping[str, Any] | tuple[str, str]) -> tuple[str, str]:
    if isinstance(deployment, tuple):
        return deployment
    return objects.namespace(deployment), objects.name(deployment)


def _read(ctx: WriteContext, namespace: str, name: str, kind: Kind = DEPLOYMENT) -> dict[str, Any]:
    try:
        return get_json(ctx.api_client, kind.object_path(namespace, name))
    except Exception as exc:
        raise api_error(exc, f"{kind.name} {namespace}/{name}") from exc


def _find_container(obj: dict[str, Any], container: str, what: str) -> ContainerRef:
    refs = containers(obj)
    for ref in refs:
        if ref.name == container:
            return ref
    names = ", ".join(r.name for r in refs) or "none"
    raise KdashError("Unknown container", f"{what} has no container {container!r} (it has: {names})")
