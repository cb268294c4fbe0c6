"""Apply manifests with server-side apply: parse strictly, dry-run everything, then apply all or nothing."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import yaml

from kdash.actions.diff import comparable, object_diff
from kdash.actions.http import APPLY_PATCH, status_of
from kdash.actions.safety import Attempt, WriteContext, target_of
from kdash.core import objects
from kdash.errors import ApiException, KdashError
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json
from kdash.kube.discovery import Resource, discover

ItemStatus = Literal["created", "changed", "unchanged", "error"]



# -- parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """One object to apply, and where it came from (for messages that point at the file)."""

    doc: dict[str, Any]
    index: int
    """1-based document number in the source."""
    line: int
    """1-based line where the object starts."""
    source: str = "<file>"
    item: int | None = None
    """1-based position in a `kind: List`, else None."""
    resource: Resource | None = None
    """Set by resolve()."""

    @property
    def api_version(self) -> str:
        return self.doc.get("apiVersion", "")

    @property
    def kind(self) -> str:
        return self.doc.get("kind", "")

    @property
    def name(self) -> str:
        return objects.name(self.doc)

    @property
    def namespace(self) -> str:
        return objects.namespace(self.doc)

    @property
    def where(self) -> str:
        """"file.yaml, document 2 (line 14)" or "…, document 2, item 3 (line 20)"."""
        item = f", item {self.item}" if self.item is not None else ""
        return f"{self.source}, document {self.index}{item} (line {self.line})"

    @property
    def target(self) -> str:
        """"Kind/ns/name" as in the audit log."""
        return target_of(self.kind, self.namespace, self.name)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and keeps timestamps as strings (like kubectl)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                continue  # unhashable or odd keys: SafeLoader's own error is clear enough
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


# Kubernetes decodes YAML into JSON, where an unquoted 2024-01-01 stays a string.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_manifests(text: str, source: str = "<file>") -> list[Manifest]:
    """Every object in a multi-document YAML text, `kind: List` items flattened, empty documents skipped.

    Raises KdashError naming the source, the document and the line for malformed YAML,
    duplicate keys, tabs, and objects without apiVersion, kind or metadata.name.
    """
    manifests: list[Manifest] = []
    done = 0
    loader: _StrictLoader | None = None
    try:
        # The reader checks every character up front: a control character fails right here.
        loader = _StrictLoader(text)
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said a document follows
            data = loader.construct_document(node)
            done += 1
            if data is not None:
                manifests.extend(_manifests_of(data, node, done, source))
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source, done + 1) from exc
    except yaml.YAMLError as exc:
        raise KdashError("Invalid YAML", f"{source}, document {done + 1}: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return manifests


def _yaml_error(exc: yaml.MarkedYAMLError, source: str, document: int) -> KdashError:
    mark = exc.problem_mark or exc.context_mark
    line = f", line {mark.line + 1}" if mark else ""
    problem = exc.problem or "malformed YAML"
    if "'\\t'" in problem:
        problem = "a tab character where YAML expects spaces (indent with spaces, not tabs)"
    elif exc.context and exc.context_mark and exc.context_mark is not mark:
        problem = f"{problem} ({exc.context} started at line {exc.context_mark.line + 1})"
    return KdashError("Invalid YAML", f"{source}, document {document}{line}: {problem}")


def _manifests_of(data: Any, node: yaml.Node, index: int, source: str) -> list[Manifest]:
    where = f"{source}, document {index} (line {node.start_mark.line + 1})"
    if not isinstance(data, dict):
        raise KdashError("Invalid manifest", f"{where}: expected a mapping with apiVersion, kind and "
                         f"metadata, found {type(data).__name__}")
    if _is_list(data):
        lines = _item_lines(node)
        return [_checked(Manifest(item, index, line, source, position), item)
                for position, (item, line) in enumerate(zip(data["items"], lines), start=1)]
    return [_checked(Manifest(data, index, node.start_mark.line + 1, source), data)]


def _is_list(data: dict[str, Any]) -> bool:
    # kubectl flattens `kind: List` and any typed list (DeploymentList) that has items.
    return str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list)


def _item_lines(node: yaml.Node) -> list[int]:
    for key_node, value_node in node.value:
        if key_node.value == "items" and isinstance(value_node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []


def _checked(manifest: Manifest, doc: Any) -> Manifest:
    """The manifest if it can be applied as is, else KdashError naming it."""
    where = manifest.where
    if not isinstance(doc, dict):
        raise KdashError("Invalid manifest", f"{where}: expected a mapping, found {type(doc).__name__}")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            raise KdashError("Invalid manifest", f"{where}: missing {key}")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise KdashError("Invalid manifest", f"{where}: missing metadata (with a name)")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        hint = "; apply needs a fixed name, not generateName" if metadata.get("generateName") else ""
        raise KdashError("Invalid manifest", f"{where}: missing metadata.name{hint}")
    for field_name in ("name", "namespace"):
        value = metadata.get(field_name)
        if value is not None and not _valid_path_segment(value):
            raise KdashError("Invalid manifest", f"{where}: metadata.{field_name} {value!r} cannot be "
                             "used in a URL (no '/', '%', '.' or '..')")
    try:
        json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise KdashError("Invalid manifest", f"{where}: not representable as JSON: {exc}") from exc
    return manifest


def _valid_path_segment(value: Any) -> bool:
    # The apiserver's ValidatePathSegmentName; also keeps a name from rewriting the request path.
    return isinstance(value, str) and value not in (".", "..") and "/" not in value and "%" not in value


def resolve_one(api_client: ApiClient, manifest: Manifest, default_namespace: str) -> Manifest:
    """The manifest with its Resource set and, for a namespaced kind, its namespace defaulted."""
    resource = manifest.resource or _resource_for(api_client, manifest)
    doc = manifest.doc
    if resource.namespaced and not manifest.namespace:
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = default_namespace
    elif not resource.namespaced and manifest.namespace:
        raise KdashError("Invalid manifest", f"{manifest.where}: {manifest.kind} is cluster-scoped; "
                         f"remove metadata.namespace ({manifest.namespace!r})")
    return replace(manifest, doc=doc, resource=resource)


def resolve(api_client: ApiClient, manifests: list[Manifest], default_namespace: str) -> list[Manifest]:
    """resolve_one for every manifest; the first problem raises KdashError."""
    return [resolve_one(api_client, m, default_namespace) for m in manifests]


def _resource_for(api_client: ApiClient, manifest: Manifest) -> Resource:
    kinds = discover(api_client, manifest.api_version)
    if kinds is None or manifest.kind not in kinds:
        kinds = discover(api_client, manifest.api_version, refresh=True)
    if kinds is not None and manifest.kind in kinds:
        return kinds[manifest.kind]
    reason = "" if kinds is not None else f" (the server has no apiVersion {manifest.api_version})"
    raise KdashError("Unknown kind", f"{manifest.where}: no kind {manifest.kind} in apiVersion "
                     f"{manifest.api_version} on this server{reason}")


# -- plan ----------------------------------------------------------------------------------------


@dataclass
class PlanItem:
    """What applying one manifest would do."""

    manifest: Manifest
    status: ItemStatus
    message: str = ""
    """For errors: what is wrong, in one line."""
    diff: str = ""
    """Unified diff, live vs. after apply, as YAML (the whole object for `created`)."""
    conflict: bool = False
    """Refused with 409 Conflict over fields other field managers own: force would take them over."""
    waits_for: str = ""
    """A Namespace this plan creates: the object's dry run can only run once it exists."""
    deleting: str = ""
    """Set when the live object is being deleted (deletionTimestamp): says so, and that apply won't stop it."""


