"""Describe-like summaries of any object, and the Events that concern it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from kdash.core import objects
from kdash.core.labels import format_label_selector
from kdash.core.objects import LAST_APPLIED, Obj
from kdash.core.pods import is_sidecar, resize_status
from kdash.core.rollout import (
    CHANGE_CAUSE_ANNOTATION,
    owned_replicasets,
    revision_of,
    rollout_status,
)
from kdash.core.values import parse_time, short_image
from kdash.render.format import (
    NONE,
    UNKNOWN,
    age,
    ago,
    decoded_size,
    labels_text,
    port_text,
    size_text,
    timestamp_text,
    truncate,
)
from kdash.render.pods import pod_row
from kdash.render.services import service_dns_name

Related = Mapping[str, Sequence[Obj]]
"""Other objects by kind ("ReplicaSet", "Pod", "Endpoints", …) that a description may use."""

# Huge and redundant (it is the object itself); kubectl describe hides it too.
HIDDEN_ANNOTATIONS = frozenset({LAST_APPLIED})


@dataclass(frozen=True)
class Section:
    """A titled block of (field, value) rows."""

    title: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EventRow:
    """One core/v1 Event as `kubectl describe` lists it."""

    type: str
    reason: str
    age: str
    """"5m", or "5m (x3 over 20m)" for a repeated event, like kubectl describe."""
    count: int
    message: str
    source: str
    object: str
    last_seen: datetime | None


def describe(obj: Obj, related: Related | None, now: datetime, kind: str | None = None) -> list[Section]:
    """Sections describing `obj`. `kind` is needed for items of a List (they carry no kind).

    Secret values are never shown, only key names and sizes.
    """
    kind = kind or obj.get("kind") or ""
    related = related or {}
    describer = _DESCRIBERS.get(kind)
    if describer is None:
        return [Section(kind or "Object", _metadata_rows(obj, now))]
    return describer(obj, related, now)


def _describe_deployment(deployment: Obj, related: Related, now: datetime) -> list[Section]:
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    replicasets = owned_replicasets(deployment, related.get("ReplicaSet", ()))
    rollout = rollout_status(deployment, replicasets)
    replicas = (f"{rollout.desired} desired | {rollout.updated} updated | {rollout.current} total | "
                f"{rollout.available} available | {status.get('unavailableReplicas') or 0} unavailable")
    main = _metadata_rows(deployment, now) + (
        ("Selector", format_label_selector(spec.get("selector"))),
        ("Replicas", replicas),
        ("Strategy", rollout.strategy),
        ("Min ready seconds", str(spec.get("minReadySeconds") or 0)),
        ("Progress deadline", f"{spec.get('progressDeadlineSeconds', 600)}s"),
        ("Revision", str(rollout.revision)),
        ("Paused", "yes" if rollout.paused else "no"),
    )
    old = [rs for rs in replicasets if objects.meta(rs).get("name") != rollout.new_rs
           and ((rs.get("status") or {}).get("replicas") or 0) > 0]
    rollout_rows = (
        ("State", rollout.state),
        ("Status", rollout.message),
        ("Summary", rollout.summary),
        ("Progress", f"{round(rollout.progress * 100)}%"),
        ("New ReplicaSet", f"{rollout.new_rs} ({rollout.new_rs_ready}/{rollout.new_rs_desired} ready)"
         if rollout.new_rs else NONE),
        ("Old ReplicaSets", ", ".join(f"{objects.name(rs)} ({(rs.get('status') or {}).get('replicas') or 0} replicas)"
                                      for rs in sorted(old, key=objects.name)) or NONE),
        ("Change cause", objects.annotations(deployment).get(CHANGE_CAUSE_ANNOTATION, NONE)),
    )
    template = spec.get("template") or {}
    return [
        Section("Deployment", main),
        Section("Rollout", rollout_rows),
        Section("Pod template", _template_rows(template)),
        _conditions_section(deployment, now),
    ]


def _describe_replicaset(rs: Obj, related: Related, now: datetime) -> list[Section]:
    spec = rs.get("spec") or {}
    status = rs.get("status") or {}
    pods = [p for p in related.get("Pod", ()) if objects.is_controlled_by(p, objects.uid(rs))]
    phases = {phase: 0 for phase in ("Running", "Pending", "Succeeded", "Failed")}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        phases[phase] = phases.get(phase, 0) + 1
    rows = _metadata_rows(rs, now) + (
        ("Revision", str(revision_of(rs))),
        ("Selector", format_label_selector(spec.get("selector"))),
        ("Replicas", f"{status.get('replicas') or 0} current / {spec.get('replicas', 1)} desired"),
        ("Ready / available", f"{status.get('readyReplicas') or 0} / {status.get('availableReplicas') or 0}"),
        ("Pods status", " / ".join(f"{n} {phase}" for phase, n in phases.items())),
        ("Change cause", objects.annotations(rs).get(CHANGE_CAUSE_ANNOTATION, NONE)),
    )
    return [
        Section("ReplicaSet", rows),
        Section("Pod template", _template_rows(spec.get("template") or {})),
        _conditions_section(rs, now),
    ]


def _describe_pod(pod: Obj, related: Related, now: datetime) -> list[Section]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    row = pod_row(pod, now)
    ips = [ip.get("ip", "") for ip in status.get("podIPs") or ()] or [status.get("podIP") or NONE]
    rows = _metadata_rows(pod, now) + (
        ("Status", row.status),
        ("Phase", status.get("phase") or UNKNOWN),
        ("Ready", f"{row.ready_text} containers, pod {'ready' if row.ready else 'not ready'}"),
        ("Restarts", row.restarts_text),
        ("Node", f"{row.node} ({status.get('hostIP')})" if status.get("hostIP") else row.node),
        ("IP", ", ".join(ips)),
        ("Start time", timestamp_text(status.get("startTime"), now)),
        ("QoS class", status.get("qosClass") or NONE),
        ("Service account", spec.get("serviceAccountName") or "default"),
    )
    resize = resize_status(pod)
    if resize:
        rows += (("Resize", resize),)
    sections = [Section("Pod", rows)]
    statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or ()}
    for container in spec.get("initContainers") or ():
        sections.append(_container_section("Init container", container, statuses.get(container.get("name")), now))
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or ()}
    for container in spec.get("containers") or ():
        sections.append(_container_section("Container", container, statuses.get(container.get("name")), now))
    sections.append(_conditions_section(pod, now))
    return sections


def _container_section(title: str, container: Obj, status: Obj | None, now: datetime) -> Section:
    status = status or {}
    rows: list[tuple[str, str]] = [("Image", container.get("image", ""))]
    ports = ", ".join(port_text(p) for p in container.get("ports") or ())
    if ports:
        rows.append(("Ports", ports))
    rows.append(("State", container_state_text(status.get("state"), now) if status else "not started"))
    last = status.get("lastState") or {}
    if last:
        rows.append(("Last state", container_state_text(last, now)))
    rows.append(("Ready", "yes" if status.get("ready") else "no"))
    rows.append(("Restarts", str(status.get("restartCount") or 0)))
    if is_sidecar(container):
        # kubectl describe's words: a native sidecar keeps running beside the app containers.
        rows.append(("Restart policy", "Always (sidecar)"))
    return Section(f"{title} {container.get('name', '')}", tuple(rows))


def container_state_text(state: Obj | None, now: datetime) -> str:
    """"Running (started 5 minutes ago)", "Waiting: CrashLoopBackOff (back-off …)", …"""
    state = state or {}
    if "running" in state:
        started = (state.get("running") or {}).get("startedAt")
        return f"Running (started {ago(started, now)})" if started else "Running"
    if "waiting" in state:
        waiting = state.get("waiting") or {}
        text = f"Waiting: {waiting.get('reason') or 'unknown reason'}"
        return f"{text} ({waiting['message']})" if waiting.get("message") else text
    if "terminated" in state:
        done = state.get("terminated") or {}
        text = f"Terminated: {done.get('reason') or 'no reason'}, exit code {done.get('exitCode', '?')}"
        return f"{text}, finished {ago(done['finishedAt'], now)}" if done.get("finishedAt") else text
    return UNKNOWN


def _describe_service(service: Obj, related: Related, now: datetime) -> list[Section]:
    spec = service.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    rows = _metadata_rows(service, now) + (
        ("Type", spec.get("type") or "ClusterIP"),
        ("Cluster IPs", ", ".join(ips) or NONE),
        ("External IPs", ", ".join(spec.get("externalIPs") or ()) or NONE),
        ("Selector", labels_text(spec.get("selector"))),
        ("Session affinity", spec.get("sessionAffinity") or "None"),
        ("DNS name", service_dns_name(service)),
    )
    if spec.get("type") == "ExternalName":
        rows += (("External name", spec.get("externalName") or NONE),)
    port_rows = tuple((p.get("name") or "<unnamed>", _service_port_text(p)) for p in spec.get("ports") or ())
    endpoints = next((e for e in related.get("Endpoints", ())
                      if objects.key(e) == objects.key(service)), None)
    return [
        Section("Service", rows),
        Section("Ports", port_rows or (("Ports", NONE),)),
        Section("Endpoints", _endpoint_rows(endpoints)),
    ]


def _service_port_text(port: Obj) -> str:
    text = f"{port.get('port')}/{port.get('protocol') or 'TCP'} → target {port.get('targetPort', port.get('port'))}"
    if port.get("nodePort"):
        text += f", node port {port['nodePort']}"
    return text


def _endpoint_rows(endpoints: Obj | None) -> tuple[tuple[str, str], ...]:
    if endpoints is None:
        return (("Endpoints", "no Endpoints object"),)
    ready: list[str] = []
    not_ready: list[str] = []
    for subset in endpoints.get("subsets") or ():
        for bucket, field_name in ((ready, "addresses"), (not_ready, "notReadyAddresses")):
            for address in subset.get(field_name) or ():
                target = (address.get("targetRef") or {}).get("name")
                bucket.append(f"{address.get('ip')} ({target})" if target else str(address.get("ip")))
    return (
        ("Ready", ", ".join(sorted(ready)) or NONE),
        ("Not ready", ", ".join(sorted(not_ready)) or NONE),
    )


def _describe_configmap(configmap: Obj, related: Related, now: datetime) -> list[Section]:
    data = configmap.get("data") or {}
    binary = configmap.get("binaryData") or {}
    rows = [(key, size_text(len(value.encode("utf-8")))) for key, value in sorted(data.items())]
    rows += [(key, f"{size_text(decoded_size(value))} (binary)") for key, value in sorted(binary.items())]
    return [
        Section("ConfigMap", _metadata_rows(configmap, now)),
        Section("Data", tuple(rows) or (("Data", NONE),)),
    ]


def _describe_secret(secret: Obj, related: Related, now: datetime) -> list[Section]:
    # Never render values: only key names and decoded sizes, like kubectl describe secret.
    sizes = {key: decoded_size(value) for key, value in (secret.get("data") or {}).items()}
    sizes.update({key: len(value.encode("utf-8")) for key, value in (secret.get("stringData") or {}).items()})
    rows = tuple((key, size_text(size)) for key, size in sorted(sizes.items()))
    main = _metadata_rows(secret, now) + (("Type", secret.get("type") or "Opaque"),)
    return [Section("Secret", main), Section("Data", rows or (("Data", NONE),))]


_DESCRIBERS: dict[str, Callable[[Obj, Related, datetime], list[Section]]] = {
    "Deployment": _describe_deployment,
    "ReplicaSet": _describe_replicaset,
    "Pod": _describe_pod,
    "Service": _describe_service,
    "ConfigMap": _describe_configmap,
    "Secret": _describe_secret,
}


# ---------------------------------------------------------------------------------------------
# Shared rows


def _metadata_rows(obj: Obj, now: datetime) -> tuple[tuple[str, str], ...]:
    meta = objects.meta(obj)
    rows: list[tuple[str, str]] = [("Name", meta.get("name", ""))]
    if meta.get("namespace"):
        rows.append(("Namespace", meta["namespace"]))
    rows.append(("Created", timestamp_text(meta.get("creationTimestamp"), now)))
    rows.append(("Labels", labels_text(meta.get("labels"))))
    annotations = {k: truncate(v, 60) for k, v in objects.annotations(obj).items() if k not in HIDDEN_ANNOTATIONS}
    rows.append(("Annotations", labels_text(annotations)))
    owner = objects.controller_ref(obj)
    if owner:
        rows.append(("Controlled by", f"{owner.get('kind')}/{owner.get('name')}"))
    if meta.get("deletionTimestamp"):
        rows.append(("Deleting", f"since {timestamp_text(meta['deletionTimestamp'], now)}"))
    return tuple(rows)


def _template_rows(template: Obj) -> tuple[tuple[str, str], ...]:
    spec = template.get("spec") or {}
    rows: list[tuple[str, str]] = [("Labels", labels_text(objects.meta(template).get("labels")))]
    for title, key in (("Init container", "initContainers"), ("Container", "containers")):
        for container in spec.get(key) or ():
            text = short_image(container.get("image", ""))
            ports = ", ".join(port_text(p) for p in container.get("ports") or ())
            rows.append((f"{title} {container.get('name', '')}", f"{text}  ports {ports}" if ports else text))
    return tuple(rows)


def _conditions_section(obj: Obj, now: datetime) -> Section:
    rows = []
    for condition in (obj.get("status") or {}).get("conditions") or ():
        text = condition.get("status", "")
        if condition.get("reason"):
            text += f" {condition['reason']}"
        if condition.get("message"):
            text += f": {condition['message']}"
        when = condition.get("lastTransitionTime") or condition.get("lastUpdateTime")
        if when:
            text += f" ({ago(when, now)})"
        rows.append((condition.get("type", ""), text))
    return Section("Conditions", tuple(rows) or (("Conditions", NONE),))


# ---------------------------------------------------------------------------------------------
# Events


def events_for(obj: Obj, events: Iterable[Obj], now: datetime, kind: str | None = None) -> list[EventRow]:
    """core/v1 Events about `obj`, oldest first (newest last, like kubectl describe).

    An event matches on involvedObject.uid when both sides have one (so events of a deleted
    namesake do not leak in), otherwise on kind + namespace + name.
    """
    kind = kind or obj.get("kind") or ""
    uid, name, namespace = objects.uid(obj), objects.name(obj), objects.namespace(obj)
    matched = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if uid and involved.get("uid"):
            if involved["uid"] != uid:
                continue
        elif (involved.get("name") != name
              or (involved.get("namespace") or objects.namespace(event)) != namespace
              or (kind and involved.get("kind") and involved["kind"] != kind)):
            continue
        matched.append(_event_row(event, now))
    return sorted(matched, key=lambda e: (e.last_seen is not None, e.last_seen or now))


def _event_row(event: Obj, now: datetime) -> EventRow:
    last_seen = event_time(event)
    first_seen = parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime")) or last_seen
    series = event.get("series") or {}
    count = event.get("count") or series.get("count") or 1
    text = age(last_seen, now)
    if count > 1 and first_seen is not None:
        text = f"{text} (x{count} over {age(first_seen, now)})"
    source = event.get("source") or {}
    involved = event.get("involvedObject") or {}
    return EventRow(
        type=event.get("type") or "Normal",
        reason=event.get("reason") or "",
        age=text,
        count=count,
        message=(event.get("message") or "").strip(),
        source=source.get("component") or event.get("reportingComponent") or "",
        object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
        last_seen=last_seen,
    )


def event_time(event: Obj) -> datetime | None:
    """When an event last happened: lastTimestamp → series.lastObservedTime → eventTime → created.

    Events written through events.k8s.io (e.g. the scheduler's) leave lastTimestamp null.
    """
    for value in (event.get("lastTimestamp"), (event.get("series") or {}).get("lastObservedTime"),
                  event.get("eventTime"), event.get("firstTimestamp"),
                  objects.meta(event).get("creationTimestamp")):
        moment = parse_time(value)
        if moment is not None:
            return moment
    return None


def events_section(rows: Sequence[EventRow]) -> Section:
    """Events as a describe section: "Warning BackOff" → "2m (x5 over 10m)  Back-off restarting…"."""
    if not rows:
        return Section("Events", (("Events", NONE),))
    return Section("Events", tuple((f"{e.type} {e.reason}", f"{e.age}  {e.message}") for e in rows))


