"""The one write gate: what refuses at the key, what refuses at send time, and what is audited."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kdash.actions.safety import AuditLog, ReadOnlyError, WriteGate
from kdash.errors import KdashError


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


def connection(name: str = "dev") -> SimpleNamespace:
    return SimpleNamespace(api_client=object(), context_name=name)


def test_read_only_refuses_at_the_key_with_an_audit_line(audit) -> None:
    gate = WriteGate(connection(), "dev", readonly=True, audit=audit)
    with pytest.raises(ReadOnlyError):
        gate.check("scale", "Scale")
    assert [(line["verb"], line["object"], line["result"]) for line in audit.lines()] == [
        ("scale", "context/dev", "refused")]


def test_a_refusal_such_as_a_pending_switch_refuses_at_the_key_and_at_send_time(audit) -> None:
    gate = WriteGate(connection(), "dev", readonly=False, audit=audit, refusal="switching to context prod")
    with pytest.raises(KdashError, match="switching to context prod"):
        gate.check("scale", "Scale")
    ctx = gate.context()
    assert ctx.refusal == "switching to context prod"
    assert [line["detail"] for line in audit.lines()] == ["switching to context prod"]


def test_no_connection_and_rbac_refuse_without_an_audit_line(audit) -> None:
    with pytest.raises(KdashError, match="Not connected to a cluster"):
        WriteGate(None, "dev", readonly=False, audit=audit).check("scale", "Scale")
    with pytest.raises(KdashError, match="RBAC: you may not scale here"):
        WriteGate(connection(), "dev", False, audit, denied=frozenset({"scale"})).check("scale", "Scale")
    with pytest.raises(KdashError, match="no cluster connection"):
        WriteGate(None, "dev", readonly=False, audit=audit).context()
    assert audit.lines() == []


def test_a_write_goes_where_its_confirmation_said_or_nowhere(audit) -> None:
    confirmed, now = connection("dev"), connection("prod")
    gate = WriteGate(now, "prod", readonly=False, audit=audit)
    assert gate.context(now).refusal == ""
    ctx = gate.context(confirmed)
    assert ctx.context_name == "prod" and "confirmed on context dev" in ctx.refusal
    with pytest.raises(KdashError, match="refused: confirmed on context dev"), ctx.attempt("scale", "Deployment/a/b"):
        pass
    assert [line["result"] for line in audit.lines()] == ["refused"]


def test_rbac_is_checked_for_the_selected_kind(audit) -> None:
    from kdash.actions.registry import BY_ID

    scale = BY_ID["scale"]
    assert scale.denial_key("Deployment") == "scale" and scale.denial_key("StatefulSet") == "scale@StatefulSet"
    gate = WriteGate(connection(), "dev", False, audit, denied=frozenset({"scale@StatefulSet"}))
    gate.check("scale", "Scale", scale.denial_key("Deployment"))  # Deployments may still be scaled
    with pytest.raises(KdashError, match="RBAC: you may not scale here"):
        gate.check("scale", "Scale", scale.denial_key("StatefulSet"))
