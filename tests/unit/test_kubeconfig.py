"""A context's server, TLS settings and credentials, read like kubectl and the Python client read them."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
import urllib3
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdash.core.frozen import freeze
from kdash.errors import ApiException, ConfigError, KdashError
from kdash.kube import kubeconfig
from kdash.kube.api import ApiClient, Configuration, RESTClientObject, encode_query
from kdash.kube.client import connect
from kdash.kube.kubeconfig import load_context, load_in_cluster, load_merged_kubeconfig

PEM_CA = b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write_config(path: Path, cluster: dict, user: dict | None = None, *, context: dict | None = None) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
              "clusters": [{"name": "c", "cluster": cluster}],
              "contexts": [{"name": "x", "context": context or {"cluster": "c", "user": "u"}}],
              "users": [{"name": "u", "user": user or {}}]}
    path.write_text(yaml.safe_dump(config))
    return str(path)


def configured(path: str) -> Configuration:
    merged = load_merged_kubeconfig(path)
    assert merged is not None
    configuration = Configuration()
    load_context(merged, "x", configuration)
    return configuration


def test_certificate_data_goes_to_private_files_shared_by_equal_content(tmp_path):
    cluster = {"server": "https://k:6443/", "certificate-authority-data": base64.b64encode(PEM_CA).decode()}
    user = {"client-certificate-data": base64.b64encode(b"cert").decode(),
            "client-key-data": base64.b64encode(b"key").decode()}
    first = configured(write_config(tmp_path / "a", cluster, user))
    second = configured(write_config(tmp_path / "b", cluster, user))
    assert first.host == "https://k:6443"  # the trailing slash would double in every URL
    assert Path(first.ssl_ca_cert).read_bytes() == PEM_CA
    assert Path(first.cert_file).read_bytes() == b"cert" and Path(first.key_file).read_bytes() == b"key"
    assert stat.S_IMODE(os.stat(first.key_file).st_mode) == 0o600
    assert (first.ssl_ca_cert, first.cert_file, first.key_file) == \
        (second.ssl_ca_cert, second.cert_file, second.key_file)


def test_cluster_options_and_files_relative_to_their_own_file(tmp_path):
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "token").write_text("from-file\n")
    (tmp_path / "c.pem").write_bytes(PEM_CA)
    cluster = {"server": "https://k:1", "certificate-authority": "c.pem", "insecure-skip-tls-verify": True,
               "tls-server-name": "api.internal", "proxy-url": "http://proxy:3128"}
    clusters_file = tmp_path / "clusters.yaml"
    clusters_file.write_text(yaml.safe_dump({"clusters": [{"name": "c", "cluster": cluster}],
                                             "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                                             "current-context": "x"}))
    users_file = tmp_path / "u" / "users.yaml"
    users_file.write_text(yaml.safe_dump({"users": [{"name": "u", "user": {"tokenFile": "token"}}]}))
    os.environ["KUBECONFIG"] = f"{clusters_file}:{users_file}"
    try:
        merged = load_merged_kubeconfig()
    finally:
        del os.environ["KUBECONFIG"]
    assert merged is not None
    conf = Configuration()
    load_context(merged, "x", conf)
    assert conf.ssl_ca_cert == str(tmp_path / "c.pem")
    assert conf.verify_ssl is False and conf.tls_server_name == "api.internal" and conf.proxy == "http://proxy:3128"
    assert conf.get_api_key_with_prefix("BearerToken") == "Bearer from-file"  # trimmed, like client-go


def test_token_wins_over_exec_and_basic_auth_is_encoded(tmp_path):
    both = {"token": "t", "exec": {"apiVersion": "v1", "command": "/nonexistent"}}
    assert configured(write_config(tmp_path / "a", {"server": "http://k:1"}, both)).api_key["BearerToken"] == "Bearer t"
    basic = configured(write_config(tmp_path / "b", {"server": "http://k:1"}, {"username": "ann", "password": "pw"}))
    assert basic.api_key["BearerToken"] == "Basic " + base64.b64encode(b"ann:pw").decode()


@pytest.mark.parametrize(("cluster", "context", "fragment"), [
    ({}, None, "has no server"),
    ({"server": "http://k:1"}, {"cluster": "elsewhere", "user": "u"}, "cluster 'elsewhere'"),
    ({"server": "http://k:1"}, {"cluster": "c", "user": "nobody"}, "user 'nobody'"),
    ({"server": "http://k:1"}, {"user": "u"}, "names no cluster"),
    ({"server": "https://k:1", "certificate-authority": "missing.pem"}, None, "File does not exist"),
])
def test_a_context_that_cannot_work_is_a_clear_kubeconfig_error(tmp_path, cluster, context, fragment):
    path = write_config(tmp_path / "config", cluster, {"token": "t"}, context=context)
    with pytest.raises(KdashError) as raised:
        connect(path, None, probe=False)
    assert raised.value.title == "Invalid kubeconfig"
    assert fragment in raised.value.message and "context 'x'" in raised.value.message


def plugin_user(tmp_path: Path, script: str, api_version: str = "client.authentication.k8s.io/v1beta1") -> dict:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(script)
    return {"exec": {"apiVersion": api_version, "command": sys.executable, "args": [str(plugin)],
                     "env": [{"name": "GREETING", "value": "hi"}], "provideClusterInfo": True}}


def test_exec_plugin_gets_its_env_and_cluster_info_and_is_rerun_when_its_token_expires(tmp_path):
    calls = tmp_path / "calls"
    script = f"""
