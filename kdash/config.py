"""User settings (XDG settings.yaml), themes as data, keymap overrides and protected contexts."""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from pathlib import Path
from typing import Any, TextIO

import yaml

# kdash-rs already owns ~/.config/kdash/config.yaml and KDASH_CONFIG; we use other names.
SETTINGS_ENV = "KDASH_SETTINGS"
DEFAULT_THEME = "kdash-dark"
# Mappings kept as written (not flattened to strings) and validated by their user.
NESTED_SETTINGS = frozenset({"rollout_watch"})
HEALTH_KEYS = ("ok", "progressing", "warning", "error", "terminating", "none", "muted")


# kdash's own files (audit log, log, settings) are the user's alone, also on a shared bastion.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kdash"


def state_dir() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "kdash"


def tighten(path: Path, mode: int) -> None:
    """Drop the permission bits `mode` does not grant, if `path` is ours and has any of them."""
    info = path.stat()
    if info.st_mode & 0o777 & ~mode and info.st_uid == os.getuid():
        os.chmod(path, info.st_mode & 0o777 & mode)


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner may enter (created 0700, or tightened to it)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIR_MODE)
    return path


def open_private(path: Path, *, readable: bool = False) -> TextIO:
    """Open `path` for appending (and reading, if `readable`), in a private directory, as a file
    only its owner may read (created 0600 whatever the umask, or tightened to it)."""
    private_dir(path.parent)
    access = os.O_RDWR if readable else os.O_WRONLY
    fd = os.open(path, access | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    handle = os.fdopen(fd, "a+" if readable else "a", encoding="utf-8")
    try:
        tighten(path, PRIVATE_FILE_MODE)
    except OSError:
        handle.close()
        raise
    return handle


@dataclasses.dataclass
class Settings:
    theme: str = DEFAULT_THEME
    # Binding id -> comma-separated keys, as Textual's App.set_keymap takes them.
    keymap: dict[str, str] = dataclasses.field(default_factory=dict)
    readonly_contexts: list[str] = dataclasses.field(default_factory=list)
    protected_contexts: list[str] = dataclasses.field(default_factory=list)
    log_buffer_lines: int = 10_000
    # Exec's last resort after bash and sh (shell words), e.g. "/busybox/sh" for distroless images.
    exec_shell: str = ""
    # Where port-forwards listen; anything but loopback exposes the pod to the network.
    port_forward_address: str = "127.0.0.1"
    # Every few seconds compare each tree widget with a fresh build; differences go to kdash.log.
    debug_selfcheck: bool = False
    # Also send every audit line to syslog/journald (facility authpriv, ident "kdash").
    audit_syslog: bool = False
    # Watched rollouts: verdict criteria and auto_undo, under "*" (every context) and per context
    # name (kdash/core/verdict.py Criteria); checked when a watch opens.
    rollout_watch: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Problems found while loading, shown once in the app instead of failing.
    warnings: list[str] = dataclasses.field(default_factory=list)


def settings_path() -> Path:
    return Path(os.environ.get(SETTINGS_ENV) or config_dir() / "settings.yaml")


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults, a malformed one gives defaults plus a warning."""
    path = path or settings_path()
    settings = Settings()
    try:
        if path.exists():
            # Anyone who may write it could lift a context's read-only protection.
            tighten(path.parent, PRIVATE_DIR_MODE)
            tighten(path, PRIVATE_FILE_MODE)
        raw = yaml.safe_load(path.read_text()) if path.exists() else None
    except (OSError, yaml.YAMLError) as exc:
        settings.warnings.append(f"{path}: ignored, cannot be read: {_one_line(exc)}")
        return settings
    if raw is None:
        return settings
    if not isinstance(raw, dict):
        settings.warnings.append(f"{path}: ignored, expected a mapping at the top level")
        return settings
    for field in dataclasses.fields(Settings):
        if field.name == "warnings" or field.name not in raw:
            continue
        value = raw[field.name]
        expected = type(getattr(settings, field.name))
        if field.name in NESTED_SETTINGS and isinstance(value, dict):
            setattr(settings, field.name, value)  # validated where it is used
        elif _valid(expected, value):
            setattr(settings, field.name, value)
        elif expected is dict and isinstance(value, dict):
            setattr(settings, field.name, {str(k): str(v) for k, v in value.items()})
        else:
            settings.warnings.append(f"{path}: ignored {field.name!r}: expected {expected.__name__}")
    unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(Settings)})
    if unknown:
        settings.warnings.append(f"{path}: unknown settings ignored: {', '.join(map(str, unknown))}")
    return settings


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


@dataclasses.dataclass(frozen=True)
class ThemeData:
    name: str
    fields: dict[str, Any]
    health: dict[str, str]


def _parse_theme(text: str, origin: str) -> ThemeData:
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or "primary" not in raw:
        raise ValueError(f"{origin}: a theme needs at least `name` and `primary`")
    health = raw.pop("health", {}) or {}
    if not isinstance(health, dict):
        raise ValueError(f"{origin}: `health` must be a mapping")
    fields = {k: v for k, v in raw.items() if k != "name"}
    return ThemeData(raw["name"], fields, {k: str(health.get(k, "")) for k in HEALTH_KEYS})


def load_themes() -> tuple[dict[str, ThemeData], list[str]]:
    """Bundled themes plus the user's ~/.config/kdash/themes/*.yaml; bad files are skipped with a warning."""
    themes: dict[str, ThemeData] = {}
    warnings: list[str] = []
    sources: list[tuple[str, str]] = []
    for entry in sorted(importlib.resources.files("kdash.themes").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            sources.append((f"bundled {entry.name}", entry.read_text()))
    user_dir = config_dir() / "themes"
    if user_dir.is_dir():
        for path in sorted(user_dir.glob("*.yaml")):
            try:
                sources.append((str(path), path.read_text()))
            except OSError as exc:
                warnings.append(f"{path}: {_one_line(exc)}")
    for origin, text in sources:
        try:
            theme = _parse_theme(text, origin)
        except ValueError as exc:
            warnings.append(f"theme skipped: {_one_line(exc)}")
        except yaml.YAMLError as exc:
            warnings.append(f"theme skipped: {origin}: {_one_line(exc)}")
            continue
        themes[theme.name] = theme
    return themes, warnings


def _valid(expected: type, value: object) -> bool:
    """A setting's value has its default's type (a positive int for ints; a list of strings for lists)."""
    if expected is bool or expected is str:
        return isinstance(value, expected)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    return expected is list and isinstance(value, list) and all(isinstance(v, str) for v in value)
