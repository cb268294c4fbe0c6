"""ConfigMap consumers, the data hash as stakater/Reloader computes it, restart stamps and opt-ins."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kdash.core import objects
from kdash.core.objects import Obj


@dataclass(frozen=True)
class Consumer:
    """A Deployment that uses the ConfigMap; `optional` when every reference is optional."""

    deployment: str
    how: tuple[str, ...]
    """"env X", "envFrom", "volume v", "projected volume v" — in template order, no repeats."""
    optional: bool


def consumers(configmap_name: str, namespace: str,
              deployments: Iterable[Obj]) -> list[Consumer]:
    """Deployments in `namespace` whose pod template references the ConfigMap.

    Looks at containers and initContainers (`env[].valueFrom.configMapKeyRef`,
    `envFrom[].configMapRef`) and at volumes (`configMap`, `projected.sources[].configMap`).
    """
    found = []
    for deployment in deployments:
        if objects.namespace(deployment) != namespace:
            continue
        refs = list(_references(_pod_spec(deployment), configmap_name))
        if refs:
            how = tuple(dict.fromkeys(how for how, _ in refs))
            found.append(Consumer(objects.name(deployment), how, all(opt for _, opt in refs)))
    return found


def _pod_spec(deployment: Obj) -> Obj:
    return ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}


def _references(pod_spec: Obj, cm: str) -> Iterator[tuple[str, bool]]:
    """(how, optional) for each reference to ConfigMap `cm` in a pod spec."""
    for container in [*(pod_spec.get("initContainers") or ()), *(pod_spec.get("containers") or ())]:
        for env in container.get("env") or ():
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
            if ref.get("name") == cm:
                yield f"env {env.get('name', '')}", bool(ref.get("optional"))
        for env_from in container.get("envFrom") or ():
            ref = env_from.get("configMapRef") or {}
            if ref.get("name") == cm:
                yield "envFrom", bool(ref.get("optional"))
    for volume in pod_spec.get("volumes") or ():
        ref = volume.get("configMap") or {}
        if ref.get("name") == cm:
            yield f"volume {volume.get('name', '')}", bool(ref.get("optional"))
        for source in (volume.get("projected") or {}).get("sources") or ():
            ref = source.get("configMap") or {}
            if ref.get("name") == cm:
                yield f"projected volume {volume.get('name', '')}", bool(ref.get("optional"))


def data_hash(configmap: Obj) -> str:
    """The ConfigMap's data hash, byte for byte the one stakater/Reloader stamps.

    Reloader `internal/pkg/util/util.go` GetSHAfromConfigmap: "k=v" for every `data` entry and
    "k=" + base64(v) for every `binaryData` entry, sorted, joined with ";", SHA-1 as lowercase
    hex (`internal/pkg/crypto/sha.go` GenerateSHA). The API already sends binaryData as
    standard base64, so it is used as is. Labels and annotations don't count.
    """
    values = [f"{k}={v}" for k, v in (configmap.get("data") or {}).items()]
    values += [f"{k}={v}" for k, v in (configmap.get("binaryData") or {}).items()]
    # Go's sort.Strings compares UTF-8 bytes, which orders like Python's code-point comparison.
    return hashlib.sha1(";".join(sorted(values)).encode("utf-8")).hexdigest()


def reloader_env_name(configmap_name: str) -> str:
    """Reloader's env var for a ConfigMap: STAKATER_<NAME>_CONFIGMAP (ConvertToEnvVarName).

    Upper-cased; each run of characters outside [A-Z0-9] becomes one "_", none at the start.
    """
    out, last_valid = [], False
    for char in configmap_name.upper():
        if "A" <= char <= "Z" or "0" <= char <= "9":
            out.append(char)
            last_valid = True
        else:
            if last_valid:
                out.append("_")
            last_valid = False
    return f"STAKATER_{''.join(out)}_CONFIGMAP"


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


def template_annotations(deployment: Obj) -> dict[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}


@dataclass(frozen=True)
class RestartItem:
    consumer: Consumer
    deployment: Obj
    needed: bool
    """False when the template already carries this data's hash: already rolled for this content."""


def restart_plan(configmap: Obj, deployments: Iterable[Obj]) -> list[RestartItem]:
    """Each consumer of the ConfigMap, and whether it still needs a restart for the current data."""
    name, namespace = objects.name(configmap), objects.namespace(configmap)
    digest, key = data_hash(configmap), stamp_key(name)
    by_name = {objects.name(d): d for d in deployments if objects.namespace(d) == namespace}
    return [RestartItem(c, by_name[c.deployment], template_annotations(by_name[c.deployment]).get(key) != digest)
            for c in consumers(name, namespace, by_name.values())]


def wants_auto_restart(deployment: Obj, configmap_name: str) -> bool:
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

    def observe(self, configmaps: Iterable[Obj]) -> list[Obj]:
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
