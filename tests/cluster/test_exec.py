"""Exec through the real API server into the fake kubelet: environment from ConfigMaps, exit codes, a tty, the gate."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.request

import pytest

from devcluster.cluster import free_port
from devcluster.testing import open_sockets, service_account_kubeconfig, wait_for
from kdash.actions import exec as exec_action
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.errors import KdashError
from kdash.kube import exec as kexec
from kdash.kube.client import connect
from kdash.kube.portforward import ACTIVE, PortForward


def _apply(kubectl, namespace: str, *docs: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def _running(kubectl, namespace: str, name: str) -> None:
    wait_for(lambda: json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json"))
             ["status"].get("phase") == "Running", timeout=60, message=f"pod {name} Running")


@pytest.fixture
def app_pod(kubectl, namespace):
    """A pod whose container takes env from a ConfigMap (envFrom and valueFrom) and the downward API."""
    _apply(kubectl, namespace,
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
            "data": {"DATASOURCE_NAME": "postgres://db/users", "LOG_LEVEL": "debug"}},
           {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "labels": {"app": "app"}},
            "spec": {"containers": [
                {"name": "main", "image": "busybox:1.36",
                 "envFrom": [{"configMapRef": {"name": "app-config"}}],
                 "env": [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app-config",
                                                                             "key": "LOG_LEVEL"}}},
                         {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                         {"name": "GREETING", "value": "hello $(MY_POD)"}]},
                {"name": "side", "image": "busybox:1.36"}]}})
    _running(kubectl, namespace, "app")
    return "app"


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("kdash-")}



def test_printenv_shows_configmap_values(connection, namespace, app_pod):
    result = kexec.run(connection.api_client, namespace, app_pod, ["printenv"], container="main")
    env = dict(line.split("=", 1) for line in result.stdout.decode().splitlines() if "=" in line)
    assert result.exit_code == 0
    assert env["DATASOURCE_NAME"] == "postgres://db/users"  # envFrom configMapRef
    assert env["LEVEL"] == "debug"  # valueFrom configMapKeyRef
    assert env["MY_POD"] == "app"  # fieldRef
    assert env["GREETING"] == "hello app"  # $(VAR) expansion
    assert env["HOSTNAME"] == "app"


def test_exit_code_and_stderr(connection, namespace, app_pod):
    result = kexec.run(connection.api_client, namespace, app_pod,
                       ["sh", "-c", "echo out; echo err >&2; exit 3"], container="main")
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 3)


def test_tty_session_resize_reaches_stty(connection, namespace, app_pod):
    with kexec.ExecSession.open(connection.api_client, namespace, app_pod, ["sh"], container="main",
                                tty=True) as session:
        session.resize(100, 33)
        time.sleep(0.2)  # the resize and the input travel on different channels
        session.write(b"stty size; exit 7\n")
        output = b""
        while (item := session.read(timeout=20)) is not None:
            output += item[1]
        assert session.wait(5) == 7
    assert b"33 100" in output


def test_unknown_container_is_refused_clearly(connection, namespace, app_pod):
    before = (_threads(), open_sockets())
    with pytest.raises(KdashError) as caught:
        kexec.run(connection.api_client, namespace, app_pod, ["true"], container="nope")
    assert caught.value.title == "Bad request"
    assert caught.value.message == "container nope is not valid for pod app"
    with pytest.raises(KdashError) as caught:
        kexec.run(connection.api_client, namespace, app_pod, ["true"])  # two containers, none named
    assert "a container name must be specified for pod app, choose one of: [main side]" in caught.value.message
    assert (_threads(), open_sockets()) == before


def test_missing_command_exits_127(connection, namespace, app_pod):
    before = (_threads(), open_sockets())
    result = kexec.run(connection.api_client, namespace, app_pod, ["no-such-command"], container="main")
    assert result.exit_code == 127
    assert b"executable file not found" in result.stderr
    assert (_threads(), open_sockets()) == before


def test_exec_action_audits_and_readonly_refuses(connection, namespace, app_pod, tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    ctx = WriteContext.for_connection(connection, audit=audit)
    result = exec_action.run_command(ctx, namespace, app_pod, "main", ["sh", "-c", "exit 3"])
    assert result.exit_code == 3
    line = audit.lines()[-1]
    assert (line["verb"], line["object"], line["result"]) == ("exec", f"Pod/{namespace}/app", "ok")
    assert "container main" in line["detail"] and "exit code 3" in line["detail"]
    assert "sh -c 'exit 3'" in line["detail"] and " s" in line["detail"]

    readonly = WriteContext.for_connection(connection, readonly=True, audit=audit)
    with pytest.raises(ReadOnlyError):
        exec_action.run_command(readonly, namespace, app_pod, "main", ["printenv"])
    line = audit.lines()[-1]
    assert (line["verb"], line["result"], line["detail"]) == ("exec", "refused", "read-only context")


def test_exec_interactive_action_audits_exit_code(connection, namespace, app_pod, tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    ctx = WriteContext.for_connection(connection, audit=audit)

    def drive(session):
        session.write(b"exit 5\n")
        while session.read(timeout=20) is not None:
            pass

    assert exec_action.run_interactive(ctx, namespace, app_pod, "main", ["sh"], drive) == 5
    line = audit.lines()[-1]
    assert line["result"] == "ok" and "exit code 5" in line["detail"] and "tty" in line["detail"]


def test_rbac_without_exec_is_refused_and_audited(cluster, kubectl, namespace, app_pod, tmp_path):
    path = service_account_kubeconfig(cluster, kubectl, namespace, tmp_path / "kubeconfig")
    kubectl("create", "role", "reader", "-n", namespace, "--verb=get,list,watch", "--resource=pods")
    kubectl("create", "rolebinding", "reader", "-n", namespace, "--role=reader",
            f"--serviceaccount={namespace}:viewer")
    viewer = connect(path, None)
    try:
        audit = AuditLog(tmp_path / "audit.log")
        ctx = WriteContext.for_connection(viewer, audit=audit)
        assert not exec_action.allowed(viewer.api_client, namespace)
        with pytest.raises(KdashError) as caught:
            exec_action.run_command(ctx, namespace, app_pod, "main", ["printenv"])
        assert caught.value.title == "Forbidden"
        assert audit.lines()[-1]["result"] == "error"
    finally:
        viewer.close()


def test_shell_falls_back_to_the_configured_command(connection, namespace, app_pod, tmp_path, monkeypatch):
    action = exec_action
    # A "distroless" container: neither bash nor sh exists, the configured command does.
    monkeypatch.setattr(action, "SHELLS", ("no-bash", "no-sh"))
    audit = AuditLog(tmp_path / "audit.log")
    ctx = WriteContext.for_connection(connection, audit=audit)
    seen = []

    def drive(session):
        while (item := session.read(timeout=20)) is not None:
            seen.append(item[1])

    command, exit_code = action.run_shell(ctx, namespace, app_pod, "main", drive,
                                          configured="sh -c 'echo fallback; exit 4'")
    assert command == ["sh", "-c", "echo fallback; exit 4"] and exit_code == 4
    assert b"fallback" in b"".join(seen)
    lines = audit.lines()
    assert len(lines) == 1 and "exit code 4" in lines[0]["detail"] and "echo fallback" in lines[0]["detail"]


@pytest.mark.parametrize("verb, works", [("create", False), ("get", True)])
def test_websocket_exec_is_authorized_as_get_on_1_20(cluster, kubectl, namespace, app_pod, tmp_path, verb, works):
    """A WebSocket exec is a GET: a 1.20 server checks `get pods/exec`; the pre-check asks for both verbs."""
    path = service_account_kubeconfig(cluster, kubectl, namespace, tmp_path / "kubeconfig")
    kubectl("create", "role", "exec", "-n", namespace, f"--verb={verb}", "--resource=pods/exec")
    kubectl("create", "rolebinding", "exec", "-n", namespace, "--role=exec",
            f"--serviceaccount={namespace}:viewer")
    user = connect(path, None)
    try:
        assert not exec_action.allowed(user.api_client, namespace)  # one of the two verbs is missing
        if works:
            assert kexec.run(user.api_client, namespace, app_pod, ["true"], container="main").exit_code == 0
        else:
            with pytest.raises(KdashError) as caught:
                kexec.run(user.api_client, namespace, app_pod, ["true"], container="main")
            assert caught.value.title == "Forbidden" and "pods/exec" in caught.value.message
    finally:
        user.close()


_ATTACH_CHILD = """
import sys
from kdash.kube.client import connect
from kdash.kube.exec import ExecSession
from kdash.exec_terminal import attach
conn = connect(sys.argv[1], None)
session = ExecSession.open(conn.api_client, sys.argv[2], sys.argv[3], ["sh"], container="main")
code = attach(session)
print("\\r\\nEXIT", code, flush=True)
"""


def test_terminal_attach_through_a_pty(cluster, namespace, app_pod):
    """The shell flow end to end: a process on a pty attaches, the window grows, stty size sees it."""
    def set_size(fd, rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    master, slave = pty.openpty()
    set_size(master, 40, 120)
    child = subprocess.Popen([sys.executable, "-c", _ATTACH_CHILD, cluster.kubeconfig, namespace, app_pod],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = bytearray()

    def read_until(marker: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while marker not in output and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    output.extend(os.read(master, 65536))
                except OSError:
                    break
        assert marker in output, bytes(output)

    try:
        os.write(master, b"stty size\n")
        read_until(b"40 120")
        set_size(master, 50, 132)
        time.sleep(0.8)  # the attach loop polls the size
        os.write(master, b"stty size; exit 7\n")
        read_until(b"EXIT 7")
        assert b"50 132" in output
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)


def test_exec_and_forward_renew_an_expired_token(cluster, kubectl, namespace, app_pod, tmp_path):
    """A 401 on the WebSocket handshake re-runs the exec plugin once, like every other request."""
    from test_auth_refresh import Rotator  # another test module's fixture class: imported only here

    rotator = Rotator(cluster, kubectl, namespace, tmp_path)
    user = connect(str(rotator.kubeconfig), None)
    try:
        assert kexec.run(user.api_client, namespace, app_pod, ["true"], container="main").exit_code == 0
        calls = rotator.plugin_calls()
        rotator.rotate(1)
        result = kexec.run(user.api_client, namespace, app_pod, ["printenv", "HOSTNAME"], container="main")
        assert (result.exit_code, result.stdout) == (0, b"app\n")
        assert rotator.plugin_calls() == calls + 1
        forward = PortForward(user.api_client, namespace, "Pod", app_pod, 8080, free_port()).start()
        try:
            rotator.rotate(2)
            with urllib.request.urlopen(f"http://{forward.local}/", timeout=10) as response:
                assert response.read() == b"pod app port 8080\n"
            assert forward.status().state == ACTIVE
        finally:
            forward.stop()
    finally:
        user.close()

