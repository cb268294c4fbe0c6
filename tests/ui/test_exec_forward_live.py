"""Exec and port-forward keys against the real control plane and fake kubelet: F, p, X, and x through a pty."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
import time
import urllib.request

import pytest
from textual.widgets import DataTable

from devcluster.cluster import free_port
from devcluster.testing import wait_for
from kdash.actions.safety import AuditLog
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.exec_output import ExecOutputScreen
from kdash.screens.forwards import ForwardsScreen
from kdash.screens.modals import PromptScreen
from tests.ui.pilot_helpers import live_app, until
from tests.ui.test_exec_forward_pilot import messages, shown
from tests.ui.test_signals import REPO, _read, _wait_for


def unwrapped(text: str) -> str:
    """Without whitespace: where a title wraps depends on the length of the generated names."""
    return "".join(text.split())


def _apply(kubectl, namespace: str, *docs: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def _deployment(name: str, container: dict) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def _ready_pod(kubectl, namespace: str, app: str) -> str:
    def ready():
        pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "json"))["items"]
        return next((p["metadata"]["name"] for p in pods
                     if any(c["type"] == "Ready" and c["status"] == "True"
                            for c in p.get("status", {}).get("conditions") or [])), None)
    return wait_for(ready, timeout=60, message=f"a ready pod of {app}")


def _until(fd: int, marker: bytes, seen: bytes = b"", seconds: float = 30) -> bytes:
    """What the terminal got since `marker`'s first appearance (reading more until it appears)."""
    deadline = time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        seen += _read(fd, 0.2)
    assert marker in seen, f"{marker!r} never appeared"
    return seen[seen.index(marker):]


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read().decode()


async def _select(pilot, app, key: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key), message=key)
    assert app.screen.tree.select_key(key)


async def test_shift_f_on_a_service_answers_on_the_local_port_and_p_shows_it_active(cluster, kubectl, namespace,
                                                                                    tmp_path):
    _apply(kubectl, namespace,
           _deployment("web", {"name": "web", "image": "nginx:1.19",
                               "ports": [{"name": "http", "containerPort": 8080}]}),
           {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    pod = _ready_pod(kubectl, namespace, "web")
    port = free_port()
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.press("2")
        await _select(pilot, app, f"Service/{namespace}/web")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="local port prompt")
        await pilot.press("ctrl+u", *str(port), "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        assert unwrapped(f"Forward 127.0.0.1:{port} → Service {namespace}/web:80?") in unwrapped(shown(app.screen))
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith(f"forwarding 127.0.0.1:{port}") for m in messages(app)),
                    message="forward started")
        body = await asyncio.to_thread(_get, port)
        assert pod in body  # the fake kubelet's server answers with the pod's name
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ForwardsScreen), message="forwards view")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: "active" in shown(table), message="active row")
        row = shown(table)
        assert f"127.0.0.1:{port}" in row and f"Service/{namespace}/web:80" in row and pod in row
        await pilot.press("escape", "q")
    with pytest.raises(OSError):
        _get(port)  # quitting stopped the forward
    verbs = [(line["verb"], line["result"], line["detail"].split(" ")[0]) for line in app.audit.lines()]
    assert verbs == [("port-forward", "ok", "start"), ("port-forward", "ok", "stop")]


async def test_shift_x_printenv_on_a_deployment_shows_the_configmap_value_and_exit_code_0(cluster, kubectl,
                                                                                        namespace, tmp_path):
    _apply(kubectl, namespace,
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
            "data": {"DATASOURCE_NAME": "postgres://db/users"}},
           _deployment("app", {"name": "main", "image": "busybox:1.36",
                               "envFrom": [{"configMapRef": {"name": "app-config"}}]}))
    pod = _ready_pod(kubectl, namespace, "app")
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(140, 36)) as pilot:
        await _select(pilot, app, f"Deployment/{namespace}/app")
        await until(pilot, lambda: app.store.get("Pod", namespace, pod), message="the pod in the store")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="command prompt")
        await pilot.press(*"printenv", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        assert unwrapped(f"Run printenv in pod {namespace}/{pod}, container main?") in unwrapped(shown(app.screen))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ExecOutputScreen), timeout=30, message="the output")
        await pilot.pause()
        assert "DATASOURCE_NAME=postgres://db/users" in shown(app.screen.query_one("#exec-output"))
        assert "exit code 0" in shown(app.screen.query_one("#exec-exit"))
    (line,) = app.audit.lines()
    assert (line["verb"], line["object"], line["result"]) == ("exec", f"Pod/{namespace}/{pod}", "ok")
    assert "exit code 0" in line["detail"]


def test_x_through_a_pty_runs_a_shell_and_gives_the_dashboard_back(cluster, kubectl, namespace, tmp_path):
    _apply(kubectl, namespace, _deployment("busy", {"name": "main", "image": "busybox:1.36"}))
    pod = _ready_pod(kubectl, namespace, "busy")
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="30",
               XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "kdash", "--kubeconfig", cluster.kubeconfig, "-n", namespace],
                            stdin=follower, stdout=follower, stderr=follower, cwd=REPO, env=env,
                            start_new_session=True)
    os.close(follower)
    try:
        # The Deployment's row is the first one, selected; x picks a ready pod of it: wait for the pod's row.
        _wait_for(leader, pod.encode(), 60)
        time.sleep(0.5)  # the row painted is in the store: the ready condition came with it
        os.write(leader, b"x")
        _wait_for(leader, b"Open a shell", 30)
        os.write(leader, b"y")
        _wait_for(leader, b"\x1b[?1049l", 30)  # the dashboard handed the terminal over
        time.sleep(1.0)  # the shell's prompt
        os.write(leader, b"echo hi-$((40+2)); exit\r")
        after = _until(leader, b"hi-42")  # the shell's output, not the echo of what was typed
        after = _until(leader, b"\x1b[?1049h", after)  # the dashboard is back
        _until(leader, b"exited with code 0", after)
        os.write(leader, b"q")
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert proc.returncode == 0
    lines = AuditLog(tmp_path / "kdash" / "audit.log").lines()
    assert [(line["verb"], line["object"], line["result"]) for line in lines] == [
        ("exec", f"Pod/{namespace}/{pod}", "ok")]
    assert "tty" in lines[0]["detail"] and "exit code 0" in lines[0]["detail"]