@dataclass
class Plan:
    """The dry-run outcome of applying a list of manifests."""

    items: list[PlanItem]
    default_namespace: str
    force: bool = False
    manifests: list[Manifest] = field(default_factory=list)
    """The manifests as given to plan() (to plan them again, e.g. with force)."""

    @property
    def ok(self) -> bool:
        return all(item.status != "error" for item in self.items)

    @property
    def errors(self) -> list[PlanItem]:
        return [item for item in self.items if item.status == "error"]

    def count(self, status: ItemStatus) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def waiting(self) -> list[PlanItem]:
        """Objects checked only once the plan's new namespaces exist."""
        return [item for item in self.items if item.waits_for and item.status != "error"]

    def summary(self) -> str:
        """"1 to create, 2 to change, 0 unchanged, 1 error"."""
        if not self.items:
            return "nothing to apply: no objects"
        errors = self.count("error")
        text = (f"{self.count('created')} to create, {self.count('changed')} to change, "
                f"{self.count('unchanged')} unchanged")
        return text + (f", {errors} error{'s' if errors != 1 else ''}" if errors else "")


def plan(ctx: WriteContext, manifests: list[Manifest], default_namespace: str,
         force: bool = False) -> Plan:
    """Server-side-apply dry run of every manifest, compared with the live objects.

    Never changes anything. Each dry run is audited (dry_run=true); a read-only context is
    refused before any request, like every write.
    """
    ctx.refuse_if_readonly("apply", _batch_target(manifests))
    items: list[PlanItem] = []
    seen: dict[str, str] = {}
    for manifest in manifests:
        items.append(_plan_one(ctx, manifest, default_namespace, force, seen))
    return Plan(_after_new_namespaces(items), default_namespace, force, list(manifests))


