"""Kubeconfig resolution and merging like kubectl, context selection, fast failure."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
import yaml

from kdash.errors import KdashError
from kdash.kube.client import connect
from kdash.kube.kubeconfig import current_context, kubeconfig_paths, list_contexts


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No real kubeconfig, no in-cluster environment."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write(path: Path, config: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return str(path)


def kubeconfig(clusters: dict[str, str], contexts: dict[str, dict], users: dict[str, dict],
               current: str | None = None) -> dict:
    config: dict = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
    }
    if current is not None:
        config["current-context"] = current
    return config


@pytest.fixture
def two_files(tmp_path) -> tuple[str, str]:
    first = write(tmp_path / "a" / "config", kubeconfig(
        clusters={"c1": "http://one.example:1"},
        contexts={"ctx-a": {"cluster": "c1", "user": "u1", "namespace": "team-a"}},
        users={"u1": {"token": "token-one"}},
        current="ctx-a",
    ))
    second = write(tmp_path / "b" / "config", kubeconfig(
        clusters={"c1": "http://two.example:2", "c2": "http://three.example:3"},
        contexts={"ctx-a": {"cluster": "c2", "user": "u2", "namespace": "loser"},
                  "ctx-b": {"cluster": "c2", "user": "u2"}},
        users={"u1": {"token": "loser"}, "u2": {"token": "token-two"}},
        current="ctx-b",
    ))
    return first, second


def test_first_file_wins_per_name_and_for_current_context(monkeypatch, two_files):
    first, second = two_files
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    conn = connect(None, None, probe=False)
    assert conn.context_name == "ctx-a"
    assert conn.namespace == "team-a"
    assert conn.server == "http://one.example:1"
    assert conn.contexts == ["ctx-a", "ctx-b"]
    assert conn.api_client.configuration.api_key["BearerToken"] == "Bearer token-one"


def test_reversed_order_flips_every_winner(monkeypatch, two_files):
    first, second = two_files
    monkeypatch.setenv("KUBECONFIG", f"{second}:{first}")
    assert current_context() == "ctx-b"
    conn = connect(None, "ctx-a", probe=False)
    assert conn.server == "http://three.example:3"
    assert conn.namespace == "loser"
    assert conn.api_client.configuration.api_key["BearerToken"] == "Bearer token-two"


def test_context_override_and_default_namespace(monkeypatch, two_files):
    first, second = two_files
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    conn = connect(None, "ctx-b", probe=False)
    assert conn.context_name == "ctx-b"
    assert conn.namespace == "default"
    assert conn.server == "http://three.example:3"
    assert conn.api_client.configuration.api_key["BearerToken"] == "Bearer token-two"


def test_current_context_comes_from_a_later_file_when_the_first_sets_none(monkeypatch, tmp_path):
    first = write(tmp_path / "first", kubeconfig({"c": "http://c:1"}, {"x": {"cluster": "c"}}, {}))
    second = write(tmp_path / "second", kubeconfig({}, {"y": {"cluster": "c"}}, {}, current="y"))
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    assert current_context() == "y"
    assert connect(None, None, probe=False).server == "http://c:1"


def test_missing_and_empty_files_in_kubeconfig_are_skipped(monkeypatch, tmp_path, two_files):
    first, _ = two_files
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{empty}:{first}")
    assert list_contexts() == ["ctx-a"]


def test_explicit_kubeconfig_beats_the_environment(monkeypatch, two_files):
    first, second = two_files
    monkeypatch.setenv("KUBECONFIG", first)
    assert kubeconfig_paths(second) == [second]
    assert list_contexts(second) == ["ctx-a", "ctx-b"]
    assert connect(second, None, probe=False).context_name == "ctx-b"


def test_default_location_is_home_kube_config(tmp_path, two_files):
    first, _ = two_files
    home_config = tmp_path / "home" / ".kube" / "config"
    home_config.parent.mkdir(parents=True)
    home_config.write_text(Path(first).read_text())
    assert kubeconfig_paths(None) == [str(home_config)]
    assert connect(None, None, probe=False).context_name == "ctx-a"


def test_missing_explicit_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(KdashError) as info:
        connect(str(tmp_path / "nope"), None)
    assert info.value.title == "Kubeconfig not found"
    assert "nope" in info.value.message


def test_no_kubeconfig_anywhere_and_not_in_a_cluster():
    with pytest.raises(KdashError) as info:
        connect(None, None)
    assert info.value.title == "No kubeconfig"
    assert ".kube/config" in info.value.message


def test_unknown_context_lists_the_available_ones(two_files):
    first, _ = two_files
    with pytest.raises(KdashError) as info:
        connect(first, "prod")
    assert info.value.title == "Unknown context"
    assert "'prod'" in info.value.message and "ctx-a" in info.value.message


def test_no_current_context(tmp_path):
    path = write(tmp_path / "config", kubeconfig({"c": "http://c:1"}, {"x": {"cluster": "c"}}, {}))
    with pytest.raises(KdashError) as info:
        connect(path, None)
    assert info.value.title == "No current context"


def test_relative_certificate_paths_resolve_against_their_own_file(monkeypatch, tmp_path):
    ca = tmp_path / "certs" / "ca.pem"
    ca.parent.mkdir()
    ca.write_text("not really a certificate")
    config = kubeconfig({}, {"x": {"cluster": "c", "user": "u"}}, {"u": {"token": "t"}}, "x")
    config["clusters"] = [{"name": "c", "cluster": {"server": "https://c:1",
                                                    "certificate-authority": "ca.pem"}}]
    other = write(tmp_path / "elsewhere" / "config", kubeconfig({}, {}, {}))
    path = write(tmp_path / "certs" / "config", config)
    monkeypatch.setenv("KUBECONFIG", f"{other}:{path}")
    conn = connect(None, None, probe=False)
    assert conn.api_client.configuration.ssl_ca_cert == str(ca)


def test_exec_credential_plugin_supplies_the_token(tmp_path):
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {"token": "from-exec"}}
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                     "command": sys.executable,
                     "args": ["-c", f"print({json.dumps(json.dumps(credential))})"]}}
    path = write(tmp_path / "config", kubeconfig({"c": "http://c:1"},
                                                 {"x": {"cluster": "c", "user": "u"}},
                                                 {"u": user}, "x"))
    conn = connect(path, None, probe=False)
    assert conn.api_client.configuration.get_api_key_with_prefix("BearerToken") == \
        "Bearer from-exec"
    assert conn.reload_credentials(time.monotonic()) is True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_fails_fast_with_a_clear_error(tmp_path):
    server = f"https://127.0.0.1:{free_port()}"
    path = write(tmp_path / "config", kubeconfig({"c": server},
                                                 {"x": {"cluster": "c", "user": "u"}},
                                                 {"u": {"token": "t"}}, "x"))
    started = time.monotonic()
    with pytest.raises(KdashError) as info:
        connect(path, None)
    assert time.monotonic() - started < 3
    assert info.value.title == "Cannot reach the API server"
    assert "connection refused" in info.value.message
    assert server in info.value.message


def test_a_server_that_never_answers_gets_one_attempt_within_the_deadline(tmp_path, monkeypatch):
    # It accepts, reads the request, says nothing and hangs up after 1.5 s. Retrying would show
    # as more connections; the probe must give up at its deadline (shortened here) after one.
    import threading

    from kdash.kube import client

    monkeypatch.setattr(client, "CONNECT_DEADLINE", 1.0, raising=False)
    accepted = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)
            threading.Timer(1.5, conn.close).start()

    threading.Thread(target=serve, daemon=True).start()
    server = f"http://127.0.0.1:{listener.getsockname()[1]}"
    path = write(tmp_path / "config", kubeconfig({"c": server}, {"x": {"cluster": "c", "user": "u"}},
                                                 {"u": {"token": "t"}}, "x"))
    started = time.monotonic()
    try:
        with pytest.raises(KdashError) as info:
            connect(path, None)
        elapsed = time.monotonic() - started
        time.sleep(2)  # a retry would connect again once the first connection is closed
    finally:
        done.set()
        listener.close()
    assert elapsed < 1.5, f"{elapsed:.1f} s"
    assert len(accepted) == 1
    assert info.value.title == "Timeout" and server in info.value.message


def test_a_401_reuses_a_reload_made_after_its_request_and_reloads_after_an_older_one():
    # Fifteen reflectors refused at once run the exec plugin once; a credential refused after a
    # reload (rotated again a second later) is reloaded again at once, not after a debounce.
    from kdash.kube.api import ApiClient, Configuration
    from kdash.kube.client import Connection

    loads: list[float] = []
    conn = Connection(ApiClient(Configuration("http://k:1")), "x", "default", "http://k:1",
                      _reload=lambda configuration: loads.append(time.monotonic()))
    sent = time.monotonic()
    assert conn.reload_credentials(sent) is True and len(loads) == 1
    assert conn.reload_credentials(sent) is True and len(loads) == 1  # the same refusal: reuse it
    assert conn.reload_credentials(time.monotonic()) is True and len(loads) == 2  # a newer one: reload
