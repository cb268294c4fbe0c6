"""Lines that are no object: why a view shows less than expected (forbidden, not served, no matches)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from kdash.core.kinds import KINDS_BY_NAME
from kdash.render.tree import Node, notice_node

# Reflector states that leave a kind's part of a view empty for a reason the user must see.
ACCESS_STATES = ("forbidden", "unavailable")


def plural(kind: str) -> str:
    """The resource name of a kind ("ingresses"; Endpoints is already plural)."""
    known = KINDS_BY_NAME.get(kind)
    if known is not None:
        return known.plural
    return kind.lower() if kind.endswith("s") else f"{kind.lower()}s"


Problem = tuple[str, str | None, str]
"""(kind, namespace, state)."""


def access_problems(states: Mapping[tuple[str, str | None], Any], kinds: Collection[str]) -> list[Problem]:
    """(kind, namespace, state) of `kinds` the user may not list or the server does not serve."""
    return sorted(((kind, ns, sync.state) for (kind, ns), sync in states.items()
                   if kind in kinds and sync.state in ACCESS_STATES), key=str)


def access_notices(problems: list[Problem]) -> list[Node]:
    """A line per forbidden (kind, namespace), one per kind the server does not serve: an empty view
    must not look like an empty cluster."""
    notices: dict[str, Node] = {}
    for kind, ns, state in problems:
        if state == "unavailable":
            notices.setdefault(f"unavailable/{kind}", notice_node(
                f"unavailable/{kind}", f"{plural(kind)}: unavailable (this API server does not serve them)", "none"))
        else:
            notices[f"forbidden/{kind}/{ns}"] = notice_node(
                f"forbidden/{kind}", f"forbidden: cannot list {plural(kind)} "
                                     f"{f'in ns {ns}' if ns else 'in any namespace'}", "error")
    return list(notices.values())