def _batch_target(manifests: list[Manifest]) -> str:
    sources = sorted({m.source for m in manifests}) or ["<nothing>"]
    return f"{len(manifests)} objects from {', '.join(sources)}"


def _plan_one(ctx: WriteContext, manifest: Manifest, default_namespace: str, force: bool,
              seen: dict[str, str]) -> PlanItem:
    try:
        manifest = resolve_one(ctx.api_client, manifest, default_namespace)
    except KdashError as exc:
        return PlanItem(manifest, "error", exc.message)
    if manifest.target in seen:
        return PlanItem(manifest, "error", f"{manifest.where}: the same object as {seen[manifest.target]}")
    seen[manifest.target] = manifest.where
    try:
        with ctx.attempt("apply", manifest.target, dry_run=True) as attempt:
            live = _get_live(ctx.api_client, manifest)
            merged = _server_side_apply(attempt, manifest, force)
            status: ItemStatus = "created" if live is None else (
                "unchanged" if comparable(live) == comparable(merged) else "changed")
            attempt.detail = status
    except FieldConflict as exc:
        return PlanItem(manifest, "error", f"{manifest.where}: {exc.message}", conflict=True)
    except MissingNamespace as exc:
        return PlanItem(manifest, "error", f"{manifest.where}: {exc.message}", waits_for=manifest.namespace)
    except KdashError as exc:
        return PlanItem(manifest, "error", f"{manifest.where}: {exc.message}")
    return PlanItem(manifest, status, diff=object_diff(live, merged, manifest.target),
                    deleting=deletion_warning(live))


def _after_new_namespaces(items: list[PlanItem]) -> list[PlanItem]:
    """Objects refused only because their namespace does not exist yet, when the plan creates that
    namespace: "created", to be checked by the server once it exists (like `kubectl apply -f`)."""
    new = {item.manifest.name for item in items if item.status == "created" and _is_namespace(item.manifest)}
    return [replace(item, status="created", message="",
                    diff=object_diff(None, item.manifest.doc, item.manifest.target))
            if item.status == "error" and item.waits_for in new else item for item in items]


def _is_namespace(manifest: Manifest) -> bool:
    return manifest.kind == "Namespace" and manifest.api_version == "v1"


def deletion_warning(live: dict[str, Any] | None) -> str:
    """"being deleted …" when the live object has a deletionTimestamp, else ""."""
    meta = objects.meta(live or {})
    since = meta.get("deletionTimestamp")
    if not since:
        return ""
    finalizers = meta.get("finalizers") or []
    waiting = f", waiting for finalizers {', '.join(finalizers)}" if finalizers else ""
    return f"being deleted since {since}{waiting}: this write does not stop the deletion"


def _get_live(api_client: ApiClient, manifest: Manifest) -> dict[str, Any] | None:
    assert manifest.resource is not None
    try:
        return get_json(api_client, manifest.resource.path(manifest.namespace, manifest.name))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


class FieldConflict(KdashError):
    """Server-side apply refused: fields this apply sets are owned by other field managers."""


class MissingNamespace(KdashError):
    """The object's namespace does not exist (the apiserver's NamespaceLifecycle refusal)."""


def _server_side_apply(attempt: Attempt, manifest: Manifest, force: bool) -> dict[str, Any]:
    """PATCH application/apply-patch+yaml (a dry run when the attempt is one); the result object."""
    assert manifest.resource is not None
    query = [("force", "true")] if force else []
    try:
        return attempt.send("PATCH", manifest.resource.path(manifest.namespace, manifest.name),
                            manifest.doc, query=query, content_type=APPLY_PATCH)
    except ApiException as exc:
        status = status_of(exc)
        conflicts = _field_conflicts(exc, status)
        if conflicts:
            raise FieldConflict("Conflict", _conflict_message(conflicts)) from exc
        if exc.status == 409:
            raise KdashError("Conflict", str(status.get("message") or "conflict")) from exc
        if manifest.namespace and _missing_namespace(exc, status) == manifest.namespace:
            raise MissingNamespace("Not found", str(status.get("message"))) from exc
        raise


