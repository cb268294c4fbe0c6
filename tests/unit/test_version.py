"""`kdash --version` names the release and the git commit: the checkout's, else the one baked in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kdash import __version__
from kdash.version import baked_commit, checkout_commit, version_text

ROOT = Path(__file__).resolve().parents[2]


def test_version_from_a_checkout_names_its_commit():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    assert head and checkout_commit(ROOT) == head
    result = subprocess.run([sys.executable, "-m", "kdash", "--version"], capture_output=True, text=True,
                            timeout=30, cwd=ROOT)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"kdash {__version__} (commit {head})\n"


def test_outside_a_checkout_the_baked_commit_or_none(tmp_path, monkeypatch):
    assert checkout_commit(tmp_path) is None
    monkeypatch.setattr("kdash.version.checkout_commit", lambda: None)
    monkeypatch.setattr("kdash.version.baked_commit", lambda: "abc123def456")
    assert version_text() == f"kdash {__version__} (commit abc123def456)"
    monkeypatch.setattr("kdash.version.baked_commit", lambda: None)
    assert version_text() == f"kdash {__version__}"


def test_no_commit_file_in_the_source_tree():
    # make dist writes it only for the build; a stale one would name the wrong commit.
    assert baked_commit() is None
