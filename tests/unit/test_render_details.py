"""Describe sections and Events for Deployments, ReplicaSets, Pods, Services, ConfigMaps, Secrets."""

from __future__ import annotations

import base64

from render_fixtures import NOW, by_name, items

from kdash.render.details import Section, describe, events_for, events_section

RELATED = {"ReplicaSet": items("replicasets"), "Pod": items("pods"), "Endpoints": items("endpoints")}


def section(sections: list[Section], title: str) -> dict[str, str]:
    found = [s for s in sections if s.title == title]
    assert found, f"no section {title!r} in {[s.title for s in sections]}"
    return dict(found[0].rows)


def test_deployment() -> None:
    sections = describe(by_name("deployments", "web"), RELATED, NOW, kind="Deployment")
    assert [s.title for s in sections] == ["Deployment", "Rollout", "Pod template", "Conditions"]
    main = section(sections, "Deployment")
    assert main["Replicas"] == "3 desired | 3 updated | 4 total | 2 available | 2 unavailable"
    assert main["Strategy"] == "RollingUpdate maxSurge=25% maxUnavailable=25%"
    assert main["Selector"] == "app=web"
    assert main["Created"] == "2021-02-20 09:00:00 UTC (9 days ago)"
    # The last-applied blob is hidden, other annotations are shown.
    assert "last-applied" not in main["Annotations"]
    assert "deployment.kubernetes.io/revision=2" in main["Annotations"]
    rollout = section(sections, "Rollout")
    assert rollout["Status"] == 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'
    assert rollout["New ReplicaSet"] == "web-7d9c6b5f4 (1/3 ready)"
    assert rollout["Old ReplicaSets"] == "web-5b8f7c9d6 (1 replicas)"
    assert rollout["Progress"] == "67%"
    assert section(sections, "Pod template")["Container web"] == "nginx:1.21  ports 80/TCP"
    conditions = section(sections, "Conditions")
    assert conditions["Progressing"].startswith('True ReplicaSetUpdated: ReplicaSet "web-7d9c6b5f4" is progressing.')


def test_kind_comes_from_the_object_when_present() -> None:
    deployment = dict(by_name("deployments", "api"), kind="Deployment")
    rollout = section(describe(deployment, RELATED, NOW), "Rollout")
    assert rollout["State"] == "failed"


def test_replicaset() -> None:
    sections = describe(by_name("replicasets", "api-58c4d7f9b6"), RELATED, NOW, kind="ReplicaSet")
    main = section(sections, "ReplicaSet")
    assert main["Revision"] == "2"
    assert main["Controlled by"] == "Deployment/api"
    assert main["Replicas"] == "2 current / 2 desired"
    assert main["Pods status"] == "2 Running / 0 Pending / 0 Succeeded / 0 Failed"
    assert main["Change cause"] == "deploy 1.9"


def test_pod() -> None:
    sections = describe(by_name("pods", "worker-c8d9e7f6a-m4n5p"), RELATED, NOW, kind="Pod")
    main = section(sections, "Pod")
    assert main["Status"] == "CrashLoopBackOff"
    assert main["Restarts"] == "7 (2m ago)"
    assert main["Node"] == "node-1 (172.18.0.2)"
    assert main["IP"] == "10.244.0.31"
    assert main["Controlled by"] == "ReplicaSet/worker-c8d9e7f6a"
    container = section(sections, "Container worker")
    assert container["State"].startswith("Waiting: CrashLoopBackOff (back-off 5m0s")
    assert container["Last state"] == "Terminated: Error, exit code 1, finished 2 minutes ago"
    assert container["Restarts"] == "7"
    assert container["Ready"] == "no"
    assert section(sections, "Conditions")["Ready"].startswith("False ContainersNotReady")


def test_pod_with_init_container() -> None:
    sections = describe(by_name("pods", "db-migrate", "staging"), RELATED, NOW, kind="Pod")
    assert [s.title for s in sections][:3] == ["Pod", "Init container migrate", "Container app"]
    assert section(sections, "Init container migrate")["State"] == "Running (started 55 seconds ago)"
    assert section(sections, "Pod")["Status"] == "Init:0/1"


