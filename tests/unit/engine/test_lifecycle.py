"""The lifecycle table: every event type has its row and its effect, and the run's route
(what comes next, whether a campaign needs finishing) is read off the machine's conditions."""

from __future__ import annotations

import attrs
import pytest

from engine import CampaignState, IllegalEvent, PendingStep, fold, load_spec, machine
from engine.aggregate import EFFECTS
from engine.lifecycle import RULES, STEPS, needs_finishing, next_command, outcomes, worth_running
from events import REGISTRY, CampaignDrafted, Event, ValidationRequested
from tests.conftest import EXAMPLE_SPEC


def test_every_registered_event_has_a_lifecycle_row_and_an_effect() -> None:
    registered = set(REGISTRY)
    assert registered == set(RULES), "an event type without its row (or a row without a type)"
    assert registered == set(EFFECTS), "an event type without its effect in the fold"


def test_every_trigger_a_row_names_is_the_machines() -> None:
    triggers = set(machine.machine().events)
    assert {r.trigger for r in RULES.values() if r.trigger} <= triggers
    assert STEPS == {
        "validation": "validate",
        "filter": "filter",
        "upload": "upload_contacts",
        "activation": "activate",
        "rebase": "rebase",
        "webhook": "register_webhook",
        "dialing": "start_dialing",
    }
    assert all(outcomes(step) for step in STEPS), "a step that nothing can close"


def test_an_event_with_no_row_is_an_illegal_event_not_a_key_error() -> None:
    @attrs.frozen
    class Unlisted(Event):
        TYPE = "test.unlisted"

    with pytest.raises(IllegalEvent, match="Unlisted has no row in the lifecycle table"):
        fold("c1", [CampaignDrafted({"name": "x"}), Unlisted()])


def _state(**changes: object) -> CampaignState:
    spec = load_spec(EXAMPLE_SPEC).to_dict()
    base = CampaignState("c1", 3, "draft", "x", spec)
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "command"),
    [
        ({"state": "draft"}, "validate"),
        ({"state": "validated"}, "filter"),
        ({"state": "filtered"}, "activate"),
        ({"state": "active"}, "register_webhook"),
        ({"state": "active", "webhook_id": "wh-1"}, None),
        ({"state": "conflicted", "wants_active": True}, "rebase"),
        ({"state": "conflicted", "wants_active": False}, None),
        ({"state": "conflicted", "wants_active": True, "rebases": 3}, None),
        ({"state": "failed", "wants_active": True}, None),
        ({"state": "cancelled"}, None),
    ],
)
def test_what_a_run_does_next(changes: dict[str, object], command: str | None) -> None:
    assert next_command(_state(**changes)) == command


def test_an_open_step_is_settled_before_any_next_command() -> None:
    s = _state(state="draft", wants_active=True, pending=PendingStep("validation", "s1", 1))
    assert next_command(s) is None
    assert needs_finishing(s)
    assert worth_running(s)


@pytest.mark.parametrize(
    ("changes", "needed"),
    [
        ({"state": "draft", "wants_active": True}, True),
        ({"state": "draft", "wants_active": False}, False),
        ({"state": "active", "wants_active": True}, True),
        ({"state": "active", "wants_active": True, "webhook_id": "wh"}, False),
        ({"state": "conflicted", "wants_active": True, "rebases": 3}, False),
    ],
)
def test_which_campaigns_need_finishing(changes: dict[str, object], needed: bool) -> None:
    assert needs_finishing(_state(**changes)) is needed


def test_a_run_is_worth_asking_for_only_where_it_can_go() -> None:
    assert worth_running(_state(state="draft"))
    assert not worth_running(_state(state="active", webhook_id="wh"))
    assert not worth_running(_state(state="conflicted", rebases=3))
    assert worth_running(_state(state="conflicted"))


def test_the_intent_of_each_step_opens_it() -> None:
    s = fold("c1", [CampaignDrafted({"name": "x"}), ValidationRequested("s1")])
    assert s.pending is not None
    assert s.pending.step == "validation"
