"""Early start: the namespace rule, which app adopts a running watch, the relay of changes, and failures."""

from __future__ import annotations

import gc
import threading
from argparse import Namespace

import pytest
import yaml

from kdash.boot import Relay, Watching, start_watching, watch_namespace
from kdash.errors import KdashError
from kdash.kube.client import connect
from tests.unit.test_layers import imported_modules


def test_the_namespace_rule_of_the_first_connection() -> None:
    assert watch_namespace(None, False, "team") == "team"  # the context's own
    assert watch_namespace("web", False, "team") == "web"  # -n wins
    assert watch_namespace("a,b", False, "team") == "a,b"  # a subset, as asked
    assert watch_namespace("web", True, "team") is None  # -A wins over -n, as in the app
    assert watch_namespace(None, True, "team") is None


WATCHING = Watching(kubeconfig="/k", context="dev", context_namespace="team", namespace="team")


@pytest.mark.parametrize("options, adopted", [
    (dict(kubeconfig="/k", context=None, namespace=None, all_namespaces=False), True),
    (dict(kubeconfig="/k", context="dev", namespace=None, all_namespaces=False), True),
    (dict(kubeconfig="/k", context="dev", namespace="team", all_namespaces=False), True),
    (dict(kubeconfig="/k", context="prod", namespace=None, all_namespaces=False), False),  # another context
    (dict(kubeconfig="/other", context=None, namespace=None, all_namespaces=False), False),
    (dict(kubeconfig=None, context=None, namespace=None, all_namespaces=False), False),
    (dict(kubeconfig="/k", context=None, namespace="web", all_namespaces=False), False),  # another namespace
    (dict(kubeconfig="/k", context=None, namespace=None, all_namespaces=True), False),  # all of them
])
def test_an_app_adopts_only_the_watch_it_would_start(options, adopted) -> None:
    assert WATCHING.serves(**options) is adopted


def test_an_all_namespaces_watch_serves_only_all_namespaces() -> None:
    everything = Watching(kubeconfig=None, context="dev", context_namespace="team", namespace=None)
    assert everything.serves(None, None, None, True)
    assert everything.serves(None, "dev", "web", True)  # -A with -n: all namespaces
    assert not everything.serves(None, None, None, False)


def test_the_relay_drops_marks_until_attached_then_forwards_them() -> None:
    relay = Relay()
    relay("Pod")  # before the app exists: the adopting app marks every kind itself
    seen: list[str] = []
    relay.attach(seen.append)
    relay("Deployment")
    threads = [threading.Thread(target=relay, args=("ReplicaSet",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["Deployment"] + ["ReplicaSet"] * 4


def test_the_early_start_loads_no_textual() -> None:
    loaded = imported_modules("kdash.boot")
    assert "kdash.boot" in loaded and "kdash.kube.watcher" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def _kubeconfig(tmp_path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
    }))
    return str(path)


def _args(kubeconfig: str, **overrides) -> Namespace:
    return Namespace(**{"kubeconfig": kubeconfig, "context": None, "namespace": None, "all_namespaces": False,
                        **overrides})


def test_start_watching_starts_the_reflectors_with_collections_off_until_abandoned(tmp_path) -> None:
    kubeconfig = _kubeconfig(tmp_path)

    def connector(path, context):
        connection = connect(path, context, probe=False)  # a closed port: the reflectors just retry
        connection.version = "v1.20.2"
        return connection

    assert gc.isenabled()
    early = start_watching(_args(kubeconfig, namespace="web"), connector=connector)
    try:
        assert early.watching == Watching(kubeconfig, "dev", "team", "web")
        assert early.version == "v1.20.2"
        assert early.watcher.namespace == "web" and early.store is early.watcher.store
        assert early.watcher.reflectors and all(r.is_alive() for r in early.watcher.reflectors)
        assert early.heap.loading_store and not gc.isenabled()  # no collections while the store loads
        assert early.connected_at <= early.watching_at
    finally:
        reflectors = early.watcher.reflectors
        early.abandon()
    assert gc.isenabled()  # given back at once; the threads stop in the background
    for reflector in reflectors:
        reflector.join(5)
    assert not any(r.is_alive() for r in reflectors)


def test_a_connection_that_fails_starts_nothing(tmp_path) -> None:
    kubeconfig = _kubeconfig(tmp_path)
    before = set(threading.enumerate())

    def refusing(path, context):
        raise KdashError("Unknown context", "context 'prod' is not in the kubeconfig")

    with pytest.raises(KdashError, match="prod"):
        start_watching(_args(kubeconfig, context="prod"), connector=refusing)
    # The default connector probes /version: a closed port fails there, and closes what it opened.
    with pytest.raises(KdashError, match="127.0.0.1:1"):
        start_watching(_args(kubeconfig))
    assert gc.isenabled()
    assert set(threading.enumerate()) - before == set()  # no reflector, no probe thread
