"""settings.yaml `audit_syslog: true` reaches the app's audit log (its syslog copy is tested in tests/unit)."""

from __future__ import annotations

from pathlib import Path

from kdash.app import KdashApp
from kdash.config import load_settings


def test_audit_syslog_setting_turns_on_the_app_audit_logs_syslog_copy(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "settings.yaml"
    path.write_text("audit_syslog: true\n")
    settings = load_settings(path)
    assert settings.audit_syslog is True and settings.warnings == []
    assert KdashApp(settings=settings, start_watch=False).audit.syslog is True
    assert KdashApp(settings=load_settings(tmp_path / "absent.yaml"), start_watch=False).audit.syslog is False
