"""No deprecation warnings from kdash's own requests: every HTTP response kdash receives during a
session against the real control plane (views, describe, events, YAML, logs, `kdash tree`) is
checked for `Warning` headers (what the API server sends for a deprecated API version)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from urllib3.connectionpool import HTTPConnectionPool

from devcluster.testing import deployment_manifest
from kdash.headless import collect
from kdash.kube.client import connect, get_json
from kdash.screens.logs import LogsScreen
from kdash.screens.yaml_view import YamlScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


class Responses:
    """(method, path, Warning header values) of every response any urllib3 pool in this process gets."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[str]]] = []
        self.lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        original = HTTPConnectionPool.urlopen
        responses = self

        def urlopen(pool, method, url, *args, **kwargs):
            response = original(pool, method, url, *args, **kwargs)
            with responses.lock:
                responses.seen.append((method, url.split("?")[0], list(response.headers.getlist("Warning"))))
            return response

        monkeypatch.setattr(HTTPConnectionPool, "urlopen", urlopen)

    def paths(self) -> set[str]:
        with self.lock:
            return {path for _, path, _ in self.seen}

    def warnings(self) -> list[tuple[str, str, list[str]]]:
        with self.lock:
            return [entry for entry in self.seen if entry[2]]


async def test_a_session_draws_no_deprecation_warnings(cluster, kubectl, namespace, tmp_path, monkeypatch):
    responses = Responses()
    responses.install(monkeypatch)
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=deployment_manifest("web", "nginx:1.21"))
    await asyncio.to_thread(kubectl, "expose", "deployment/web", "-n", namespace, "--port", "80")
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.dashboard.tree

        def pods_ready() -> bool:
            pods = [k for k in tree.keys() if k.startswith("Pod/")]
            return len(pods) == 2 and all(tree.node(k).columns.get("ready") == "1/1" for k in pods)

        await until(pilot, pods_ready, message="two ready pods")
        assert tree.select_key(f"Deployment/{namespace}/web")
        await pilot.press("d")  # details: describe and the Deployment's events
        await pilot.pause(1.0)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, YamlScreen), message="the YAML view")
        await pilot.press("escape")
        await pilot.press("l")
        logs = await until(pilot, lambda: app.screen if isinstance(app.screen, LogsScreen) else None,
                           message="the logs screen")
        await until(pilot, lambda: len(logs.buffer) > 0, message="log lines")
        await pilot.press("escape")
        await pilot.press("2")  # services: on this 1.20 server, from v1 Endpoints

        def service_ready() -> bool:
            node = app.screen.tree.node(f"Service/{namespace}/web")
            return node is not None and node.label.endswith("2/2 ready")

        await until(pilot, service_ready, message="the Service's endpoints ready")
        await pilot.press("3")
        await pilot.pause(0.5)
        await pilot.press("1")
        await pilot.pause(0.5)

    connection = await asyncio.to_thread(connect, cluster.kubeconfig, None)
    try:
        objects, failed = await asyncio.to_thread(collect, connection.api_client, namespace)  # `kdash tree`
        assert not failed and len(objects["Endpoints"]) == 1

        # The session asked for what it shows (the 1.20 server has no discovery.k8s.io/v1: Endpoints).
        paths = responses.paths()
        for wanted in ("deployments", "replicasets", "pods", "services", "endpoints", "configmaps", "events", "log"):
            assert any(p.endswith(f"/{wanted}") for p in paths), (wanted, sorted(paths))
        assert "/apis/discovery.k8s.io/v1" in paths
        assert responses.warnings() == []

        # The check can fail: a request for an API version this server deprecates draws a warning.
        await asyncio.to_thread(get_json, connection.api_client, f"/apis/extensions/v1beta1/namespaces/{namespace}/ingresses")
        (warned,) = responses.warnings()
        assert "deprecated" in " ".join(warned[2]), warned
        assert json.dumps(warned)  # (method, path, warnings) is what a failure would print
    finally:
        connection.close()