def test_service() -> None:
    sections = describe(by_name("services", "web"), RELATED, NOW, kind="Service")
    main = section(sections, "Service")
    assert main["Type"] == "NodePort"
    assert main["Cluster IPs"] == "10.96.12.34"
    assert main["DNS name"] == "web.default.svc.cluster.local"
    assert main["Selector"] == "app=web"
    assert section(sections, "Ports") == {"http": "80/TCP → target 80, node port 30080"}
    endpoints = section(sections, "Endpoints")
    assert endpoints["Ready"] == "10.244.0.11 (web-7d9c6b5f4-abcde), 10.244.0.5 (web-5b8f7c9d6-pqrst)"
    assert endpoints["Not ready"] == "10.244.0.12 (web-7d9c6b5f4-fghij)"


def test_service_without_endpoints_object() -> None:
    sections = describe(by_name("services", "web"), {}, NOW, kind="Service")
    assert section(sections, "Endpoints") == {"Endpoints": "no Endpoints object"}


def test_configmap_shows_keys_and_sizes_only() -> None:
    configmap = by_name("configmaps", "web-config")
    sections = describe(configmap, None, NOW, kind="ConfigMap")
    data = section(sections, "Data")
    assert data == {"favicon.ico": "200 Bytes (binary)", "index.html": "16 Bytes", "nginx.conf": "69 Bytes"}
    rendered = repr(sections)
    assert "listen 80" not in rendered and "<h1>" not in rendered


def test_secret_values_never_appear() -> None:
    secret = by_name("secrets", "web-secret")
    sections = describe(secret, None, NOW, kind="Secret")
    assert section(sections, "Data") == {"password": "19 Bytes", "username": "5 Bytes"}
    assert section(sections, "Secret")["Type"] == "Opaque"
    rendered = repr(sections)
    assert "hunter2" not in rendered
    assert secret["data"]["password"] not in rendered
    assert base64.b64decode(secret["data"]["username"]).decode() not in rendered.replace("Name", "")


def test_unknown_kind_gets_metadata() -> None:
    obj = {"metadata": {"name": "x", "namespace": "ns", "creationTimestamp": "2021-03-01T11:00:00Z", "labels": {"a": "b"}}}
    sections = describe(obj, None, NOW, kind="Ingress")
    assert sections == [Section("Ingress", (
        ("Name", "x"), ("Namespace", "ns"), ("Created", "2021-03-01 11:00:00 UTC (an hour ago)"),
        ("Labels", "a=b"), ("Annotations", "<none>")))]


# ---------------------------------------------------------------------------------------------
# Events


def test_events_match_by_uid_and_sort_newest_last() -> None:
    rows = events_for(by_name("deployments", "web"), items("events"), NOW, kind="Deployment")
    assert [r.message for r in rows] == [
        "Scaled up replica set web-5b8f7c9d6 to 3",
        "Scaled up replica set web-7d9c6b5f4 to 1",
        "Scaled down replica set web-5b8f7c9d6 to 1",
    ]  # the event of a deleted namesake (other uid) is left out
    assert [r.age for r in rows] == ["9d", "7m30s", "5m"]
    assert rows[0].reason == "ScalingReplicaSet" and rows[0].source == "deployment-controller"


def test_pod_events_with_counts_and_event_time_only() -> None:
    rows = events_for(by_name("pods", "worker-c8d9e7f6a-m4n5p"), items("events"), NOW, kind="Pod")
    assert [r.reason for r in rows] == ["Scheduled", "Pulled", "BackOff"]
    scheduled, pulled, backoff = rows
    assert scheduled.age == "60m" and scheduled.source == "default-scheduler"
    assert backoff.type == "Warning" and backoff.count == 31
    assert backoff.age == "110s (x31 over 59m)"
    assert pulled.age == "2m11s (x8 over 60m)"


def test_events_fall_back_to_kind_and_name_without_uid() -> None:
    deployment = by_name("deployments", "web")
    events = [dict(e, involvedObject={k: v for k, v in e["involvedObject"].items() if k != "uid"})
              for e in items("events")]
    assert len(events_for(deployment, events, NOW, kind="Deployment")) == 4  # namesake included now
    assert events_for(deployment, events, NOW, kind="ReplicaSet") == []
    assert events_for(by_name("deployments", "web", "staging"), events, NOW, kind="Deployment") == []


def test_events_section() -> None:
    rows = events_for(by_name("pods", "worker-c8d9e7f6a-m4n5p"), items("events"), NOW, kind="Pod")
    sec = events_section(rows)
    assert sec.rows[-1] == ("Warning BackOff", "110s (x31 over 59m)  Back-off restarting failed container")
    assert events_section([]).rows == (("Events", "<none>"),)
