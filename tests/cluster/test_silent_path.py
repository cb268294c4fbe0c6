"""A stalled path (packets stop, nothing closes) is admitted within 10 s and recovered from within 5 s."""

from __future__ import annotations

import threading
import time

import pytest

from devcluster.testing import deployment_manifest, wait_for
from kdash.actions import scale as scale_action
from kdash.actions.safety import AuditLog, WriteContext
from kdash.errors import KdashError
from kdash.kube.client import connect
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher
from tests.cluster.tcp_proxy import TcpProxy, proxied_kubeconfig, upstream_of

DETECT_WITHIN = 10.0
RECOVER_WITHIN = 5.0


@pytest.fixture
def proxy(cluster):
    proxy = TcpProxy(upstream_of(cluster))
    yield proxy
    proxy.close()


@pytest.fixture
def proxied(cluster, proxy, tmp_path):
    connection = connect(proxied_kubeconfig(cluster, proxy, tmp_path / "kubeconfig"), None)
    yield connection
    connection.close()


def _deployment(name: str) -> str:
    return deployment_manifest(name, "nginx:1.21.0", replicas=1)


def _names(store: Store, kind: str, namespace: str) -> set[str]:
    return {o["metadata"]["name"] for o in store.list(kind, namespace)}


def test_stall_is_said_within_10s_and_a_deployment_made_meanwhile_shows_within_5s_of_return(
        proxied, proxy, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=_deployment("before"))
    store = Store()
    watcher = Watcher(proxied, namespace, store=store).start()
    try:
        wait_for(lambda: watcher.health() == "live" and "before" in _names(store, "Deployment", namespace),
                 message="initial list through the proxy")
        proxy.stall()
        stalled = time.monotonic()
        wait_for(lambda: "stale for" in watcher.health(), timeout=30, interval=0.1,
                 message="the watcher to say stale")
        detection = time.monotonic() - stalled
        # The last known state stays, said to be stale.
        assert "before" in _names(store, "Deployment", namespace)
        kubectl("apply", "-n", namespace, "-f", "-", input=_deployment("during"))
        time.sleep(3)
        assert "stale for" in watcher.health()
        proxy.resume()
        resumed = time.monotonic()
        wait_for(lambda: "during" in _names(store, "Deployment", namespace) and watcher.health() == "live",
                 timeout=60, interval=0.05, message="the Deployment made during the stall")
        recovery = time.monotonic() - resumed
        print(f"silent path: detected in {detection:.2f} s, recovered in {recovery:.2f} s")
        assert detection < DETECT_WITHIN, f"stale said after {detection:.1f} s"
        assert recovery < RECOVER_WITHIN, f"recovered {recovery:.1f} s after the path returned"
    finally:
        watcher.stop()


def test_a_long_stall_past_the_watch_timeout_still_recovers_within_5s(proxied, proxy, kubectl, namespace):
    # Watches whose server-side timeout ends during the stall reconnect into it: their new sockets
    # are frozen too and must not keep them from the path once it is back.
    store = Store()
    watcher = Watcher(proxied, namespace, store=store, watch_timeout=3).start()
    try:
        wait_for(lambda: watcher.health() == "live", message="initial list through the proxy")
        proxy.stall()
        time.sleep(12)
        assert "stale for" in watcher.health()
        kubectl("apply", "-n", namespace, "-f", "-", input=_deployment("late"))
        proxy.resume()
        resumed = time.monotonic()
        wait_for(lambda: "late" in _names(store, "Deployment", namespace) and watcher.health() == "live",
                 timeout=60, interval=0.05, message="the Deployment made during the stall")
        recovery = time.monotonic() - resumed
        print(f"long stall: recovered in {recovery:.2f} s")
        assert recovery < RECOVER_WITHIN, f"recovered {recovery:.1f} s after the path returned"
    finally:
        watcher.stop()


def test_writes_during_a_stall_fail_fast_with_a_clear_message(proxied, proxy, kubectl, namespace, tmp_path):
    kubectl("apply", "-n", namespace, "-f", "-", input=_deployment("web"))
    store = Store()
    watcher = Watcher(proxied, namespace, store=store).start()
    audit = AuditLog(tmp_path / "audit.log")
    ctx = WriteContext.for_connection(proxied, audit=audit)
    try:
        wait_for(lambda: "web" in _names(store, "Deployment", namespace), message="initial list")
        # Pooled sockets the writes will reuse, opened before the stall.
        scale_action.scale(ctx, namespace, "web", 2)
        proxy.stall()

        def label() -> None:
            with ctx.attempt("label", f"Deployment/{namespace}/web") as attempt:
                attempt.send("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
                             {"metadata": {"labels": {"stalled": "yes"}}},
                             content_type="application/merge-patch+json")

        outcomes = _run_all({"scale": lambda: scale_action.scale(ctx, namespace, "web", 3), "label": label},
                            join=20)
        for name, (error, seconds) in outcomes.items():
            print(f"{name} during a stall failed after {seconds:.2f} s: {error}")
            assert isinstance(error, KdashError), f"{name} claims success through a stalled path"
            assert error.title == "No answer" and "did not answer" in error.message
            assert seconds < 12
        # The scale's read got no answer (nothing sent); the patch was sent: its outcome is unknown.
        assert "may or may not have been applied" in outcomes["label"][0].message
        assert [line["result"] for line in audit.lines()[-2:]] == ["error", "error"]
    finally:
        watcher.stop()


def _run_all(calls: dict, join: float) -> dict[str, tuple[BaseException | None, float]]:
    """Run each call in its own thread; (exception or None, seconds) per call, all within `join`."""
    outcomes: dict[str, tuple[BaseException | None, float]] = {}

    def run(name: str, call) -> None:
        started = time.monotonic()
        error = None
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            error = exc
        outcomes[name] = (error, time.monotonic() - started)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + join
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"still hanging after {join} s"
    return outcomes
