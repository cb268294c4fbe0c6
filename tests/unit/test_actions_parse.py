"""User input of the write actions: replica counts and image references, valid and invalid."""

from __future__ import annotations

import pytest

from kdash.actions.image import InvalidImage, parse_image
from kdash.actions.scale import MAX_REPLICAS, InvalidReplicas, check_replicas, parse_replicas
from kdash.errors import KdashError


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("3", 3), (" 12 ", 12), ("007", 7), ("10000", 10_000), ("0000000000003", 3),
])
def test_parse_replicas_accepts_whole_numbers_in_range(text: str, expected: int) -> None:
    assert parse_replicas(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "enter a number"),
    ("   ", "enter a number"),
    ("-1", "negative"),
    ("abc", "not a whole number"),
    ("1.5", "not a whole number"),
    ("+3", "not a whole number"),
    ("3 4", "not a whole number"),
    ("１２", "not a whole number"),  # full-width digits: int() would take them
    ("10001", f"more than {MAX_REPLICAS}"),
    ("99999", f"more than {MAX_REPLICAS}"),
    ("9" * 5000, f"more than {MAX_REPLICAS}"),  # int() itself refuses >4300 digits
])
def test_parse_replicas_rejects_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReplicas) as info:
        parse_replicas(text)
    assert isinstance(info.value, KdashError)
    assert info.value.title == "Invalid replicas"
    assert fragment in info.value.message
    assert len(info.value.message) < 120


@pytest.mark.parametrize("value", [-1, 10_001, True, 1.0, "3"])
def test_check_replicas_guards_programmatic_callers(value: object) -> None:
    with pytest.raises(InvalidReplicas):
        check_replicas(value)  # type: ignore[arg-type]


DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("ref", [
    "nginx",
    "nginx:1.25",
    "nginx:1.25.3-alpine",
    "library/nginx:latest",
    "docker.io/library/nginx:1.25",
    "registry.example.com:5000/team/app:v1",
    "localhost:5000/app",
    "localhost/app:dev",
    "Registry.Example.com/app:1",  # the registry part may be upper case, the repository not
    "[::1]:5000/app:1",
    "my_app:1",
    "my__app:1",
    "my--app:1",
    "a.b-c/d_e/f:TAG_with.dots-1",
    "my-registry.io/a__b/c.d:1",
    f"nginx@{DIGEST}",
    f"nginx:1.25@{DIGEST}",
    "ghcr.io/org/sub/app:" + "t" * 128,
    "localhost:5000",  # name "localhost" with tag "5000", as docker reads it
])
def test_parse_image_accepts_docker_references(ref: str) -> None:
    assert parse_image(ref) == ref


def test_parse_image_strips_surrounding_blanks() -> None:
    assert parse_image("  nginx:1.25\n") == "nginx:1.25"


@pytest.mark.parametrize(("ref", "fragment"), [
    ("", "enter an image"),
    ("   ", "enter an image"),
    ("nginx :1.25", "space"),
    ("ngi nx", "space"),
    ("NGINX", "lowercase"),
    ("library/Nginx:1", "lowercase"),
    ("nginx:", "tag after ':' is empty"),
    (":1.25", "repository name before the tag or digest is empty"),
    ("a//b", "empty path component"),
    ("/nginx", "empty path component"),
    ("nginx/", "empty path component"),
    ("nginx:-bad", "tag '-bad' is invalid"),
    ("nginx:.bad", "tag '.bad' is invalid"),
    ("nginx:" + "t" * 129, "is invalid"),
    ("nginx:a:b", "not a valid repository name component"),
    ("a.b_c/app:1", "not a valid host[:port]"),  # a first component with a dot is a registry
    ("nginx@sha256:abc", "digest"),
    ("nginx@md5:" + "a" * 32, "digest"),
    ("nginx@sha256:" + "A" * 64, "digest"),
    ("nginx@", "digest"),
    ("-nginx", "not a valid repository name component"),
    ("ng!nx", "not a valid repository name component"),
    ("nginx_", "not a valid repository name component"),
    ("bad_host.com:abc/app", "not a valid host[:port]"),
    ("a" * 256, "longer than 255"),
])
def test_parse_image_rejects_with_a_clear_message(ref: str, fragment: str) -> None:
    with pytest.raises(InvalidImage) as info:
        parse_image(ref)
    assert info.value.title == "Invalid image"
    assert fragment in info.value.message
