"""The demographic filter as data, and phone numbers normalised before suppression."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.filtering import (
    NANP_E164,
    NANP_NATIONAL,
    PhoneNormaliser,
    compile_rule,
    compile_rules,
)
from engine.spec import Rule

CONTACT = {"region": "west", "age": 30, "vip": True, "score": 4.5, "blank": None}


@pytest.mark.parametrize(
    ("rule", "holds"),
    [
        (Rule("region", "eq", "west"), True),
        (Rule("region", "eq", "east"), False),
        (Rule("region", "ne", "east"), True),
        (Rule("missing", "ne", "x"), True),
        (Rule("region", "in", ("east", "west")), True),
        (Rule("region", "not_in", ("west",)), False),
        (Rule("missing", "not_in", ("west",)), True),
        (Rule("missing", "in", ("west",)), False),
        (Rule("age", "ge", 30), True),
        (Rule("age", "gt", 30), False),
        (Rule("age", "lt", 30.5), True),
        (Rule("age", "le", 29), False),
        (Rule("score", "ge", 4), True),
        (Rule("age", "ge", "30"), False),  # a number never compares with a string
        (Rule("age", "eq", 30.0), True),
        (Rule("vip", "eq", 1), False),  # nor a boolean with 1
        (Rule("vip", "eq", True), True),
        (Rule("region", "gt", "east"), True),
        (Rule("age", "exists", True), True),
        (Rule("blank", "exists", True), False),
        (Rule("missing", "exists", False), True),
        (Rule("missing", "lt", 5), False),
    ],
)
def test_rules(rule: Rule, holds: bool) -> None:
    assert compile_rule(rule)(CONTACT) is holds


def test_all_rules_must_hold_and_none_means_everyone() -> None:
    assert compile_rules([])({})
    assert compile_rules([Rule("region", "eq", "west"), Rule("age", "ge", 18)])(CONTACT)
    assert not compile_rules([Rule("region", "eq", "west"), Rule("age", "ge", 40)])(CONTACT)


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 555-0123",
        "+14155550123",
        "1-415-555-0123",
        "415.555.0123",
        " +1 415 555 0123 ",
        "tel:+1-415-555-0123",
    ],
)
def test_one_number_in_many_formats_normalises_to_one(raw: str) -> None:
    assert PhoneNormaliser("US").normalise(raw) == ("+14155550123", None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "phone_missing"),
        ("", "phone_missing"),
        (12345, "phone_missing"),
        ("call me", "phone_unparseable"),
        ("123", "phone_impossible"),
    ],
)
def test_numbers_that_cannot_be_used_say_why(raw: Any, reason: str) -> None:
    assert PhoneNormaliser("US").normalise(raw) == (None, reason)


def test_the_default_region_reads_national_numbers() -> None:
    assert PhoneNormaliser("GB").normalise("020 7946 0018") == ("+442079460018", None)


def _slow(raw: str, region: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None, "phone_unparseable"
    if not phonenumbers.is_possible_number(number):
        return None, "phone_impossible"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


@settings(max_examples=1000)
@given(
    st.from_regex(NANP_E164, fullmatch=True) | st.text(alphabet="+0123456789", max_size=14),
    st.sampled_from(["US", "CA", "GB", "DE", "IN"]),
)
def test_the_fast_path_agrees_with_phonenumbers_on_all_it_accepts(raw: str, region: str) -> None:
    if NANP_E164.fullmatch(raw):
        assert PhoneNormaliser(region).normalise(raw) == _slow(raw, region)


@settings(max_examples=1000)
@given(
    st.from_regex(NANP_NATIONAL, fullmatch=True),
    st.sampled_from(["US", "CA", "PR", "JM", "GB", "FR"]),
)
def test_the_national_fast_path_agrees_with_phonenumbers(raw: str, region: str) -> None:
    assert PhoneNormaliser(region).normalise(raw) == _slow(raw, region)
