"""Contact filtering: the spec's demographic rules as data, and phone numbers in E.164.

No ``eval``: each rule is an operator from a fixed table applied to a contact field. A rule
that compares values of different kinds (a number with a string) does not hold; a missing field
holds only for ``ne``, ``not_in`` and ``exists = false``. Suppression matches *normalised phone
numbers*: ``(555) 010-1234``, ``+15550101234`` and ``1-555-010-1234`` are one number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import phonenumbers

from engine.spec import Rule

_MISSING = object()
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _same_kind(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or type(a) is type(b)


def rule_holds(rule: Rule, fields: Mapping[str, Any]) -> bool:
    """Whether ``rule`` holds for a contact whose fields are ``fields``."""
    value = fields.get(rule.field, _MISSING)
    op = rule.op
    if op == "exists":
        return (value is not _MISSING and value is not None) == bool(rule.value)
    if value is _MISSING or value is None:
        return op in ("ne", "not_in")
    if op == "eq":
        return _same_kind(value, rule.value) and value == rule.value
    if op == "ne":
        return not (_same_kind(value, rule.value) and value == rule.value)
    if op in ("in", "not_in"):
        found = any(_same_kind(value, v) and value == v for v in rule.value)
        return found if op == "in" else not found
    compare = _ORDER[op]
    return _same_kind(value, rule.value) and compare(value, rule.value)


def matches(rules: Iterable[Rule], fields: Mapping[str, Any]) -> bool:
    """Whether every rule holds (no rules: every contact matches)."""
    return all(rule_holds(r, fields) for r in rules)


class PhoneNormaliser:
    """Phone numbers to E.164 for one default region, with the reason when one cannot be."""

    def __init__(self, region: str) -> None:
        self.region = region

    def normalise(self, raw: object) -> tuple[str | None, str | None]:
        """``(e164, None)``, or ``(None, reason)`` with reason ``phone_missing``,
        ``phone_unparseable`` or ``phone_impossible``."""
        if not isinstance(raw, str) or not raw.strip():
            return None, "phone_missing"
        try:
            number = phonenumbers.parse(raw, self.region)
        except phonenumbers.NumberParseException:
            return None, "phone_unparseable"
        if not phonenumbers.is_possible_number(number):
            return None, "phone_impossible"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
