"""The event codec: canonical JSON out, strict checks in, upcasting of old schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import (
    CODEC,
    REGISTRY,
    ActivationRequested,
    Event,
    EventCodec,
    EventDecodeError,
    EventRegistry,
    FieldProblem,
    RegistryError,
    ValidationFailed,
    canonical_json,
)
from tests.strategies import instances, json_values

ALL_EVENTS = sorted(REGISTRY, key=lambda cls: cls.TYPE)


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
@given(data=st.data())
def test_every_event_round_trips_through_canonical_json(
    cls: type[Event],
    data: st.DataObject,
) -> None:
    event = data.draw(instances(cls))
    type_, schema, text = CODEC.encode(event)
    assert (type_, schema) == (cls.TYPE, cls.SCHEMA)
    assert text == canonical_json(json.loads(text)), "encoding is canonical"
    assert CODEC.decode(type_, schema, text) == event


def test_type_strings_are_stable() -> None:
    # Stored journals depend on these strings: renaming one breaks every old journal.
    assert [cls.TYPE for cls in ALL_EVENTS] == [
        "activation.conflicted",
        "activation.failed",
        "activation.requested",
        "activation.succeeded",
        "campaign.cancelled",
        "campaign.drafted",
        "campaign.revised",
        "conflict.resolved",
        "contacts.uploaded",
        "dialing.failed",
        "dialing.requested",
        "dialing.started",
        "filter.completed",
        "filter.failed",
        "filter.requested",
        "rebase.completed",
        "rebase.failed",
        "rebase.requested",
        "run.requested",
        "upload.failed",
        "upload.requested",
        "validation.failed",
        "validation.passed",
        "validation.requested",
        "webhook.failed",
        "webhook.registered",
        "webhook.requested",
    ]


def test_canonical_json_sorts_keys_and_refuses_nan() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"x": float("nan")})


def test_encoding_a_nan_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_ms: expected a finite number, found nan"):
        CODEC.encode(ValidationFailed("s", (), True, float("nan")))


GOOD = {"step_id": "s1", "attempt": 1, "expected_version": 3, "payload_digest": "sha256:x"}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "attempt"}, "attempt", "missing"),
        ({**GOOD, "extra": 1}, "extra", "not a field of this event"),
        ({**GOOD, "attempt": "1"}, "attempt", "expected an integer, found a string"),
        ({**GOOD, "attempt": True}, "attempt", "expected an integer, found a boolean"),
        ({**GOOD, "attempt": 1.0}, "attempt", "expected an integer, found a number"),
        ({**GOOD, "step_id": None}, "step_id", "expected a string, found null"),
    ],
)
def test_decode_names_the_type_and_the_field(
    payload: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(EventDecodeError) as caught:
        CODEC.decode("activation.requested", 1, json.dumps(payload))
    assert caught.value.type == "activation.requested"
    assert caught.value.field == field
    assert message in str(caught.value)
    assert "activation.requested" in str(caught.value)


def test_decode_names_a_nested_field_path() -> None:
    payload = {
        "step_id": "s",
        "retryable": False,
        "latency_ms": 1,
        "problems": [{"path": "a", "message": "m"}, {"path": "b", "message": 7}],
    }
    with pytest.raises(EventDecodeError, match=r"field 'problems\[1\]\.message': expected a str"):
        CODEC.decode("validation.failed", 1, json.dumps(payload))


def test_decode_accepts_integers_for_float_fields() -> None:
    payload = {"step_id": "s", "retryable": False, "latency_ms": 3, "problems": []}
    assert CODEC.decode("validation.failed", 1, json.dumps(payload)).latency_ms == 3.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("type_", "text", "message"),
    [
        ("no.such.event", "{}", "unknown event type"),
        ("activation.requested", "{not json", "payload is not JSON"),
        ("activation.requested", "[1, 2]", "payload must be an object, found a list"),
        ("activation.requested", "NaN", "payload must be an object"),
    ],
)
def test_decode_refuses_what_is_not_an_event(type_: str, text: str, message: str) -> None:
    with pytest.raises(EventDecodeError, match=message):
        CODEC.decode(type_, 1, text)


def test_nested_values_decode_to_their_classes() -> None:
    event = ValidationFailed("s", (FieldProblem("a.b", "bad", 3),), False, 1.5)
    decoded = CODEC.decode(*CODEC.encode(event))
    assert isinstance(decoded, ValidationFailed)
    assert decoded.problems == (FieldProblem("a.b", "bad", 3),)


# --- schema versions -------------------------------------------------------------------------


def _registry_with_v2() -> tuple[EventRegistry, type[Event]]:
    registry = EventRegistry()

    @registry.event("test.priced", schema=2)
    @attrs.frozen
    class Priced(Event):
        amount_cents: int
        currency: str

    @registry.upcaster("test.priced", from_schema=1)
    def _cents(payload: dict[str, Any]) -> dict[str, Any]:
        # v1 stored {"amount": 12.5} in dollars, with no currency.
        return {"amount_cents": round(payload.pop("amount") * 100), "currency": "USD"}

    return registry, Priced


def test_an_old_schema_is_upcast_on_read() -> None:
    registry, priced = _registry_with_v2()
    event = EventCodec(registry).decode("test.priced", 1, '{"amount": 12.5}')
    assert event == priced(amount_cents=1250, currency="USD")  # type: ignore[call-arg]


def test_a_newer_schema_is_refused_with_advice() -> None:
    registry, _ = _registry_with_v2()
    with pytest.raises(EventDecodeError, match="schema 3 is newer than this cxpreview reads"):
        EventCodec(registry).decode("test.priced", 3, "{}")


def test_a_missing_upcaster_is_named() -> None:
    registry = EventRegistry()

    @registry.event("test.thing", schema=3)
    @attrs.frozen
    class Thing(Event):
        x: int

    with pytest.raises(EventDecodeError, match="no upcaster from schema 1 to 2"):
        EventCodec(registry).decode("test.thing", 1, '{"x": 1}')


def test_one_type_string_cannot_name_two_classes() -> None:
    registry = EventRegistry()

    @registry.event("test.one")
    @attrs.frozen
    class One(Event):
        pass

    with pytest.raises(RegistryError, match="already"):

        @registry.event("test.one")
        @attrs.frozen
        class Other(Event):
            pass


def test_naive_datetimes_are_refused_and_aware_ones_stored_as_utc() -> None:
    registry = EventRegistry()

    @registry.event("test.timed")
    @attrs.frozen
    class Timed(Event):
        at: datetime

    codec = EventCodec(registry)
    with pytest.raises(ValueError, match="naive"):
        codec.encode(Timed(datetime(2026, 1, 1)))
    aware = Timed(datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert codec.encode(aware)[2] == '{"at":"2026-01-01T12:00:00Z"}'
    assert codec.decode(*codec.encode(aware)) == aware
    with pytest.raises(EventDecodeError, match="UTC timestamp"):
        codec.decode("test.timed", 1, '{"at": "2026-01-01T12:00:00+02:00"}')


def test_an_unregistered_class_cannot_be_encoded() -> None:
    @attrs.frozen
    class Stray(ActivationRequested):
        pass

    with pytest.raises(ValueError, match="not registered"):
        CODEC.encode(Stray("s", 1, 1, "d"))


@given(json_values)
def test_canonical_json_is_what_the_public_encoder_writes(value: Any) -> None:
    # canonical_json calls CPython's C encoder directly (for speed); it must agree exactly.
    public = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json({"v": value}) == '{"v":' + public + "}"


@pytest.mark.parametrize(
    ("event", "where"),
    [
        (ActivationRequested("s", "1", 3, "d"), "ActivationRequested.attempt: expected an integer"),  # type: ignore[arg-type]
        (
            ActivationRequested("s", True, 3, "d"),
            "ActivationRequested.attempt: expected an integer",
        ),
        (
            ValidationFailed("s", (FieldProblem("p", 5),), True, 1.0),  # type: ignore[arg-type]
            r"ValidationFailed.problems\[0\].message: expected a string",
        ),
    ],
)
def test_an_event_that_could_not_be_read_back_is_never_encoded(event: Event, where: str) -> None:
    with pytest.raises(ValueError, match=where):
        CODEC.encode(event)
