"""A dashboard app fed from the render fixtures: no cluster, frozen clock, for snapshots and Pilot tests."""

from __future__ import annotations

import json
from argparse import Namespace
from datetime import datetime
from pathlib import Path

from kdash.app import KdashApp, make_app
from kdash.config import Settings
from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim

FIXTURE = Path(__file__).parent.parent / "unit" / "fixtures" / "cluster.json"
LISTS = {"deployments": "Deployment", "replicasets": "ReplicaSet", "pods": "Pod", "services": "Service",
         "endpoints": "Endpoints", "events": "Event", "configmaps": "ConfigMap"}


class FixtureApp(KdashApp):
    """Same app, but the store is filled once from cluster.json instead of being watched."""

    def fixture_data(self) -> dict:
        return json.loads(FIXTURE.read_text())

    def connect_and_watch(self, context: str | None) -> None:
        data = self.fixture_data()
        for list_name, kind in LISTS.items():
            self.store.replace(kind, None, [slim(o, KINDS_BY_NAME[kind]) for o in data[list_name]["items"]])
        self.context_name = "fixture"
        self.namespace = "default"
        self.server_version = "v1.20.2"
        self.dashboard.refresh_all()

    def watch_health(self) -> str:
        return "live"


def fixture_app(app_class: type[FixtureApp] = FixtureApp, **overrides) -> FixtureApp:
    data = json.loads(FIXTURE.read_text())
    now = datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    args = Namespace(kubeconfig=None, context=None, namespace="default", all_namespaces=False,
                     readonly=False, theme=None)
    options = dict(clock=lambda: now, settings=Settings())
    options.update(overrides)
    return make_app(args, app_class=app_class, **options)