def _field_conflicts(exc: ApiException, status: dict[str, Any]) -> list[dict[str, Any]]:
    """The FieldManagerConflict causes of a 409 Conflict (what force takes over), else []."""
    if exc.status != 409:
        return []
    causes = (status.get("details") or {}).get("causes") or []
    return [c for c in causes if isinstance(c, dict) and c.get("reason") == "FieldManagerConflict"]


def _missing_namespace(exc: ApiException, status: dict[str, Any]) -> str:
    """The namespace named by a 404 NotFound for kind "namespaces", else ""."""
    details = status.get("details") or {}
    if exc.status != 404 or status.get("reason") != "NotFound" or details.get("kind") != "namespaces":
        return ""
    return str(details.get("name") or "")


def _conflict_message(causes: list[dict[str, Any]]) -> str:
    fields = [f"{c.get('field', '?')} ({_manager_of(c.get('message', ''))})" for c in causes]
    return (f"fields owned by other field managers: {', '.join(fields)}; "
            "apply with force to take them over")


def _manager_of(message: str) -> str:
    # 'conflict with "kubectl-create" using apps/v1' → kubectl-create
    parts = message.split('"')
    return parts[1] if len(parts) >= 3 else message


# -- apply ---------------------------------------------------------------------------------------


def apply(ctx: WriteContext, planned: Plan) -> str:
    """Apply every manifest of a plan for real (SSA, fieldManager kdash); returns a summary.

    Refuses unless every item of the plan — and of a fresh dry run made just now, so nothing
    that broke since the preview half-applies — is free of errors.
    """
    manifests = [item.manifest for item in planned.items]
    ctx.refuse_if_readonly("apply", _batch_target(manifests))
    if not manifests:
        raise KdashError("Nothing to apply", "the manifests contain no objects")
    if not planned.ok:
        raise _refused(planned, "nothing was applied")
    fresh = plan(ctx, manifests, planned.default_namespace, planned.force)
    if not fresh.ok:
        raise _refused(fresh, "the cluster changed since the preview; nothing was applied")
    # New namespaces first: only then can the server check (dry-run) the objects that go in them.
    needed = {item.waits_for for item in fresh.waiting}
    first = [item for item in fresh.items if _is_namespace(item.manifest) and item.manifest.name in needed]
    done = _apply_items(ctx, first, planned.force, [])
    rest = [item for item in fresh.items if all(item is not f for f in first)]
    if needed:
        checked = plan(ctx, [item.manifest for item in rest], planned.default_namespace, planned.force)
        if not checked.ok:
            made = ", ".join(item.manifest.target for item in done)
            raise _refused(checked, f"already created: {made} (nothing from the file in it); "
                           "nothing else was applied",
                           title="Apply stopped")
        rest = checked.items
    done = _apply_items(ctx, rest, planned.force, done)
    counts = {status: sum(1 for item in done if item.status == status)
              for status in ("created", "changed", "unchanged")}
    deleting = [item.manifest.target for item in done if item.deleting]
    note = f"; still being deleted (apply does not stop that): {', '.join(deleting)}" if deleting else ""
    return (f"applied {len(done)} objects: {counts['created']} created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged{note}")


def _apply_items(ctx: WriteContext, items: list[PlanItem], force: bool,
                 done: list[PlanItem]) -> list[PlanItem]:
    """Apply each item for real, in order; a failure names what was applied before it."""
    for item in items:
        manifest = item.manifest
        try:
            with ctx.attempt("apply", manifest.target) as attempt:
                _server_side_apply(attempt, manifest, force)
                attempt.detail = item.status
        except KdashError as exc:
            applied = ", ".join(i.manifest.target for i in done) or "none"
            raise KdashError("Apply failed", f"{manifest.where}: {exc.message} — applied before it: "
                             f"{applied}") from exc
        done.append(item)
    return done


def _refused(planned: Plan, consequence: str, title: str = "Apply refused") -> KdashError:
    first = planned.errors[0]
    more = len(planned.errors) - 1
    tail = f" (and {more} more)" if more else ""
    return KdashError(title, f"{first.message}{tail}; {consequence}")
