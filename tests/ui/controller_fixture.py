"""The fixture app plus the StatefulSet and DaemonSet fixtures (tests/unit/fixtures), on their clock."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from tests.ui.fixture_app import FixtureApp, fixture_app

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures"
LISTS = {
    "statefulsets.json": {"statefulsets": "StatefulSet", "pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim",
                          "controllerrevisions": "ControllerRevision"},
    "daemonsets.json": {"daemonsets": "DaemonSet", "pods": "Pod", "nodes": "Node",
                        "controllerrevisions": "ControllerRevision"},
}


class ControllerFixtureApp(FixtureApp):
    """cluster.json's objects, then the StatefulSets and DaemonSets with their pods, claims, nodes."""

    def connect_and_watch(self, context: str | None) -> None:
        super().connect_and_watch(context)
        extra: dict[str, list] = {}
        for name, lists in LISTS.items():
            data = json.loads((FIXTURES / name).read_text())
            for list_name, kind in lists.items():
                extra.setdefault(kind, []).extend(data[list_name]["items"])
        for kind, items in extra.items():
            current = self.store.list(kind) if kind == "Pod" else []
            self.store.replace(kind, None, list(current) + [slim(o, KINDS_BY_NAME[kind]) for o in items])
        self.dashboard.refresh_all()


def controller_app(**overrides) -> ControllerFixtureApp:
    now = datetime.fromisoformat(json.loads((FIXTURES / "statefulsets.json").read_text())["now"]
                                 .replace("Z", "+00:00"))
    overrides.setdefault("clock", lambda: now)
    return fixture_app(ControllerFixtureApp, **overrides)  # type: ignore[return-value]
