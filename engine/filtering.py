"""Contact filtering: the spec's demographic rules as data, and phone numbers in E.164.

No ``eval``: each rule is an operator from a fixed table applied to a contact field. A rule
that compares values of different kinds (a number with a string) does not hold; a missing field
holds only for ``ne``, ``not_in`` and ``exists = false``. Suppression matches *normalised phone
numbers*: ``(555) 010-1234``, ``+15550101234`` and ``1-555-010-1234`` are one number.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.spec import Rule

_MISSING = object()
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
Predicate = Callable[[Mapping[str, Any]], bool]


def _kind(value: Any) -> str | None:
    """What a value compares with: numbers with numbers, strings with strings, booleans alone."""
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "str"
    return None


def compile_rule(rule: Rule) -> Predicate:
    """``rule`` as a function of a contact's fields, built once per filter run."""
    name, op, wanted = rule.field, rule.op, rule.value
    if op == "exists":
        present = bool(wanted)
        return lambda f: (f.get(name) is not None) == present
    absent_holds = op in ("ne", "not_in")
    if op in ("in", "not_in"):
        buckets: dict[str | None, frozenset[Any]] = {}
        for v in wanted:
            buckets[_kind(v)] = buckets.get(_kind(v), frozenset()) | {v}
        inside = op == "in"

        def member(f: Mapping[str, Any]) -> bool:
            value = f.get(name)
            if value is None:
                return absent_holds
            return (value in buckets.get(_kind(value), ())) is inside

        return member
    kind = _kind(wanted)
    if op in ("eq", "ne"):
        equal = op == "eq"

        def same(f: Mapping[str, Any]) -> bool:
            value = f.get(name)
            if value is None:
                return absent_holds
            return (_kind(value) == kind and value == wanted) is equal

        return same
    compare = _ORDER[op]

    def ordered(f: Mapping[str, Any]) -> bool:
        value = f.get(name)
        return value is not None and _kind(value) == kind and compare(value, wanted)

    return ordered


def compile_rules(rules: Iterable[Rule]) -> Predicate:
    """All of ``rules`` as one function of a contact's fields (no rules: everyone matches)."""
    predicates = tuple(compile_rule(r) for r in rules)
    if len(predicates) == 1:
        return predicates[0]
    return lambda f: all(p(f) for p in predicates)


NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")
"""A North American number already in E.164: returned as it is, without parsing.

``phonenumbers`` costs tens of microseconds a number and most contact lists are already clean;
a property test holds that this agrees with ``phonenumbers`` on every string it accepts.
"""


NANP_NATIONAL = re.compile(
    r"\(([2-9][0-9]{2})\) ?([2-9][0-9]{2})-([0-9]{4})"
    r"|(?:1-)?([2-9][0-9]{2})-([2-9][0-9]{2})-([0-9]{4})"
    r"|([2-9][0-9]{2})\.([2-9][0-9]{2})\.([0-9]{4})"
)
"""North American numbers written the three usual national ways: ``(415) 555-0123``,
``1-415-555-0123`` or ``415-555-0123``, and ``415.555.0123``. Taken without parsing only when
the default region dials with country code 1 (the same property test covers it)."""


class PhoneNormaliser:
    """Phone numbers to E.164 for one default region, with the reason when one cannot be."""

    def __init__(self, region: str) -> None:
        import phonenumbers  # noqa: PLC0415 - its metadata costs start-up; only a filter needs it

        self._numbers = phonenumbers
        self.region = region
        self._nanp = phonenumbers.country_code_for_region(region) == 1

    def normalise(self, raw: object) -> tuple[str | None, str | None]:
        """``(e164, None)``, or ``(None, reason)`` with reason ``phone_missing``,
        ``phone_unparseable`` or ``phone_impossible``."""
        if type(raw) is str:
            if NANP_E164.fullmatch(raw):
                return raw, None
            if self._nanp and (national := NANP_NATIONAL.fullmatch(raw)):
                return "+1" + "".join(g for g in national.groups() if g), None
        if not isinstance(raw, str) or not raw.strip():
            return None, "phone_missing"
        numbers = self._numbers
        try:
            number = numbers.parse(raw, self.region)
        except numbers.NumberParseException:
            return None, "phone_unparseable"
        if not numbers.is_possible_number(number):
            return None, "phone_impossible"
        return numbers.format_number(number, numbers.PhoneNumberFormat.E164), None
