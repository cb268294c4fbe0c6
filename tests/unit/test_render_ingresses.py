"""The Ingress tree: rules → Services (stable/canary split) → Pods, from networking.k8s.io/v1 fixtures."""

from __future__ import annotations

from render_fixtures import load

from kdash.core.values import parse_time
from kdash.render.ingresses import build_ingress_tree
from kdash.render.tree import flatten, label_at

DATA = load("ingresses.json")
NOW = parse_time(DATA["now"])


def tree():
    return build_ingress_tree(DATA["items"], DATA["services"], DATA["pods"], DATA["endpoints"], NOW)


def test_stable_ingress_shows_the_canary_split() -> None:
    web = next(n for n in tree() if n.name == "web")
    assert label_at(web, NOW) == "ingress web  nginx  shop.example.com  10.0.0.7  80, 443  tls shop.example.com  60m"
    root, api = web.children
    assert root.label == "shop.example.com/  web:80 80% · canary web-canary:80 20%, header X-Canary"
    stable, canary = root.children
    assert stable.label.startswith("svc web  stable 80%  ClusterIP") and stable.health == "ok"
    assert canary.label.startswith("svc web-canary  canary 20%, header X-Canary  ClusterIP")
    assert canary.label.endswith("0/1 ready") and canary.health == "error"
    assert [p.columns["endpoint"] for p in canary.children] == ["not ready"]
    assert api.label == "shop.example.com/api  → api:http"
    assert api.children[0].label == "svc api:http  100%  service not found" and web.health == "error"


def test_canary_ingresses_name_their_stable_one() -> None:
    by_name = {n.name: n for n in tree()}
    assert by_name["web-canary"].label.endswith("canary of web  50m") and by_name["web-canary"].health == "ok"
    orphan = by_name["orphan-canary"]
    assert "canary of no Ingress: routes nothing" in orphan.label and orphan.health == "warning"
    assert by_name["default"].children[0].label == "default backend  → web:80"


def test_keys_are_unique() -> None:
    keys = [n.key for _, n in flatten(tree())]
    assert len(keys) == len(set(keys))
