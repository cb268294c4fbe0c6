"""Formatters: kubectl ages, timestamps, images, ports, sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kdash.core.values import parse_time, short_image
from kdash.render.format import (
    age,
    ago,
    human_duration,
    labels_text,
    ports_text,
    size_text,
    timestamp_text,
)

NOW = datetime(2021, 3, 1, 12, 0, 0, tzinfo=UTC)
S, M, H, D = 1, 60, 3600, 86400


# The first block is apimachinery's own TestHumanDuration table; the rest pins each boundary.
@pytest.mark.parametrize(("seconds", "expected"), [
    (1 * S, "1s"),
    (70 * S, "70s"),
    (190 * S, "3m10s"),
    (70 * M, "70m"),
    (47 * H, "47h"),
    (49 * H, "2d1h"),
    ((8 * 24 + 2) * H, "8d"),
    (367 * D, "367d"),
    ((365 * 2 * 24 + 25) * H, "2y1d"),
    ((365 * 8 * 24 + 2) * H, "8y"),
    (0, "0s"),
    (-1 * S, "0s"),
    (-1.5 * S, "0s"),
    (-2 * S, "<invalid>"),
    (119 * S, "119s"),
    (120 * S, "2m"),
    (330 * S, "5m30s"),
    (599 * S, "9m59s"),
    (600 * S, "10m"),
    (179 * M + 59, "179m"),
    (180 * M, "3h"),
    (3 * H + 5 * M, "3h5m"),
    (7 * H + 59 * M, "7h59m"),
    (8 * H, "8h"),
    (48 * H, "2d"),
    (7 * D + 23 * H, "7d23h"),
    (8 * D, "8d"),
    (2 * 365 * D, "2y"),
    (3 * 365 * D + 45 * D, "3y45d"),
    (12 * 365 * D, "12y"),
])
def test_human_duration_matches_kubectl(seconds: float, expected: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == expected


def test_age_of_timestamps() -> None:
    assert age("2021-03-01T11:55:00Z", NOW) == "5m"
    assert age("2021-03-01T11:58:30Z", NOW) == "90s"
    assert age(None, NOW) == "<unknown>"
    assert age("not a time", NOW) == "<unknown>"


@pytest.mark.parametrize("text", [
    "2021-03-01T10:00:00Z",
    "2021-03-01T10:00:00.000000Z",
    "2021-03-01T10:00:00.000000000Z",
    "2021-03-01T11:00:00+01:00",
    "2021-03-01T10:00:00",
])
def test_parse_time_accepts_api_variants(text: str) -> None:
    assert parse_time(text) == datetime(2021, 3, 1, 10, 0, tzinfo=UTC)


def test_parse_time_keeps_microseconds() -> None:
    parsed = parse_time("2021-03-01T10:59:01.123456Z")
    assert parsed is not None and parsed.microsecond == 123456


def test_ago_is_prose() -> None:
    assert ago("2021-03-01T11:57:00Z", NOW) == "3 minutes ago"
    assert ago(None, NOW) == "<unknown>"
    assert timestamp_text("2021-03-01T10:00:00Z", NOW) == "2021-03-01 10:00:00 UTC (2 hours ago)"


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx", "nginx"),
    ("nginx:1.21", "nginx:1.21"),
    ("docker.io/library/nginx:1.21", "nginx:1.21"),
    ("library/nginx", "nginx"),
    ("registry.example.com/acme/api:2.0", "acme/api:2.0"),
    ("localhost:5000/app:dev", "app:dev"),
    ("localhost/app", "app"),
    ("acme/api:2.0", "acme/api:2.0"),
    ("ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef", "acme/api@sha256:0123456789ab"),
    ("quay.io/org/img:1.0@sha256:abcdefabcdefabcdef", "org/img:1.0@sha256:abcdefabcdef"),
])
def test_short_image(image: str, expected: str) -> None:
    assert short_image(image) == expected


def test_ports_like_kubectl() -> None:
    assert ports_text([{"port": 80, "protocol": "TCP"}]) == "80/TCP"
    assert ports_text([{"port": 80, "protocol": "TCP", "nodePort": 30000},
                       {"port": 53, "protocol": "UDP"}]) == "80:30000/TCP,53/UDP"
    assert ports_text([{"port": 443}]) == "443/TCP"  # protocol defaults to TCP
    assert ports_text([]) == "<none>"
    assert ports_text(None) == "<none>"


def test_labels_and_sizes() -> None:
    assert labels_text({"tier": "web", "app": "shop"}) == "app=shop,tier=web"
    assert labels_text({}) == "<none>"
    assert size_text(12) == "12 Bytes"
    assert size_text(2048) == "2.0 KiB"
