"""The fold: pure, checked against the machine, with a digest that never drifts."""

from __future__ import annotations

import os
import subprocess
import sys

import attrs
import pytest

from engine import IllegalEvent, fold
from engine.aggregate import Builder, CampaignState, state_digest
from events import (
    ActivationRequested,
    ActivationSucceeded,
    CampaignDrafted,
    ContactsFiltered,
    Event,
    FieldProblem,
    FilterRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
)

HAPPY: list[Event] = [
    CampaignDrafted({"name": "n", "campaign_id": "cmp-1"}),
    ValidationRequested("v1"),
    ValidationPassed("v1", 0, 4, {"name": "before"}, 12.5),
    FilterRequested("f1"),
    ContactsFiltered("f1", (), 10, 9, 1, 8, {"suppressed": 1}, "sha256:ab", 3.0),
    ActivationRequested("a1", 1, 4, "sha256:cd"),
    ActivationSucceeded("a1", 5, 40.0),
]
# Computed once and kept: if these change, every journal's recorded state digests stop
# matching (scheme 1: every release before the skill's start was a step; 2: until the ACD
# upload was a step; 3: since).
GOLDEN = "sha256:37d1d223f12b22db4283c6c2eb7d6f7cfda262fc06915567815a498d7c892cea"
GOLDEN_2 = "d2:sha256:596b57eecba9b2fa091340a329796e92b8b98a6521606896dec3cf5c94db7ede"
GOLDEN_3 = "d3:sha256:0b311b1d5c4235167db5fa29844940eae5cd68b2f02922e177fcd85ff3c5fe5f"


def test_the_happy_path_folds_to_active() -> None:
    state = fold("c1", HAPPY)
    assert (state.state, state.version, state.active_version, state.eligible) == ("active", 7, 5, 8)
    assert state.pending is None
    assert state.remote_version == 5


def test_an_open_intent_is_pending() -> None:
    state = fold("c1", HAPPY[:6])
    assert state.state == "activating"
    assert state.pending is not None
    assert (state.pending.step, state.pending.expected_version) == ("activation", 4)


def test_the_digest_is_golden() -> None:
    assert state_digest(fold("c1", HAPPY), 1) == GOLDEN
    assert state_digest(fold("c1", HAPPY), 2) == GOLDEN_2
    assert fold("c1", HAPPY).digest() == GOLDEN_3


def test_the_digest_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = (
        "from tests.unit.engine.test_aggregate import HAPPY; from engine import fold; "
        "from engine.aggregate import state_digest; "
        "print(state_digest(fold('c1', HAPPY), 1), fold('c1', HAPPY).digest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == [GOLDEN, GOLDEN_3]


def test_folding_in_pieces_equals_folding_at_once() -> None:
    half = fold("c1", HAPPY[:3])
    assert fold("c1", HAPPY[3:], start=half) == fold("c1", HAPPY)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (HAPPY[1:2], "must begin with campaign.drafted"),
        (HAPPY[:1] + HAPPY[:1], "drafted already"),
        (HAPPY[:1] + HAPPY[3:4], "filter.requested is not allowed in state 'draft'"),
        (HAPPY[:1] + HAPPY[2:3], "has no open intent"),
        (HAPPY[:2] + HAPPY[1:2], r"while step 'v1' \(validation\) is open"),
        ([*HAPPY[:2], ValidationPassed("other", 0, 4, {}, 1.0)], "has no open intent"),
    ],
)
def test_illegal_sequences_are_refused(events: list[Event], message: str) -> None:
    with pytest.raises(IllegalEvent, match=message):
        fold("c1", events)


def test_a_failed_validation_stays_in_draft_with_its_problems() -> None:
    state = fold("c1", [*HAPPY[:2], ValidationFailed("v1", (FieldProblem("a", "b"),), True, 1.0)])
    assert state.state == "draft"
    assert state.problems == (FieldProblem("a", "b"),)
    assert state.last_error == "a: b"


def test_states_are_frozen() -> None:
    state = fold("c1", HAPPY)
    with pytest.raises(AttributeError):
        state.state = "draft"  # type: ignore[misc]
    assert isinstance(state, CampaignState)


def test_the_builder_mirrors_the_state_field_for_field() -> None:
    assert [f.name for f in attrs.fields(Builder)] == [f.name for f in attrs.fields(CampaignState)]
    assert Builder.thaw(None, "c9").freeze() == CampaignState("c9", 0, "", "", {})
    # freeze() fills the slots directly, which is only right while nothing checks them.
    assert all(f.validator is None and f.converter is None for f in attrs.fields(CampaignState))
    assert not hasattr(CampaignState, "__attrs_post_init__")
