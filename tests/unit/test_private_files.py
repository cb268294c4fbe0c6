"""kdash's own files are private: directories 0700, files 0600, whatever the umask and existing modes."""

from __future__ import annotations

import logging
import os
import stat
import warnings
from pathlib import Path

import pytest

from kdash import cli, config
from kdash.actions.safety import AuditLog


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    """Temporary XDG dirs under a umask of 022 (files 0644 and directories 0755 by default)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    old = os.umask(0o022)
    try:
        yield tmp_path
    finally:
        os.umask(old)


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    warnings.resetwarnings()


def test_audit_log_and_state_dir_are_created_private(xdg):
    audit = AuditLog.default()
    audit.record(context="c", verb="scale", target="Deployment/ns/web", dry_run=False, result="ok")
    assert mode(config.state_dir()) == 0o700
    assert mode(audit.path) == 0o600
    audit.path.unlink()  # re-created private too
    audit.record(context="c", verb="scale", target="Deployment/ns/web", dry_run=False, result="ok")
    assert mode(audit.path) == 0o600 and len(audit.lines()) == 1


def test_existing_loose_state_dir_and_files_are_tightened(xdg):
    state = config.state_dir()
    state.mkdir(parents=True, mode=0o755)
    os.chmod(state, 0o755)
    (state / "audit.log").write_text("")
    os.chmod(state / "audit.log", 0o644)
    AuditLog.default().check_writable()
    assert mode(state) == 0o700 and mode(state / "audit.log") == 0o600


def test_kdash_log_is_private(xdg, restore_logging):
    state = config.state_dir()
    state.mkdir(parents=True)
    (state / "kdash.log").write_text("old line\n")
    os.chmod(state / "kdash.log", 0o666)
    cli._log_to_file()
    logging.getLogger("kdash.test").warning("hello")
    assert mode(state) == 0o700 and mode(state / "kdash.log") == 0o600
    assert "hello" in (state / "kdash.log").read_text()


def test_settings_file_and_its_directory_are_tightened(xdg):
    directory = config.config_dir()
    directory.mkdir(parents=True)
    path = directory / "settings.yaml"
    path.write_text("readonly_contexts: [prod]\n")
    os.chmod(directory, 0o777)
    os.chmod(path, 0o666)  # anyone could have lifted prod's read-only protection
    assert config.load_settings().readonly_contexts == ["prod"]
    assert mode(directory) == 0o700 and mode(path) == 0o600
