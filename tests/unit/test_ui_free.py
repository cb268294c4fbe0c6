"""The data layers never import textual (and render/ without text.py not even rich)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_modules(*modules: str) -> set[str]:
    """Import `modules` in a fresh interpreter and return the names in its sys.modules."""
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + \
        "print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_core_packages_do_not_import_textual() -> None:
    loaded = imported_modules("kdash.kube", "kdash.render", "kdash.actions")
    assert "kdash.render" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


@pytest.mark.parametrize("module", ["kdash.render", "kdash.render.tree", "kdash.render.details",
                                    "kdash.render.rollout", "kdash.render.pods", "kdash.render.labels"])
def test_render_needs_neither_textual_nor_rich(module: str) -> None:
    loaded = imported_modules(module)
    assert module in loaded
    assert "textual" not in loaded
    assert "rich" not in loaded  # only kdash.render.text may use rich


def test_render_text_uses_rich_but_not_textual() -> None:
    loaded = imported_modules("kdash.render.text")
    assert "rich" in loaded and "textual" not in loaded
