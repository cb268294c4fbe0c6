"""ConfigMap consumers (every reference type, init containers, optional) and Reloader's hash."""

from __future__ import annotations

import hashlib
from typing import Any

from kdash.core.configmaps import Consumer, consumers, data_hash, reloader_env_name


def deployment(name: str, pod_spec: dict[str, Any], namespace: str = "prod") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"spec": pod_spec}}}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "nginx", **fields}


def env_ref(var: str, cm: str, optional: bool | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": cm, "key": "k"}
    if optional is not None:
        ref["optional"] = optional
    return {"name": var, "valueFrom": {"configMapKeyRef": ref}}


def test_each_reference_type_is_found() -> None:
    deployments = [
        deployment("env", {"containers": [
            container(env=[{"name": "PLAIN", "value": "x"}, env_ref("LEVEL", "cfg")])]}),
        deployment("envfrom", {"containers": [container(envFrom=[{"configMapRef": {"name": "cfg"}}])]}),
        deployment("volume", {"containers": [container()],
                              "volumes": [{"name": "conf", "configMap": {"name": "cfg"}}]}),
        deployment("projected", {"containers": [container()], "volumes": [{"name": "all", "projected": {
            "sources": [{"secret": {"name": "s"}}, {"configMap": {"name": "cfg"}}]}}]}),
        deployment("init", {"initContainers": [container(env=[env_ref("SETUP", "cfg")])],
                            "containers": [container()]}),
    ]
    assert consumers("cfg", "prod", deployments) == [
        Consumer("env", ("env LEVEL",), False),
        Consumer("envfrom", ("envFrom",), False),
        Consumer("volume", ("volume conf",), False),
        Consumer("projected", ("projected volume all",), False),
        Consumer("init", ("env SETUP",), False),
    ]


def test_other_configmaps_namespaces_and_secrets_do_not_count() -> None:
    deployments = [
        deployment("other-cm", {"containers": [container(env=[env_ref("X", "other")])]}),
        deployment("other-ns", {"containers": [container(envFrom=[{"configMapRef": {"name": "cfg"}}])]}, "dev"),
        deployment("secret", {"containers": [container(envFrom=[{"secretRef": {"name": "cfg"}}])],
                              "volumes": [{"name": "s", "secret": {"secretName": "cfg"}}]}),
        deployment("empty", {}),
        {"metadata": {"name": "no-spec", "namespace": "prod"}},
    ]
    assert consumers("cfg", "prod", deployments) == []


def test_all_uses_are_listed_once_in_order_and_optional_needs_all_optional() -> None:
    spec = {
        "initContainers": [container(envFrom=[{"configMapRef": {"name": "cfg", "optional": True}}])],
        "containers": [container(env=[env_ref("A", "cfg", optional=True)]),
                       container(name="side", env=[env_ref("A", "cfg", optional=True)])],
        "volumes": [{"name": "v", "configMap": {"name": "cfg", "optional": True}}],
    }
    assert consumers("cfg", "prod", [deployment("web", spec)]) == [
        Consumer("web", ("envFrom", "env A", "volume v"), True)]
    spec["volumes"][0]["configMap"]["optional"] = False
    assert consumers("cfg", "prod", [deployment("web", spec)])[0].optional is False


def test_data_hash_matches_reloader() -> None:
    # Test vectors: sha1("a=1;b=2") and the empty hash (research §5).
    assert data_hash({"data": {"b": "2", "a": "1"}}) == "f83e99e324ba68ccc373a58ef1eb42f8ab88646a"
    assert data_hash({}) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert data_hash({"data": None, "binaryData": None}) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


def test_data_hash_includes_binary_data_as_base64_and_ignores_metadata() -> None:
    cm = {"metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"z": "last"}, "binaryData": {"bin": "AAE="}}
    assert data_hash(cm) == hashlib.sha1(b"bin=AAE=;z=last").hexdigest()
    relabelled = dict(cm, metadata={"name": "x", "labels": {"a": "c"}})
    assert data_hash(relabelled) == data_hash(cm)
    assert data_hash(dict(cm, data={"z": "changed"})) != data_hash(cm)


def test_reloader_env_name() -> None:
    assert reloader_env_name("my-config.v2") == "STAKATER_MY_CONFIG_V2_CONFIGMAP"
    assert reloader_env_name("-lead") == "STAKATER_LEAD_CONFIGMAP"
    assert reloader_env_name("a--b") == "STAKATER_A_B_CONFIGMAP"
