"""Which Deployments consume a ConfigMap, and its data hash as stakater/Reloader computes it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kdash.kube import objects


@dataclass(frozen=True)
class Consumer:
    """A Deployment that uses the ConfigMap; `optional` when every reference is optional."""

    deployment: str
    how: tuple[str, ...]
    """"env X", "envFrom", "volume v", "projected volume v" — in template order, no repeats."""
    optional: bool


def consumers(configmap_name: str, namespace: str,
              deployments: Iterable[dict[str, Any]]) -> list[Consumer]:
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


def _pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}


def _references(pod_spec: dict[str, Any], cm: str) -> Iterator[tuple[str, bool]]:
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


def data_hash(configmap: dict[str, Any]) -> str:
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
