"""`kdash tree -o json|yaml|wide` built from the same render nodes the screen shows."""

from __future__ import annotations

import dataclasses
import json

import yaml
from render_fixtures import NOW, items

from kdash.render.output import node_data, render, wide_table
from kdash.render.services import build_service_tree
from kdash.render.tree import flatten
from kdash.render.workloads import build_workload_tree
from tests.unit.test_layers import imported_modules


def _trees():
    workloads = build_workload_tree(items("deployments"), items("replicasets"), items("pods"), NOW)
    services = build_service_tree(items("services"), items("pods"), items("endpoints"), NOW)
    return workloads, services


def test_json_is_every_node_with_the_screens_fields():
    workloads, services = _trees()
    data = json.loads(render("json", "ctx", None, workloads, services))
    assert (data["apiVersion"], data["context"], data["namespace"]) == ("kdash/v1", "ctx", None)

    def walk(entries):
        for entry in entries:
            yield entry
            yield from walk(entry.get("children", ()))

    flat = list(walk(data["workloads"])) + list(walk(data["services"]))
    nodes = [n for _, n in flatten(workloads)] + [n for _, n in flatten(services)]
    assert len(flat) == len(nodes)
    for entry, node in zip(flat, nodes):
        assert (entry["kind"], entry["namespace"], entry["name"], entry["health"]) == \
            (node.kind, node.namespace, node.name, node.health)
        assert {k: entry[k] for k in node.columns} == dict(node.columns)
    deployment = next(e for e in flat if e["kind"] == "Deployment")
    assert list(deployment)[:4] == ["kind", "namespace", "name", "health"]  # stable order for diffs
    assert {"ready", "revision", "state", "up_to_date", "available"} <= set(deployment)
    assert yaml.safe_load(render("yaml", "ctx", None, workloads, services)) == data


def test_wide_has_node_and_ip_and_namespace_across_namespaces():
    workloads, services = _trees()
    lines = render("wide", "ctx", None, workloads, services).splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "STATUS", "READY", "REVISION", "AGE", "NODE", "IP"]
    pods = [n for _, n in flatten(workloads) if n.kind == "Pod" and n.columns["ip"] not in ("", "<none>")]
    assert pods
    for pod in pods:
        row = next(r for r in map(str.split, lines) if r[:2] == [pod.namespace, f"pod/{pod.name}"])
        assert row[-2:] == [pod.columns["node"], pod.columns["ip"]]
    one_ns = render("wide", "ctx", "default", workloads, services).splitlines()
    assert one_ns[0].split()[0] == "NAME"


def test_wide_shows_hostile_names_harmlessly():
    workloads, _ = _trees()
    node = dataclasses.replace(workloads[0], name="evil\x1b]52;c;aGk=\x07")
    text = wide_table([("WORKLOADS", [node])])
    assert "\x1b" not in text and "\x07" not in text
    assert json.loads(json.dumps(node_data(node)))["name"] == node.name  # JSON escapes, keeps the name


def test_output_module_needs_neither_textual_nor_rich():
    loaded = imported_modules("kdash.render.output")
    assert "kdash.render.output" in loaded and "textual" not in loaded and "rich" not in loaded


def test_json_with_a_forbidden_kind_still_parses_and_names_it(monkeypatch, capsys):
    from argparse import Namespace

    from kdash import headless
    from kdash.errors import KdashError

    class Connection:
        api_client, context_name, namespace = None, "limited", "default"

        def close(self) -> None:
            pass

    plural = {"Deployment": "deployments", "ReplicaSet": "replicasets", "Pod": "pods", "Service": "services",
              "Endpoints": "endpoints"}

    def list_objects(api_client, kind, namespace, transform):
        if kind.name == "Service":
            raise KdashError("Forbidden", "services is forbidden")
        return [transform(o) for o in items(plural[kind.name])] if kind.name in plural else [], "1"

    monkeypatch.setattr(headless, "connect", lambda kubeconfig, context: Connection())
    monkeypatch.setattr(headless, "served_kind", lambda api_client, kind: kind)
    monkeypatch.setattr(headless, "list_objects", list_objects)
    args = Namespace(kubeconfig=None, context=None, namespace="default", all_namespaces=False, output="json")
    assert headless.print_tree(args) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["workloads"] and data["services"] == [] and data["jobs"] == [] and data["ingresses"] == []
    assert "cannot list services in ns default (Forbidden" in captured.err
