"""Ingress routes (host/path → Service) and ingress-nginx canaries as a traffic split between Services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kdash.core import objects
from kdash.core.objects import Obj, name, namespace

NGINX = "nginx.ingress.kubernetes.io/"
CANARY = NGINX + "canary"
CANARY_WEIGHT = NGINX + "canary-weight"
CANARY_WEIGHT_TOTAL = NGINX + "canary-weight-total"
CANARY_BY_HEADER = NGINX + "canary-by-header"
CANARY_BY_HEADER_VALUE = NGINX + "canary-by-header-value"
CANARY_BY_HEADER_PATTERN = NGINX + "canary-by-header-pattern"
CANARY_BY_COOKIE = NGINX + "canary-by-cookie"
DEFAULT_WEIGHT_TOTAL = 100  # ingress-nginx's default canary-weight-total


@dataclass(frozen=True)
class Backend:
    service: str
    port: str  # number or port name, "" when the backend is a resource, not a Service

    @property
    def text(self) -> str:
        return f"{self.service}:{self.port}" if self.port else self.service


@dataclass(frozen=True)
class Rule:
    """One host/path of an Ingress and the Service it sends to."""

    host: str  # "*" for a rule without host
    path: str  # "" for the default backend
    path_type: str
    backend: Backend

    @property
    def where(self) -> str:
        return f"{self.host}{self.path}" if self.path else "default backend"


def is_canary(ingress: Obj) -> bool:
    return objects.annotations(ingress).get(CANARY, "").lower() == "true"


def ingress_class(ingress: Obj) -> str:
    """spec.ingressClassName, else the older kubernetes.io/ingress.class annotation, else "<none>"."""
    return ((ingress.get("spec") or {}).get("ingressClassName")
            or objects.annotations(ingress).get("kubernetes.io/ingress.class") or "<none>")


def tls_hosts(ingress: Obj) -> list[str]:
    return [host for tls in (ingress.get("spec") or {}).get("tls") or () for host in tls.get("hosts") or ()]


def hosts_text(ingress: Obj) -> str:
    """kubectl's HOSTS column: the rules' hosts, "*" when none."""
    hosts = [r.get("host") for r in (ingress.get("spec") or {}).get("rules") or () if r.get("host")]
    return ",".join(dict.fromkeys(hosts)) or "*"


def address_text(ingress: Obj) -> str:
    lbs = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    return ",".join(lb.get("ip") or lb.get("hostname") or "" for lb in lbs)


def ports_text(ingress: Obj) -> str:
    """kubectl's PORTS: "80, 443" with TLS, else "80"."""
    return "80, 443" if (ingress.get("spec") or {}).get("tls") else "80"


def backend_of(raw: Mapping[str, Any] | None) -> Backend | None:
    """networking.k8s.io/v1 `service: {name, port: {number|name}}`, or the v1beta1 serviceName/servicePort."""
    if not raw:
        return None
    service = raw.get("service")
    if service:
        port = service.get("port") or {}
        return Backend(service.get("name") or "", str(port.get("number") or port.get("name") or ""))
    if raw.get("serviceName"):
        return Backend(raw["serviceName"], str(raw.get("servicePort") or ""))
    resource = raw.get("resource") or {}
    return Backend(f"{resource.get('kind', '')}/{resource.get('name', '')}", "") if resource else None


def rules(ingress: Obj) -> list[Rule]:
    """Every host/path and its backend, in spec order; the default backend last."""
    spec = ingress.get("spec") or {}
    out: list[Rule] = []
    for rule in spec.get("rules") or ():
        host = rule.get("host") or "*"
        for path in (rule.get("http") or {}).get("paths") or ():
            backend = backend_of(path.get("backend"))
            if backend is not None:
                out.append(Rule(host, path.get("path") or "/", path.get("pathType") or "", backend))
    default = backend_of(spec.get("defaultBackend") or spec.get("backend"))
    if default is not None:
        out.append(Rule("*", "", "", default))
    return out


@dataclass(frozen=True)
class Canary:
    """One canary Ingress's backend for a host/path, and how traffic reaches it."""

    ingress: str
    backend: Backend
    weight: int  # percent of the weighted traffic (0-100)
    header: str  # "X-Canary" (always/never), "X-Canary=v2", "X-Canary~^v2" or ""
    cookie: str

    @property
    def routing(self) -> str:
        """"20%", "20%, header X-Canary" …: what sends a request to the canary (ingress-nginx
        checks the header first, then the cookie, then the weight)."""
        parts = [f"{self.weight}%"]
        if self.header:
            parts.append(f"header {self.header}")
        if self.cookie:
            parts.append(f"cookie {self.cookie}")
        return ", ".join(parts)


def canary_of(ingress: Obj, backend: Backend) -> Canary:
    notes = objects.annotations(ingress)
    total = _int(notes.get(CANARY_WEIGHT_TOTAL), DEFAULT_WEIGHT_TOTAL) or DEFAULT_WEIGHT_TOTAL
    weight = max(0, min(total, _int(notes.get(CANARY_WEIGHT), 0)))
    header = notes.get(CANARY_BY_HEADER, "")
    if header and notes.get(CANARY_BY_HEADER_VALUE):
        header = f"{header}={notes[CANARY_BY_HEADER_VALUE]}"
    elif header and notes.get(CANARY_BY_HEADER_PATTERN):
        header = f"{header}~{notes[CANARY_BY_HEADER_PATTERN]}"
    return Canary(name(ingress), backend, round(weight * 100 / total), header, notes.get(CANARY_BY_COOKIE, ""))


@dataclass(frozen=True)
class Route:
    """A stable Ingress's host/path with the canaries that share it."""

    rule: Rule
    canaries: tuple[Canary, ...]

    @property
    def stable_weight(self) -> int:
        """Percent of the weighted traffic the stable Service keeps (ingress-nginx honours one canary)."""
        return 100 - (self.canaries[0].weight if self.canaries else 0)


def routes(ingress: Obj, all_ingresses: Iterable[Obj]) -> list[Route]:
    """The stable Ingress's rules, each with the canary Ingresses of the same namespace, host and path.

    ingress-nginx pairs a canary with the non-canary Ingress that serves the same host and path;
    a canary Ingress alone serves nothing.
    """
    canaries: dict[tuple[str, str], list[Canary]] = {}
    for other in sorted(all_ingresses, key=name):
        if is_canary(other) and namespace(other) == namespace(ingress):
            for rule in rules(other):
                canaries.setdefault((rule.host, rule.path), []).append(canary_of(other, rule.backend))
    return [Route(rule, tuple(canaries.get((rule.host, rule.path), ()))) for rule in rules(ingress)]


def stable_for(canary: Obj, all_ingresses: Iterable[Obj]) -> list[str]:
    """Names of the stable Ingresses a canary Ingress attaches to (none: it routes nothing)."""
    wanted = {(r.host, r.path) for r in rules(canary)}
    return sorted(name(other) for other in all_ingresses
                  if not is_canary(other) and namespace(other) == namespace(canary)
                  and wanted & {(r.host, r.path) for r in rules(other)})


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
