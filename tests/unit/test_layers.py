"""Every module below widgets/ loads without textual, and every module sits in a layer of the contracts."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "kdash"
UI_FREE = ("core", "kube", "render", "actions", "logs")


def modules_of(package: str) -> list[str]:
    """Every module of kdash.<package>, found on disk (not only what its __init__ happens to import)."""
    root = PACKAGE / package
    return sorted(f"kdash.{package}." + ".".join(path.relative_to(root).with_suffix("").parts)
                  for path in root.rglob("*.py") if path.name != "__init__.py")


def imported_modules(*modules: str) -> set[str]:
    """Import `modules` in a fresh interpreter and return the names in its sys.modules."""
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + \
        "print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_every_module_below_the_widgets_loads_without_textual() -> None:
    modules = [m for package in UI_FREE for m in modules_of(package)]
    assert "kdash.kube.store" in modules and "kdash.actions.safety" in modules and len(modules) > 30
    loaded = imported_modules(*modules)
    assert set(modules) <= loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


@pytest.mark.parametrize("module", [m for m in modules_of("render") if m != "kdash.render.text"] + modules_of("core"))
def test_render_and_core_need_neither_textual_nor_rich(module: str) -> None:
    loaded = imported_modules(module)
    assert module in loaded
    assert "textual" not in loaded
    assert "rich" not in loaded  # only kdash.render.text may use rich


def test_render_text_uses_rich_but_not_textual() -> None:
    loaded = imported_modules("kdash.render.text")
    assert "rich" in loaded and "textual" not in loaded


def test_every_kdash_module_is_in_a_layer_of_the_import_contracts() -> None:
    """A module outside every layer would escape the contracts `lint-imports` checks."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}
    on_disk = {f"kdash.{p.stem}" for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    on_disk |= {f"kdash.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert on_disk - named == set()


# Screens and libraries that only a key (or a real ConfigMap change) opens: loading them before
# the first frame cost tens of milliseconds of every start (docs/performance.md).
OPENED_LATER = ("rich.syntax", "pygments", "kdash.screens.flows.watch", "kdash.screens.rollout_watch",
                "kdash.logs.rollout_watch", "kdash.screens.forwards", "kdash.screens.exec_output",
                "kdash.screens.flows.restart_consumers", "kdash.screens.flows.staged_restart")


def test_the_app_loads_only_what_the_first_frame_needs() -> None:
    loaded = imported_modules("kdash.app")
    assert {"kdash.screens.dashboard", "kdash.screens.exec_forward", "kdash.screens.edit_apply"} <= loaded
    assert loaded & set(OPENED_LATER) == set()


@pytest.mark.parametrize("module", ["kdash.app", "kdash.boot", "kdash.headless"])
def test_no_start_path_loads_the_kubernetes_package(module: str) -> None:
    # kdash's own client (kube/api.py) serves every request; the package and its pydantic models
    # load only for a legacy auth-provider credential (kube/kubeconfig.py).
    assert imported_modules(module) & {"kubernetes", "pydantic", "oauthlib", "requests"} == set()


@pytest.mark.parametrize("module", OPENED_LATER[2:])
def test_what_a_key_opens_still_imports(module: str) -> None:
    """Imported inside a handler, a broken import would only show when the key is pressed."""
    assert module in imported_modules(module)
