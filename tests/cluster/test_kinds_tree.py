"""`kdash tree` for Jobs, CronJobs, HPAs and Ingresses on the 1.20 control plane (CronJob batch/v1beta1,
HPA autoscaling/v2beta2: the older shapes; the unit fixtures hold the newer ones), against kubectl."""

from __future__ import annotations

import json
import subprocess
import sys

from devcluster.testing import deployment_manifest, wait_for
from kdash.core.kinds import CRONJOB, HPA, INGRESS
from kdash.kube.discovery import served_kind

CRONJOB_YAML = """
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox:1.36}]
"""
HPA_YAML = """
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
"""
INGRESS_YAML = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: shop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "10"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
spec:
  rules:
  - host: shop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-canary, port: {number: 80}}}}
"""


def kdash_json(cluster, namespace: str, kinds: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", cluster.kubeconfig, "tree", kinds,
                           "-n", namespace, "-o", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_discovery_picks_the_versions_this_server_serves(connection):
    assert served_kind(connection.api_client, CRONJOB).api_version == "batch/v1beta1"
    assert served_kind(connection.api_client, HPA).api_version == "autoscaling/v2beta2"
    assert served_kind(connection.api_client, INGRESS).api_version == "networking.k8s.io/v1"


def test_jobs_tree_equals_kubectl_get_jobs_and_cronjobs(cluster, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=CRONJOB_YAML)
    kubectl("create", "job", "once", "--image=busybox:1.36", "-n", namespace)
    kubectl("create", "job", "manual", "--from=cronjob/nightly", "-n", namespace)
    wait_for(lambda: kubectl("get", "jobs", "-n", namespace, "--no-headers").count(" 1/1 ") == 2,
             timeout=60, message="both jobs complete")
    data = kdash_json(cluster, namespace, "cj,jobs")
    assert set(data) >= {"jobs"} and "workloads" not in data
    trees = {node["name"]: node for node in data["jobs"]}
    # kubectl get cronjobs: NAME SCHEDULE SUSPEND ACTIVE LAST SCHEDULE AGE
    row = kubectl("get", "cronjobs", "-n", namespace, "--no-headers").split()
    cron = trees["nightly"]
    assert (cron["kind"], cron["schedule"], cron["suspend"], cron["active"]) == (
        "CronJob", " ".join(row[1:6]), row[6], row[7])
    assert [j["name"] for j in cron.get("children", [])] == ["manual"], (data, kubectl(
        "get", "job", "manual", "-n", namespace, "-o", "jsonpath={.metadata.ownerReferences}"))  # owned by the CronJob (trigger-now shape)
    # kubectl get jobs: NAME COMPLETIONS DURATION AGE
    rows = {r.split()[0]: r.split() for r in kubectl("get", "jobs", "-n", namespace, "--no-headers").splitlines()}
    jobs = {"once": trees["once"], "manual": cron["children"][0]}
    assert set(rows) == set(jobs)
    for job_name, node in jobs.items():
        assert (node["completions"], node["duration"]) == (rows[job_name][1], rows[job_name][2]), job_name
        assert node["status"] == "Complete"
        assert [p["status"] for p in node["children"]] == ["Completed"]


def test_hpa_line_says_metrics_unavailable_with_min_and_max(cluster, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=deployment_manifest("web", "nginx:1.25", replicas=1))
    kubectl("apply", "-n", namespace, "-f", "-", input=HPA_YAML)
    hpa = kubectl("get", "hpa", "web", "-n", namespace, "--no-headers").split()
    data = kdash_json(cluster, namespace, "deploy")
    web = next(n for n in data["workloads"] if n["name"] == "web")
    assert (web["hpa"], web["hpa_min"], web["hpa_max"]) == ("web", hpa[3], hpa[4])
    assert web["hpa_targets"] == "cpu: <unknown>/60%" and hpa[2] == "<unknown>/60%"  # kubectl 1.20's TARGETS
    assert web["hpa_metrics"].startswith("unavailable")


def test_ingress_canary_split_from_real_objects(cluster, kubectl, namespace):
    for name in ("web", "web-canary"):
        kubectl("apply", "-n", namespace, "-f", "-", input=deployment_manifest(name, "nginx:1.25", replicas=1))
        kubectl("expose", "deployment", name, "--port=80", "-n", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", input=INGRESS_YAML)
    wait_for(lambda: kubectl("get", "endpoints", "web-canary", "-n", namespace, "--no-headers").split()[1] != "<none>",
             timeout=60, message="canary endpoints")
    data = kdash_json(cluster, namespace, "ing")
    by_name = {n["name"]: n for n in data["ingresses"]}
    assert set(by_name) == set(kubectl("get", "ingress", "-n", namespace, "-o", "name").replace(
        "ingress.networking.k8s.io/", "").split())
    rule = by_name["web"]["children"][0]
    assert rule["split"] == "web:80 90% · canary web-canary:80 10%, header X-Canary"
    stable, canary = rule["children"]
    assert (stable["name"], stable["role"], canary["name"], canary["role"]) == (
        "web", "stable 90%", "web-canary", "canary 10%, header X-Canary")
    assert [p["endpoint"] for p in canary["children"]] == ["ready"]
    assert by_name["web-canary"]["canary_of"] == "web"
    assert by_name["web"]["hosts"] == kubectl("get", "ingress", "web", "-n", namespace, "--no-headers").split()[2]
