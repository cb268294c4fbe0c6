"""Label selectors: kubectl syntax, errors, and metav1.LabelSelector dicts."""

from __future__ import annotations

import pytest

from kdash.core.labels import (
    format_label_selector,
    parse_selector,
    selector_from_label_selector,
    selector_from_map,
)

LABELS = {"app": "web", "tier": "frontend", "version": "3", "example.com/team": "a"}


@pytest.mark.parametrize(("text", "matches"), [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app = web", True),
    ("app=api", False),
    ("app!=api", True),
    ("app!=web", False),
    ("missing!=x", True),           # != also matches objects without the label
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("tier in (frontend,backend)", True),
    ("tier in (backend)", False),
    ("missing in (x)", False),
    ("tier notin (backend, db)", True),
    ("tier notin (frontend)", False),
    ("missing notin (x)", True),
    ("version>2", True),
    ("version<3", False),
    ("tier>2", False),              # a non-integer label never satisfies > or <
    ("example.com/team=a", True),
    ("app=web,tier in (frontend),!missing,version", True),
    ("app=web,tier=backend", False),
    ("app=", False),                # empty value is valid syntax and means ""
])
def test_selector_matches(text: str, matches: bool) -> None:
    assert parse_selector(text).matches(LABELS) is matches


def test_empty_value_matches_empty_label() -> None:
    assert parse_selector("app=").matches({"app": ""})


def test_selector_round_trips_to_text() -> None:
    selector = parse_selector("app=web, tier in (b,a) ,!x,y,z!=1,n>2")
    assert str(selector) == "app=web,tier in (a,b),!x,y,z!=1,n>2"
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize(("text", "message"), [
    ("app=web,", "expected a requirement after ','"),
    (",app", "expected a label key, found ','"),
    ("app in web", "expected '(' after 'in'/'notin'"),
    ("app in (a,b", "expected ',' or ')'"),
    ("app=a=b", "unexpected '='"),
    ("app=web tier=x", "expected ',' between requirements"),
    ("app>x", "needs an integer value"),
    ("-app=x", "label key '-app' must be"),
    ("app=-web-", "label value '-web-' must be"),
    ("Example.com/x=y", "prefix 'Example.com' must be a DNS subdomain"),
    ("!app=x", "'!app' takes no operator"),
    ("app ~ x", "expected one of"),
    ("a" * 64 + "=x", "at most 63 characters"),
])
def test_invalid_selectors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_selector(text)
    assert message in str(info.value)
    assert "invalid label selector" in str(info.value)


def test_label_selector_dict() -> None:
    spec = {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}
    selector = selector_from_label_selector(spec)
    assert selector.matches({"app": "web", "tier": "a"})
    assert not selector.matches({"app": "web", "tier": "a", "canary": "1"})
    assert format_label_selector(spec) == "app=web,tier in (a,b),!canary"
    assert format_label_selector(None) == "<none>"
    assert selector_from_label_selector({}).matches({"anything": "x"})
    with pytest.raises(ValueError, match="unknown matchExpressions operator"):
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Like"}]})


def test_map_selector() -> None:
    assert selector_from_map({"app": "web"}).matches({"app": "web", "x": "y"})
    assert not selector_from_map({"app": "web"}).matches({"app": "api"})
