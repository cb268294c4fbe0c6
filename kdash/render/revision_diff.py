"""Two revisions' pod templates as a unified YAML diff, with the changed fields named first."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from kdash.core.revision_diff import changed_fields, templates_for_diff
from kdash.core.rollout import revision_of


@dataclass(frozen=True)
class RevisionDiff:
    old: int
    new: int
    fields: tuple[str, ...]
    lines: tuple[str, ...]
    """Unified diff lines ("--- revision 2", "+++ revision 3", "@@ …", "-…", "+…", " …")."""


def revision_diff(old_rs: Mapping[str, Any], new_rs: Mapping[str, Any], context: int = 3) -> RevisionDiff:
    """The diff from `old_rs`'s template to `new_rs`'s (ReplicaSets of one Deployment)."""
    a, b = templates_for_diff(old_rs, new_rs)
    old, new = revision_of(old_rs), revision_of(new_rs)
    lines = difflib.unified_diff(_yaml(a), _yaml(b), f"revision {old}", f"revision {new}", n=context, lineterm="")
    return RevisionDiff(old, new, tuple(changed_fields(a, b)), tuple(lines))


def _yaml(template: Mapping[str, Any]) -> list[str]:
    return yaml.safe_dump(dict(template), sort_keys=True, default_flow_style=False, width=100,
                          allow_unicode=True).splitlines()
