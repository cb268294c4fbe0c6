"""What the screen shows for objects as 1.29-1.34 servers send them (tests/unit/fixtures/newer_api):
native sidecars in the workload tree and the details pane, a Service whose endpoints came from
EndpointSlices, fields kdash does not know."""

from __future__ import annotations

import json
from argparse import Namespace
from datetime import datetime
from pathlib import Path

from kdash.app import make_app
from kdash.config import Settings
from kdash.core.endpoints import endpoints_from_slices
from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from kdash.widgets.status import DetailsPane
from tests.ui.fixture_app import FixtureApp
from tests.ui.hostile_fixture import screen_text

NEWER = Path(__file__).parent.parent / "unit" / "fixtures" / "newer_api"
PODS = json.loads((NEWER / "pods.json").read_text())
SLICES = json.loads((NEWER / "endpointslices.json").read_text())
NOW = datetime.fromisoformat(PODS["now"].replace("Z", "+00:00"))


class NewerApp(FixtureApp):
    """The store as kdash fills it from a 1.34 server: Endpoints folded from EndpointSlices."""

    def connect_and_watch(self, context: str | None) -> None:
        pods = [case["pod"] for case in PODS["cases"]]
        owner = pods[0]["metadata"]["ownerReferences"][0]
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": owner["name"], "namespace": "shop", "uid": owner["uid"],
                           "creationTimestamp": PODS["now"], "annotations": {"deployment.kubernetes.io/revision": "3"}},
              "spec": {"replicas": len(pods), "selector": {"matchLabels": {"app": "web"}}},
              "status": {"replicas": len(pods), "readyReplicas": 4, "terminatingReplicas": 0}}
        lists = {"Pod": pods + SLICES["pods"], "ReplicaSet": [rs], "Service": SLICES["services"],
                 "Endpoints": endpoints_from_slices(SLICES["endpointslices"])}
        for kind, items in lists.items():
            self.store.replace(kind, None, [slim(o, KINDS_BY_NAME[kind], compact=True) for o in items])
        self.context_name = "v1.34"
        self.namespace = "shop"
        self.server_version = "v1.34.1"
        self.dashboard.refresh_all()


def newer_app() -> NewerApp:
    args = Namespace(kubeconfig=None, context=None, namespace="shop", all_namespaces=False, readonly=False,
                     theme=None)
    app = make_app(args, app_class=NewerApp, clock=lambda: NOW, settings=Settings())
    assert isinstance(app, NewerApp)
    return app


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if name in line)


async def test_the_tree_shows_sidecar_pods_as_kubectl_get_pods_does():
    app = newer_app()
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        await pilot.press("plus")  # expand everything
        await pilot.pause()
        text = screen_text(app)
        for case in PODS["cases"]:
            e = case["expected"]
            line = line_of(text, case["pod"]["metadata"]["name"])
            assert f"  {e['status']}  {e['ready']}  " in line, (case["case"], line)


def pane_lines(app) -> list[str]:
    """Every line the details pane paints (its container scrolls; the pane itself is full height)."""
    pane = app.screen.query_one(DetailsPane)
    return [" ".join(pane.render_line(y).text.split()) for y in range(pane.size.height)]


async def test_the_details_pane_says_sidecar_and_resize():
    app = newer_app()
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        assert tree.select_key("Pod/shop/web-5c8d7f9b6-s1004")
        await pilot.pause(0.3)
        lines = pane_lines(app)
        assert "Status Init:CrashLoopBackOff" in lines
        assert "Ready 1/2 containers, pod not ready" in lines
        sidecar = lines.index("Init container istio-proxy")
        assert "Restart policy Always (sidecar)" in lines[sidecar:lines.index("Container app")]
        assert tree.select_key("Pod/shop/web-5c8d7f9b6-r1007")
        await pilot.pause(0.3)
        assert any(line.startswith("Resize Pending: Infeasible (Node didn't have enough capacity")
                   for line in pane_lines(app))


async def test_a_service_from_endpointslices_shows_each_pods_endpoint_state():
    app = newer_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("plus")
        await pilot.pause()
        text = screen_text(app)
        # 14 pods carry app=web (the 9 sidecar/resize pods too); 3 are ready endpoints in the slices.
        assert line_of(text, "svc web").rstrip().endswith("3/14 ready")
        assert line_of(text, "web-5c8d7f9b6-a0003").rstrip().endswith("not ready")
        assert line_of(text, "web-5c8d7f9b6-a0005").rstrip().endswith("not in endpoints")
        assert line_of(text, "web-5c8d7f9b6-a0001").rstrip().endswith("ready")
