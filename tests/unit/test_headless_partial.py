"""`kdash tree --once` prints what the user may read and names what it may not (issue 20, item 5)."""

from __future__ import annotations

import io
from argparse import Namespace

import pytest
from rich.console import Console

from kdash import headless
from kdash.errors import KdashError
from tests.ui.tree_world import item1_namespace


class FakeConnection:
    api_client = None
    context_name = "limited"
    namespace = "demo"

    def close(self) -> None:
        pass


def run(monkeypatch, capsys, forbidden: set[str]) -> tuple[int | Exception, str, str]:
    world = item1_namespace()

    def list_objects(api_client, kind, namespace, transform):
        if kind.name in forbidden:
            raise KdashError("Forbidden", f'{kind.plural} is forbidden: User "viewer" cannot list resource')
        return [transform(o) for o in world.get(kind.name, [])], "1"

    monkeypatch.setattr(headless, "connect", lambda kubeconfig, context: FakeConnection())
    monkeypatch.setattr(headless, "served_kind", lambda api_client, kind: kind)
    monkeypatch.setattr(headless, "list_objects", list_objects)
    out = io.StringIO()
    args = Namespace(kubeconfig=None, context=None, namespace="demo", all_namespaces=False)
    try:
        code: int | Exception = headless.print_tree(args, Console(file=out, width=200))
    except KdashError as exc:
        code = exc
    return code, out.getvalue(), capsys.readouterr().err


def test_forbidden_services_still_print_the_workloads(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, {"Service", "Endpoints"})
    assert code == 0
    assert "web  3/3 ready" in out and "pod solo-0" in out and "pod web-5d4f-0" in out
    assert "cannot list services in ns demo (Forbidden:" in err
    assert "cannot list endpoints in ns demo" in err
    assert "cannot list pods" not in err


def test_nothing_readable_fails_with_the_reason(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, set(headless.KINDS))
    assert isinstance(code, KdashError) and code.title == "Forbidden"
    assert out == ""


@pytest.mark.parametrize("kind", ["Pod", "Deployment"])
def test_one_forbidden_kind_is_named_and_the_rest_printed(monkeypatch, capsys, kind):
    code, out, err = run(monkeypatch, capsys, {kind})
    assert code == 0 and "Services" in out and "svc web" in out
    assert f"cannot list {kind.lower()}s in ns demo" in err


def test_kinds_select_trees_by_kubectl_names():
    assert headless.views_named(None) == ["workloads", "services", "statefulsets", "daemonsets", "jobs", "ingresses"]
    assert headless.views_named("ds,sts") == ["statefulsets", "daemonsets"]
    assert headless.views_named("cj,deploy") == ["workloads", "jobs"]
    assert headless.views_named("ing") == ["ingresses"] and headless.views_named("hpa") == ["workloads"]
    with pytest.raises(KdashError) as bad:
        headless.views_named("jobz")
    assert "'jobz'" in bad.value.message and "cj" in bad.value.message


def test_an_unserved_kind_is_named_unavailable_not_an_error(monkeypatch, capsys):
    monkeypatch.setattr(headless, "connect", lambda kubeconfig, context: FakeConnection())
    monkeypatch.setattr(headless, "served_kind", lambda api_client, kind: None if kind.name == "CronJob" else kind)
    monkeypatch.setattr(headless, "list_objects", lambda api_client, kind, namespace, transform: ([], "1"))
    out = io.StringIO()
    args = Namespace(kubeconfig=None, context=None, namespace="demo", all_namespaces=False, kinds="cj")
    assert headless.print_tree(args, Console(file=out, width=200)) == 0
    assert "Jobs" in out.getvalue() and "Workloads" not in out.getvalue()
    assert "kdash: cronjobs: unavailable (this API server does not serve them)" in capsys.readouterr().err
