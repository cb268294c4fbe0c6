"""Ingress rules and the ingress-nginx canary split (networking.k8s.io/v1 fixtures)."""

from __future__ import annotations

from render_fixtures import load

from kdash.core import ingresses

ITEMS = {i["metadata"]["name"]: i for i in load("ingresses.json")["items"]}


def test_rules_and_kubectl_columns() -> None:
    web = ITEMS["web"]
    assert [(r.host, r.path, r.backend.text) for r in ingresses.rules(web)] == [
        ("shop.example.com", "/", "web:80"), ("shop.example.com", "/api", "api:http")]
    assert (ingresses.ingress_class(web), ingresses.hosts_text(web), ingresses.address_text(web),
            ingresses.ports_text(web)) == ("nginx", "shop.example.com", "10.0.0.7", "80, 443")
    assert ingresses.tls_hosts(web) == ["shop.example.com"]
    default = ITEMS["default"]
    assert [(r.where, r.backend.text) for r in ingresses.rules(default)] == [("default backend", "web:80")]
    assert (ingresses.ingress_class(default), ingresses.hosts_text(default)) == ("nginx", "*")


def test_canary_pairs_with_stable_of_same_host_and_path() -> None:
    routes = ingresses.routes(ITEMS["web"], ITEMS.values())
    root, api = routes
    assert [c.ingress for c in root.canaries] == ["web-canary"]
    canary = root.canaries[0]
    assert (canary.backend.text, canary.weight, canary.header) == ("web-canary:80", 20, "X-Canary")
    assert root.stable_weight == 80 and canary.routing == "20%, header X-Canary"
    assert api.canaries == () and api.stable_weight == 100


def test_weight_total_and_orphans() -> None:
    orphan = ITEMS["orphan-canary"]
    assert ingresses.is_canary(orphan) and not ingresses.is_canary(ITEMS["web"])
    assert ingresses.canary_of(orphan, ingresses.rules(orphan)[0].backend).weight == 25
    assert ingresses.stable_for(orphan, ITEMS.values()) == []
    assert ingresses.stable_for(ITEMS["web-canary"], ITEMS.values()) == ["web"]


def test_header_value_and_bad_weight() -> None:
    notes = {ingresses.CANARY: "true", ingresses.CANARY_BY_HEADER: "X-Env",
             ingresses.CANARY_BY_HEADER_VALUE: "v2", ingresses.CANARY_WEIGHT: "lots"}
    canary = ingresses.canary_of({"metadata": {"name": "c", "annotations": notes}}, ingresses.Backend("s", "80"))
    assert (canary.header, canary.weight, canary.routing) == ("X-Env=v2", 0, "0%, header X-Env=v2")
