"""Scalar values of API objects: timestamps, image references, IntOrString fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

# Kubernetes writes RFC 3339 with "Z" and, for MicroTime (eventTime), 6 fractional digits;
# other producers may send up to 9, which datetime.fromisoformat refuses before Python 3.12.
_FRACTION = re.compile(r"\.(\d{1,9})")


def parse_time(value: str | None) -> datetime | None:
    """Parse an API timestamp ("2021-03-01T10:00:00Z") into an aware UTC datetime.

    Returns None for a missing or unparsable value, so callers can print "<unknown>".
    """
    if not value or not isinstance(value, str):
        return None
    return _parse_time(value)


# Every re-render (ages tick each second) parses the same creation timestamps again.
@lru_cache(maxsize=65536)
def _parse_time(value: str) -> datetime | None:
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def short_image(image: str) -> str:
    """Drop the registry host, Docker Hub's "library/" and most of a digest.

    "docker.io/library/nginx:1.21" → "nginx:1.21";
    "ghcr.io/acme/api@sha256:0123456789abcdef…" → "acme/api@sha256:0123456789ab".
    """
    name, at, digest = image.partition("@")
    first, slash, rest = name.partition("/")
    # Same rule as the Docker reference parser: a first component with "." or ":" (or
    # "localhost") is a registry host, otherwise it is part of the repository path.
    if slash and ("." in first or ":" in first or first == "localhost"):
        name = rest
    if name.startswith("library/"):
        name = name[len("library/"):]
    if at:
        algo, _, hexpart = digest.partition(":")
        name = f"{name}@{algo}:{hexpart[:12]}" if hexpart else f"{name}@{digest}"
    return name


def int_or_str(value: Any) -> str:
    """IntOrString fields (maxSurge, targetPort) as text."""
    return "" if value is None else str(value)
