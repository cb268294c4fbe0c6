"""What `kdash --version` prints: the release and the git commit it was built from."""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

from kdash import __version__

# Written by `make dist` into the package before building, so a wheel names its commit.
COMMIT_FILE = "_commit.txt"


def checkout_commit(root: Path | None = None) -> str | None:
    """The commit of the git checkout kdash runs from (an editable install), else None."""
    root = root or Path(__file__).resolve().parent.parent
    if not (root / ".git").exists() or not (root / "pyproject.toml").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def baked_commit() -> str | None:
    try:
        text = resources.files("kdash").joinpath(COMMIT_FILE).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    return text.strip() or None


def version_text() -> str:
    commit = checkout_commit() or baked_commit()
    return f"kdash {__version__}" + (f" (commit {commit})" if commit else "")
