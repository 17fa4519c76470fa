"""Label selectors (equality and set-based) and field selectors, parsed and matched like the API server."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_flink.testing.kube_emulator.resources import ResourceType, bad_request

_KEY_RE = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                     r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")  # fmt: skip
_VALUE_RE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SET_TERM_RE = re.compile(r"^\s*(?P<key>[^\s!=<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_OP_TERM_RE = re.compile(r"^\s*(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|!=|=|>|<)\s*(?P<value>[^\s!=<>(),]*)\s*$")
_EXISTS_TERM_RE = re.compile(r"^\s*(?P<neg>!?)\s*(?P<key>[^\s!=<>(),]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # in, notin, exists, !, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "in":
            return present and value in self.values
        if self.operator == "notin":
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        try:
            number, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.operator == "gt" else number < bound


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector; an empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """
        Parse ``a=b,c!=d,e in (x,y),f notin (z),g,!h`` (and ``==``, ``>``, ``<``).

        :raises ApiError: 400 BadRequest for a malformed selector.
        """
        if not text:
            return cls()
        requirements = [cls._parse_term(term) for term in _split_terms(text)]
        return cls(tuple(requirements))

    @staticmethod
    def _parse_term(term: str) -> Requirement:
        requirement: Requirement | None = None
        if match := _SET_TERM_RE.match(term):
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            requirement = Requirement(match["key"], match["op"], values)
        elif match := _OP_TERM_RE.match(term):
            op = {"=": "in", "==": "in", "!=": "notin", ">": "gt", "<": "lt"}[match["op"]]
            requirement = Requirement(match["key"], op, (match["value"],))
            if op in ("gt", "lt") and not match["value"].lstrip("-").isdigit():
                requirement = None
        elif match := _EXISTS_TERM_RE.match(term):
            requirement = Requirement(match["key"], "!" if match["neg"] else "exists")
        if requirement is None or not _KEY_RE.fullmatch(requirement.key):
            raise bad_request(f"unable to parse requirement: found '{term.strip()}', expected: a valid label selector")
        for value in requirement.values:
            if requirement.operator not in ("gt", "lt") and (len(value) > 63 or not _VALUE_RE.fullmatch(value)):
                raise bad_request(f"unable to parse requirement: values[0]: Invalid value: {value!r}")
        return requirement

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: ``path=value``, ``path==value`` and ``path!=value`` terms."""

    terms: tuple[tuple[str, bool, str], ...] = ()  # (path, equal, value)

    @classmethod
    def parse(cls, text: str | None, rt: ResourceType) -> FieldSelector:
        """
        Parse a field selector and check its fields are selectable for ``rt``.

        :raises ApiError: 400 BadRequest for a malformed selector or an unsupported field label.
        """
        if not text:
            return cls()
        terms = []
        for raw in re.split(r"(?<!\\),", text):
            term = raw.strip()
            if not term:
                continue
            match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", term)
            if match is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
            path, op, value = match[1].strip(), match[2], match[3].replace("\\,", ",").strip()
            if path not in ("metadata.name", "metadata.namespace") and path not in rt.field_labels:
                raise bad_request(f"field label not supported: {path}")
            terms.append((path, op != "!=", value))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)
