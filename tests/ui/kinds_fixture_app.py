"""The fixture app with the Jobs, Ingress and HPA fixtures too (their own frozen clock), for views 6 and 7."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from tests.ui.fixture_app import FixtureApp, fixture_app

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def web_hpa() -> dict:
    """The fixture's autoscaling/v2 HPA without metrics, retargeted at cluster.json's default/web."""
    hpa = copy.deepcopy(_load("hpa.json")["cases"][0]["hpa"])
    hpa["metadata"]["namespace"] = "default"
    return hpa


class KindsFixtureApp(FixtureApp):
    def connect_and_watch(self, context: str | None) -> None:
        super().connect_and_watch(context)
        jobs, ingresses = _load("jobs.json"), _load("ingresses.json")
        lists = {
            "CronJob": jobs["cronjobs"], "Job": [c["job"] for c in jobs["jobs"]],
            "Ingress": ingresses["items"], "HorizontalPodAutoscaler": [web_hpa()],
        }
        for kind, items in lists.items():
            self.store.replace(kind, None, [slim(o, KINDS_BY_NAME[kind]) for o in items])
        extra = {"Pod": jobs["pods"] + ingresses["pods"], "Service": ingresses["services"],
                 "Endpoints": ingresses["endpoints"]}
        for kind, items in extra.items():
            self.store.apply(kind, [("ADDED", slim(o, KINDS_BY_NAME[kind])) for o in items])
        self.dashboard.refresh_all()


def kinds_app(**overrides) -> KindsFixtureApp:
    now = datetime.fromisoformat(_load("jobs.json")["now"].replace("Z", "+00:00"))
    options = {"clock": lambda: now}
    options.update(overrides)
    return fixture_app(KindsFixtureApp, **options)
