"""Label selectors as apimachinery parses and matches them, and the one equality-map matcher."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kdash.core.objects import labels as object_labels

# Operators, as apimachinery's labels.Selector spells them.
EXISTS = "exists"
NOT_EXISTS = "!"
EQUALS = "="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
GREATER = ">"
LESS = "<"

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_NAME_RE = re.compile(rf"^{_NAME}$")
_VALUE_RE = re.compile(rf"^(?:{_NAME})?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Requirement:
    """One clause of a selector, e.g. `tier in (web,api)`."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == EXISTS:
            return present
        if self.operator == NOT_EXISTS:
            return not present
        if self.operator in (EQUALS, IN):
            return present and value in self.values
        if self.operator in (NOT_EQUALS, NOT_IN):
            # Like kubectl: "a!=b" also matches objects without label a.
            return not present or value not in self.values
        return present and _compare_int(value, self.values[0], self.operator)

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == NOT_EXISTS:
            return f"!{self.key}"
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


def _compare_int(value: str | None, bound: str, operator: str) -> bool:
    # apimachinery parses both sides as integers and treats an unparsable label as no match.
    try:
        left = int(value or "")
    except ValueError:
        return False
    right = int(bound)
    return left > right if operator == GREATER else left < right


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


class _Scanner:
    """Tokenizer-free recursive descent over the selector text, tracking the position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> ValueError:
        return ValueError(f"invalid label selector {self.text!r}: {message} (at position {self.pos})")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_spaces()
        return self.pos >= len(self.text)

    def peek(self, literal: str) -> bool:
        self.skip_spaces()
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def word(self) -> str:
        """Read up to the next space, comma, parenthesis or operator character."""
        self.skip_spaces()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t\n,()=!<>":
            self.pos += 1
        return self.text[start:self.pos]


def parse_selector(text: str | None) -> Selector:
    """Parse kubectl's label selector syntax.

    Supports `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`, `a>1`, `a<1`,
    joined by commas. Raises ValueError with the position of the first problem.
    """
    scanner = _Scanner(text or "")
    requirements: list[Requirement] = []
    if scanner.at_end():
        return Selector()
    while True:
        requirements.append(_parse_requirement(scanner))
        if scanner.at_end():
            return Selector(tuple(requirements))
        if not scanner.take(","):
            raise scanner.error(f"expected ',' between requirements, found {scanner.text[scanner.pos]!r}")
        if scanner.at_end():
            raise scanner.error("expected a requirement after ','")


def _parse_requirement(scanner: _Scanner) -> Requirement:
    if scanner.take("!"):
        key = _parse_key(scanner)
        if not (scanner.at_end() or scanner.peek(",")):
            raise scanner.error(f"'!{key}' takes no operator or value")
        return Requirement(key, NOT_EXISTS)
    key = _parse_key(scanner)
    if scanner.at_end() or scanner.peek(","):
        return Requirement(key, EXISTS)
    for literal, operator in (("==", EQUALS), ("!=", NOT_EQUALS), ("=", EQUALS), (">", GREATER), ("<", LESS)):
        if scanner.take(literal):
            return Requirement(key, operator, (_parse_value(scanner, key, operator),))
    word = scanner.word()
    if word in (IN, NOT_IN):
        return Requirement(key, word, _parse_set(scanner, key))
    found = word or scanner.text[scanner.pos:scanner.pos + 1]
    raise scanner.error(f"expected one of '=', '==', '!=', 'in', 'notin', '>', '<' after key {key!r}, found {found!r}")


def _parse_key(scanner: _Scanner) -> str:
    key = scanner.word()
    if not key:
        found = scanner.text[scanner.pos:scanner.pos + 1] or "end of input"
        raise scanner.error(f"expected a label key, found {found!r}")
    problem = key_problem(key)
    if problem:
        raise scanner.error(problem)
    return key


def _parse_value(scanner: _Scanner, key: str, operator: str) -> str:
    value = scanner.word()
    if operator in (GREATER, LESS):
        if not re.fullmatch(r"-?\d+", value):
            raise scanner.error(f"'{key}{operator}' needs an integer value, found {value!r}")
        return value
    if scanner.peek("(") or scanner.peek("=") or scanner.peek("!"):
        raise scanner.error(f"unexpected {scanner.text[scanner.pos]!r} in the value for {key!r}")
    problem = value_problem(value)
    if problem:
        raise scanner.error(problem)
    return value


def _parse_set(scanner: _Scanner, key: str) -> tuple[str, ...]:
    if not scanner.take("("):
        raise scanner.error(f"expected '(' after 'in'/'notin' for key {key!r}")
    values: list[str] = []
    while True:
        value = scanner.word()
        problem = value_problem(value)
        if problem:
            raise scanner.error(problem)
        values.append(value)
        if scanner.take(")"):
            # apimachinery keeps empty members, so "in ()" means "in ('')".
            return tuple(sorted(set(values)))
        if not scanner.take(","):
            raise scanner.error(f"expected ',' or ')' in the value list for {key!r}")


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid label key (None when it is)."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix):
            return f"label key prefix {prefix!r} must be a DNS subdomain (e.g. 'example.com')"
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        return (f"label key {key!r} must be at most 63 characters of letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit")
    return None


def value_problem(value: str) -> str | None:
    """Why `value` is not a valid label value (None when it is; empty is valid)."""
    if len(value) > 63 or not _VALUE_RE.match(value):
        return (f"label value {value!r} must be at most 63 characters of letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit")
    return None


def selector_from_label_selector(spec: Mapping[str, Any] | None) -> Selector:
    """Build a Selector from a metav1.LabelSelector dict (matchLabels + matchExpressions).

    None or {} yields the empty selector (matches everything), as in the API.
    """
    spec = spec or {}
    requirements = [Requirement(k, EQUALS, (v,)) for k, v in sorted((spec.get("matchLabels") or {}).items())]
    operators = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": NOT_EXISTS}
    for expression in spec.get("matchExpressions") or ():
        operator = operators.get(expression.get("operator", ""))
        if operator is None:
            raise ValueError(f"unknown matchExpressions operator {expression.get('operator')!r}")
        values = tuple(sorted(expression.get("values") or ()))
        requirements.append(Requirement(expression.get("key", ""), operator, values))
    return Selector(tuple(requirements))


def selector_from_map(labels: Mapping[str, str] | None) -> Selector:
    """Equality selector from a plain map (Service.spec.selector, ReplicationController)."""
    return Selector(tuple(Requirement(k, EQUALS, (v,)) for k, v in sorted((labels or {}).items())))


def format_label_selector(spec: Mapping[str, Any] | None) -> str:
    """kubectl's FormatLabelSelector: "app=web,tier in (a,b)", "<none>" when empty."""
    text = str(selector_from_label_selector(spec))
    return text or "<none>"


def matches_selector(obj: Mapping[str, Any], selector: Mapping[str, str] | None) -> bool:
    """Equality-map selector match (Service.spec.selector); an empty selector matches nothing."""
    if not selector:
        return False
    return selector.items() <= object_labels(obj).items()
