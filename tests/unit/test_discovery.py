"""kube/discovery: the version preference picks the newest version the server serves a kind under."""

from __future__ import annotations

from unittest import mock

from kdash.errors import ApiException
from kdash.kube import discovery
from kdash.kube.discovery import Resource

SERVED = {
    "/apis/batch/v1": {"resources": [{"name": "jobs", "kind": "Job", "namespaced": True},
                                     {"name": "jobs/status", "kind": "Job", "namespaced": True}]},
    "/apis/batch/v1beta1": {"resources": [{"name": "cronjobs", "kind": "CronJob", "namespaced": True}]},
}


def fake_get(_client, path):
    if path not in SERVED:
        raise ApiException(status=404, reason="Not Found")
    return SERVED[path]


def test_preferred_falls_back_to_the_older_version_the_server_serves():
    with mock.patch.object(discovery, "get_json", side_effect=fake_get):
        client = mock.Mock()
        cron = discovery.preferred(client, "CronJob", ("batch/v1", "batch/v1beta1"))
        job = discovery.preferred(client, "Job", ("batch/v1",))
        missing = discovery.preferred(client, "HorizontalPodAutoscaler", ("autoscaling/v2", "autoscaling/v2beta2"))
    assert cron == Resource("batch/v1beta1", "CronJob", "cronjobs", True)
    assert job is not None and job.collection("ns") == "/apis/batch/v1/namespaces/ns/jobs"
    assert job.collection(None) == "/apis/batch/v1/jobs"
    assert missing is None


def test_resource_paths_for_core_and_cluster_scoped_kinds():
    assert Resource("v1", "Pod", "pods", True).collection("a") == "/api/v1/namespaces/a/pods"
    assert Resource("v1", "Node", "nodes", False).collection("a") == "/api/v1/nodes"
    assert Resource("v1", "Node", "nodes", False).path(None, "n1") == "/api/v1/nodes/n1"
