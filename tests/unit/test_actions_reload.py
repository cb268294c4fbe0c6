"""ConfigMap-triggered restarts stamp the ConfigMap's data as it is at write time, once."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kdash.actions import reload
from kdash.actions.safety import AuditLog, WriteContext
from kdash.core.configmaps import data_hash, stamp_key
from kdash.errors import KdashError
from kdash.kube.api import ApiClient, Configuration
from tests.unit.test_actions_safety import FakeRest

CM_PATH = "/api/v1/namespaces/default/configmaps/web-config"
STAMP = stamp_key("web-config")


def configmap(level: str) -> dict[str, Any]:
    return {"metadata": {"name": "web-config", "namespace": "default", "uid": "cm-uid", "resourceVersion": level},
            "data": {"LOG_LEVEL": level}}


def consumer(name: str, **annotations: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid", "resourceVersion": "1",
                         "generation": 1, "annotations": annotations},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": "nginx",
                                                           "envFrom": [{"configMapRef": {"name": "web-config"}}]}]}}}}


class FakeCluster:
    """A ConfigMap and its consumers behind a FakeRest: GETs answer the current objects, a
    strategic-merge PATCH of a template annotation lands (bumping the generation, as a rollout)."""

    def __init__(self, *deployments: dict[str, Any]) -> None:
        self.rest = FakeRest()
        self.configmap = configmap("info")
        self.deployments = {d["metadata"]["name"]: copy.deepcopy(d) for d in deployments}
        self.rest.routes[("GET", CM_PATH)] = lambda _r: (200, self.configmap)
        for name in self.deployments:
            path = f"/apis/apps/v1/namespaces/default/deployments/{name}"
            self.rest.routes[("GET", path)] = lambda _r, name=name: (200, self.deployments[name])
            self.rest.routes[("PATCH", path)] = lambda r, name=name: self._patch(name, r)

    def _patch(self, name: str, request: dict[str, Any]) -> tuple[int, Any]:
        body = request["body"] if isinstance(request["body"], dict) else json.loads(request["body"])
        deployment = self.deployments[name]
        if body["metadata"]["resourceVersion"] != deployment["metadata"]["resourceVersion"]:
            return 409, {"kind": "Status", "code": 409, "reason": "Conflict", "message": "changed"}
        template_meta = deployment["spec"]["template"]["metadata"]
        template_meta.setdefault("annotations", {}).update(body["spec"]["template"]["metadata"]["annotations"])
        meta = deployment["metadata"]
        meta["generation"] += 1
        meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
        return 200, deployment

    def context(self, audit: AuditLog) -> WriteContext:
        api_client = ApiClient(Configuration(host="https://k8s.test"))
        api_client.rest_client = self.rest
        return WriteContext(api_client, "dev", audit=audit)

    def stamps(self) -> list[str]:
        """The hash each PATCH stamped, in order."""
        return [r["body"]["spec"]["template"]["metadata"]["annotations"][STAMP]
                for r in self.rest.writes()]


def test_stacked_answers_in_either_order_roll_once_with_the_current_data(tmp_path: Path) -> None:
    older, newer = configmap("debug"), configmap("warn")
    for order in ((older, newer), (newer, older)):
        cluster = FakeCluster(consumer("web"))
        cluster.configmap = newer  # the ConfigMap as it is when the answers come
        ctx = cluster.context(AuditLog(tmp_path / f"audit-{order[0]['data']['LOG_LEVEL']}.log"))
        # Each answer stands for an offer made when the ConfigMap held `offered`: what was
        # offered no longer matters, only the data at write time does.
        results = [reload.restart_consumers(ctx, "default", "web-config", ["web"]) for _offered in order]
        assert cluster.stamps() == [data_hash(newer)]
        assert cluster.deployments["web"]["metadata"]["generation"] == 2
        assert results[0].startswith("restarting web for ConfigMap web-config")
        assert results[1] == "web already on ConfigMap web-config's current data, not restarted"
        assert [line["detail"] for line in ctx.audit.lines()] == [
            f"{STAMP}={data_hash(newer)}", f"already at {STAMP}={data_hash(newer)}"]


def test_restart_skips_consumers_already_on_the_data_and_reports_failures(tmp_path: Path) -> None:
    current = consumer("current")
    current["spec"]["template"]["metadata"]["annotations"] = {STAMP: data_hash(configmap("info"))}
    paused = consumer("paused")
    paused["spec"]["paused"] = True
    cluster = FakeCluster(consumer("web"), current, paused)
    ctx = cluster.context(AuditLog(tmp_path / "audit.log"))
    assert reload.restart_consumers(ctx, "default", "web-config", ["web", "current"]) == (
        f"restarting web for ConfigMap web-config (data {data_hash(configmap('info'))[:12]}); "
        "current already on its current data, not restarted")
    with pytest.raises(KdashError, match="paused: Deployment default/paused is paused"):
        reload.restart_consumers(ctx, "default", "web-config", ["paused"])
    assert cluster.stamps() == [data_hash(configmap("info"))]
