"""Pure parts of exec and port-forward: status decoding, query building, endpoint picking, the fake kubelet's env."""

from __future__ import annotations

import base64
import socket

import pytest

from devcluster.fake_streaming import container_env, expand, parse_ports, v4_status
from kdash.actions.exec import _detail, shell_candidates
from kdash.errors import KdashError
from kdash.kube.exec import ExecError, exec_query, exit_code_of
from kdash.kube.portforward import bind, check_port, ready_pods


def test_exit_code_of_v4_status():
    assert exit_code_of({"metadata": {}, "status": "Success"}) == 0
    assert exit_code_of(v4_status(3, ["sh", "-c", "exit 3"])) == 3
    with pytest.raises(ExecError) as caught:
        exit_code_of(v4_status(None, ["x"], error="failed to exec in container: no such file"))
    assert "no such file" in caught.value.message
    with pytest.raises(ExecError):
        exit_code_of({"status": "Failure", "reason": "NonZeroExitCode", "details": {"causes": []}})


def test_exec_query_flags():
    query = exec_query(["sh", "-c", "ls"], "main", stdin=False, tty=False)
    assert query == [("command", "sh"), ("command", "-c"), ("command", "ls"), ("container", "main"),
                     ("stdin", "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    # A tty merges stderr into stdout, so stderr must not be asked for (the apiserver refuses both).
    assert ("stderr", "false") in exec_query(["sh"], None, stdin=True, tty=True)
    with pytest.raises(KdashError):
        exec_query([], None, stdin=False, tty=False)


def _service(*ports: dict) -> dict:
    return {"metadata": {"name": "web"}, "spec": {"ports": list(ports)}}


def test_ready_pods_follows_named_target_ports():
    service = _service({"name": "http", "port": 80, "targetPort": "http"},
                       {"name": "admin", "port": 9000, "targetPort": 9001})
    endpoints = {"subsets": [
        {"addresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "a"}}],
         "notReadyAddresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "b"}}],
         "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9001}]},
        {"addresses": [{"ip": "10.0.0.3", "targetRef": {"kind": "Pod", "name": "c"}}],
         "ports": [{"name": "http", "port": 8081}, {"name": "admin", "port": 9001}]},
    ]}
    assert ready_pods(service, endpoints, 80) == [("a", 8080), ("c", 8081)]
    assert ready_pods(service, endpoints, 9000) == [("a", 9001), ("c", 9001)]
    assert ready_pods(service, {}, 80) == []
    with pytest.raises(KdashError) as caught:
        ready_pods(service, endpoints, 81)
    assert caught.value.message == "service web has no port 81 (ports: 80, 9000)"


def test_ports_are_checked_and_a_taken_port_is_refused():
    for bad in (0, -1, 65536, True, "80"):
        with pytest.raises(KdashError):
            check_port(bad, "local port")  # type: ignore[arg-type]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(KdashError) as caught:
            bind("127.0.0.1", taken.getsockname()[1])
        assert caught.value.title == "Port in use"


def test_fake_kubelet_parses_ports_like_the_kubelet():
    assert parse_ports("port=80,8080&port=9000") == [80, 8080, 9000]
    for query, words in (("", "is required"), ("port=", "cannot be empty"), ("port=x", "unable to parse"),
                         ("port=0", "must be > 0"), ("port=70000", "unable to parse")):
        with pytest.raises(ValueError, match=words):
            parse_ports(query)


def test_fake_kubelet_builds_the_container_environment():
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "web"}},
           "spec": {"nodeName": "n1"}, "status": {"podIP": "10.244.0.5"}}
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "s"}, "prefix": "S_"}],
        "env": [{"name": "A", "value": "x-$(K)-$$(K)-$(MISSING)"},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "K"}}},
                {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "K", "optional": True}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}
    store = {("configmaps", "cm"): {"K": "v"},
             ("secrets", "s"): {"TOKEN": base64.b64encode(b"t0p").decode()}}
    env = container_env(lambda kind, ns, name: store.get((kind, name)), pod, container, True, "/tmp/h")
    assert env["K"] == "v" and env["S_TOKEN"] == "t0p"
    assert env["A"] == "x-v-$(K)-$(MISSING)"
    assert env["B"] == "v" and "C" not in env
    assert (env["APP"], env["IP"], env["HOSTNAME"], env["HOME"], env["TERM"]) == (
        "web", "10.244.0.5", "p", "/tmp/h", "xterm")
    assert expand("$$$(A)", {"A": "1"}) == "$1"


def test_audit_detail_and_shells():
    assert _detail("main", ["sh", "-c", "exit 3"], False, 3, 0.25) == \
        "container main, command sh -c 'exit 3', exit code 3, 0.2 s"
    assert shell_candidates("/busybox/sh -l") == [["bash"], ["sh"], ["/busybox/sh", "-l"]]


def test_default_container_like_kubectl():
    from kdash.kube.exec import DEFAULT_CONTAINER, default_container

    two = {"spec": {"containers": [{"name": "app"}, {"name": "proxy"}]}}
    assert default_container(two) is None  # the picker asks
    assert default_container({**two, "metadata": {"annotations": {DEFAULT_CONTAINER: "proxy"}}}) == "proxy"
    assert default_container({**two, "metadata": {"annotations": {DEFAULT_CONTAINER: "gone"}}}) is None
    assert default_container({"spec": {"containers": [{"name": "only"}]}}) == "only"


def test_exec_and_forward_modules_do_not_import_textual():
    import subprocess
    import sys

    modules = ["kdash.kube.stream", "kdash.kube.exec", "kdash.kube.portforward", "kdash.exec_terminal",
               "kdash.actions.exec", "kdash.actions.port_forward"]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + \
        "print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert set(modules) <= loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


@pytest.mark.parametrize("tty", [True, False])
def test_fake_kubelet_runs_commands_with_default_signal_actions(tty, tmp_path):
    # The kubelet itself may run with SIGHUP ignored (under nohup); its exec'd commands must not.
    import os
    import signal
    import time

    from devcluster.fake_streaming import _spawn

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        proc, master = _spawn(["sleep", "30"], dict(os.environ), str(tmp_path), tty, True, False)
    finally:
        signal.signal(signal.SIGHUP, old)
    try:
        deadline = time.monotonic() + 10
        while not open(f"/proc/{proc.pid}/cmdline", "rb").read().startswith(b"sleep"):  # past exec
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGHUP)
        assert proc.wait(timeout=10) == -signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()
        if master is not None:
            os.close(master)