import json, os, pathlib, datetime
calls = pathlib.Path({str(calls)!r})
n = len(calls.read_text().splitlines()) + 1 if calls.exists() else 1
calls.write_text("x\\n" * n)
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)).isoformat()
print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                  "status": {{"token": f"t{{n}}-{{os.environ['GREETING']}}-{{info['spec']['cluster']['server']}}",
                             "expirationTimestamp": soon}}}}))
"""
    conf = configured(write_config(tmp_path / "config", {"server": "http://k:1"}, plugin_user(tmp_path, script)))
    # Expiring within the 5-minute margin: every use runs the plugin again, like the Python client.
    assert conf.get_api_key_with_prefix("BearerToken") == "Bearer t2-hi-http://k:1"
    assert conf.get_api_key_with_prefix("BearerToken") == "Bearer t3-hi-http://k:1"


def test_exec_plugin_with_a_far_expiry_runs_once_and_may_give_a_client_certificate(tmp_path):
    script = """
import json
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"clientCertificateData": "CERT", "clientKeyData": "KEY",
                             "expirationTimestamp": "2999-01-01T00:00:00Z"}}))
"""
    user = plugin_user(tmp_path, script, "client.authentication.k8s.io/v1")
    conf = configured(write_config(tmp_path / "config", {"server": "https://k:1"}, user))
    assert Path(conf.cert_file).read_text() == "CERT" and Path(conf.key_file).read_text() == "KEY"
    assert conf.auth_settings() == {}


@pytest.mark.parametrize(("script", "fragment"), [
    ("import sys; print('no such profile', file=sys.stderr); sys.exit(3)", "exec: process returned 3. no such profile"),
    ("print('not json')", "failed to decode"),
    ("import json; print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
     "'status': {'token': 't'}}))", "does not match"),
    ("import json; print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
     "'kind': 'ExecCredential', 'status': {}}))", "missing token"),
])
def test_a_failing_exec_plugin_is_a_clear_error_not_a_missing_credential(tmp_path, script, fragment):
    path = write_config(tmp_path / "config", {"server": "http://k:1"}, plugin_user(tmp_path, script))
    with pytest.raises(KdashError) as raised:
        connect(path, None, probe=False)
    assert raised.value.title == "Invalid kubeconfig" and fragment in raised.value.message


def test_auth_provider_goes_through_the_kubernetes_package(tmp_path):
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    id_token = ".".join([part({"alg": "none"}), part({"exp": int(time.time()) + 3600, "iss": "x"}), "sig"])
    user = {"auth-provider": {"name": "oidc", "config": {"id-token": id_token, "idp-issuer-url": "https://idp",
                                                          "client-id": "kdash"}}}
    conf = configured(write_config(tmp_path / "config", {"server": "http://k:1"}, user))
    assert conf.get_api_key_with_prefix("BearerToken") == f"Bearer {id_token}"


def test_in_cluster_reads_the_environment_and_rereads_a_rotated_token(tmp_path, monkeypatch):
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("one")
    ca.write_bytes(PEM_CA)
    conf = Configuration()
    environ = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    load_in_cluster(conf, environ, str(token), str(ca))
    assert conf.host == "https://[fd00::1]:443" and conf.ssl_ca_cert == str(ca)
    token.write_text("two")
    assert conf.get_api_key_with_prefix("BearerToken") == "Bearer one"  # read at most once a minute
    monkeypatch.setattr(kubeconfig, "IN_CLUSTER_TOKEN_REFRESH", kubeconfig.dt.timedelta(0))
    assert conf.get_api_key_with_prefix("BearerToken") == "Bearer two"
    with pytest.raises(ConfigError):
        load_in_cluster(Configuration(), {}, str(token), str(ca))


# -- the REST layer ------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        return urllib3.HTTPResponse(body=b"{}", status=200, preload_content=False)


def test_requests_carry_the_credential_a_kdash_user_agent_and_json_bodies():
    conf = Configuration(host="https://k:1")
    conf.api_key["BearerToken"] = "Bearer t"
    client = ApiClient(conf)
    recorder = Recorder()
    client.rest_client.pool_manager = recorder
    method, url, headers, body, post = client.param_serialize(
        "PATCH", "/apis/apps/v1/namespaces/a/deployments/web",
        query_params=[("dryRun", "All"), ("force", True), ("fieldManager", "kdash ui")],
        header_params={"Content-Type": "application/merge-patch+json"}, body=freeze({"spec": {"replicas": 3}}))
    client.call_api(method, url, header_params=headers, body=body, _request_timeout=(5, 60))
    call = recorder.calls[0]
    assert call["url"] == "https://k:1/apis/apps/v1/namespaces/a/deployments/web?dryRun=All&force=true" \
                          "&fieldManager=kdash%20ui"
    assert call["headers"]["authorization"] == "Bearer t" and call["headers"]["User-Agent"].startswith("kdash/")
    assert json.loads(call["body"]) == {"spec": {"replicas": 3}}  # a frozen store object is sent as JSON
    assert (call["timeout"].connect_timeout, call["timeout"].read_timeout) == (5, 60)
    assert encode_query({"labelSelector": "app in (a,b)"}) == "labelSelector=app%20in%20%28a%2Cb%29"


def test_a_tls_failure_is_an_api_exception_with_status_0():
    rest = RESTClientObject(Configuration(host="https://k:1"))

    class Failing:
        def request(self, *args, **kwargs):
            raise urllib3.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    rest.pool_manager = Failing()  # type: ignore[assignment]
    with pytest.raises(ApiException) as raised:
        rest.request("GET", "https://k:1/version")
    assert raised.value.status == 0 and "CERTIFICATE_VERIFY_FAILED" in raised.value.reason


FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                      max_leaves=10)
sections = st.fixed_dictionaries({}, optional={
    "server": st.one_of(values, st.sampled_from(["http://k:1", "https://k:1"])),
    "certificate-authority-data": values, "insecure-skip-tls-verify": values, "token": values,
    "tokenFile": values, "username": values, "password": values, "client-key": values,
    "exec": st.one_of(values, st.fixed_dictionaries({"command": st.just("/nonexistent/plugin"),
                                                     "apiVersion": values})),
})


@FUZZ
@given(cluster=st.one_of(values, sections), user=st.one_of(values, sections),
       context=st.one_of(values, st.fixed_dictionaries({"cluster": st.sampled_from(["c", "d"]),
                                                        "user": st.sampled_from(["u", "v"])})))
def test_any_context_content_is_a_configuration_or_a_clear_error(tmp_path_factory, cluster, user, context):
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump({"current-context": "x", "clusters": [{"name": "c", "cluster": cluster}],
                                    "contexts": [{"name": "x", "context": context}],
                                    "users": [{"name": "u", "user": user}]}))
    try:
        connection = connect(str(path), None, probe=False)
    except KdashError as exc:
        assert exc.title and exc.message and "Traceback" not in exc.message
    else:
        assert connection.server.startswith(("http://", "https://"))
        connection.close()


def test_a_reload_never_leaves_the_configuration_without_its_credential(tmp_path):
    # Other threads send requests while a 401's reload runs the plugin: the old credential stays
    # until the new one is in, and stays if the reload fails.
    path = Path(write_config(tmp_path / "config", {"server": "http://k:1"}, {"token": "old"}))
    conf = configured(str(path))
    seen: list[str | None] = []
    script = tmp_path / "plugin.py"
    script.write_text("import json, time; time.sleep(0.3); print(json.dumps({'apiVersion': "
                      "'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', 'status': {'token': 'new'}}))")
    write_config(tmp_path / "config", {"server": "http://k:1"},
                 {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                           "args": [str(script)]}})
    import threading

    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(conf.api_key.get("BearerToken"))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        merged = load_merged_kubeconfig(str(path))
        assert merged is not None
        load_context(merged, "x", conf)
    finally:
        done.set()
        watcher.join()
    assert set(seen) <= {"Bearer old", "Bearer new"} and conf.api_key["BearerToken"] == "Bearer new"
    script.write_text("import sys; sys.exit(1)")
    merged = load_merged_kubeconfig(str(path))
    assert merged is not None
    with pytest.raises(ConfigError):
        load_context(merged, "x", conf)
    assert conf.api_key["BearerToken"] == "Bearer new"
