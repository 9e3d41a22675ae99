"""The engine, a real SQLite journal and the real HTTP gateway, against the simulator in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.cxone import HttpCXoneGateway
from adapters.simulator import Dataset, Simulator
from engine import Engine, StepInDoubt, load_spec, verify
from journal import SQLiteJournal
from tests.adapters.conftest import make_gateway
from tests.conftest import EXAMPLE_SPEC, RecordedTime, sequential_ids


@pytest.fixture
def sim(time_: RecordedTime) -> Simulator:
    return Simulator(Dataset(seed=11, contacts=2600, suppressions=400), clock=time_.clock)


@pytest.fixture
def engine(tmp_path: Path, sim: Simulator, time_: RecordedTime) -> Iterator[Engine]:
    gateway: HttpCXoneGateway = make_gateway(sim, time_)
    with SQLiteJournal(tmp_path / "j.db") as journal:
        yield Engine(journal, gateway, ids=sequential_ids())
    gateway.close()


def test_to_active_with_one_put_and_one_webhook(engine: Engine, sim: Simulator) -> None:
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
    assert campaign.state == "active"
    assert len(sim.applied_puts("cmp-1001")) == 1
    assert sim.campaigns["cmp-1001"]["version"] == 5
    assert sim.campaigns["cmp-1001"]["name"] == "Spring renewals - west"
    assert len(sim.webhooks) == 1
    assert verify(engine.journal).ok
    # Again, for a second campaign on the same remote one: CXone holds that configuration
    # already, so its plan is empty and nothing is sent; the webhook is found, not duplicated.
    second = engine.draft(load_spec(EXAMPLE_SPEC)).run()
    assert second.state == "active"
    assert len(sim.webhooks) == 1
    assert len(sim.applied_puts("cmp-1001")) == 1
    intent, outcome = (h.event for h in engine.history(second.id)[6:8])
    assert intent.plan == ()  # type: ignore[attr-defined]
    assert (outcome.how, outcome.new_version) == ("unchanged", 5)  # type: ignore[attr-defined]


def test_the_filter_counts_against_the_simulators_data(engine: Engine, sim: Simulator) -> None:
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).validate().filter()
    filtered = engine.history(campaign.id)[-1].event
    assert filtered.total == 2600  # type: ignore[attr-defined]
    excluded = filtered.excluded  # type: ignore[attr-defined]
    assert set(excluded) <= {
        "filter",
        "suppressed",
        "phone_missing",
        "phone_unparseable",
        "phone_impossible",
    }
    assert excluded["suppressed"] > 0, "suppressions written in other formats still match"
    assert filtered.eligible == 2600 - sum(excluded.values())  # type: ignore[attr-defined]


def test_someone_elses_edit_before_the_put_conflicts_and_is_not_overwritten(
    engine: Engine, sim: Simulator
) -> None:
    sim.faults.add("put_campaign", "concurrent_edit")  # they rename it; so does our spec
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
    assert campaign.state == "conflicted"
    assert sim.campaigns["cmp-1001"]["name"].endswith("(edited)")
    assert sim.applied_puts() == []
    events = {e.type: e.event for e in engine.history(campaign.id)}
    conflicted = events["activation.conflicted"]
    assert (conflicted.expected_version, conflicted.remote_version) == (4, 5)  # type: ignore[attr-defined]
    rebased = events["rebase.completed"]
    assert not rebased.merged  # type: ignore[attr-defined]
    assert [c.path for c in rebased.conflicts] == ["name"]  # type: ignore[attr-defined]
    assert [p.path for p in campaign.problems] == ["name"]
    assert not campaign.wants_active, "an operator decides now"


def test_storms_on_every_read_are_ridden_out(
    engine: Engine, sim: Simulator, time_: RecordedTime
) -> None:
    for route in ("campaigns", "campaign", "contacts", "suppressions", "webhooks"):
        sim.faults.add(route, "rate_limit", times=2, seconds=2)
        sim.faults.add(route, "status", status=503, times=1)
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
    assert campaign.state == "active"
    assert len(time_.sleeps) == 15


def test_a_put_that_dies_with_a_500_leaves_the_activation_in_doubt(
    engine: Engine, sim: Simulator
) -> None:
    sim.faults.add("put_campaign", "status", status=500)
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).validate().filter()
    with pytest.raises(StepInDoubt, match="may or may not have been applied"):
        campaign.activate()
    assert campaign.refresh().state == "activating"
    assert verify(engine.journal).ok


def test_outcomes_record_how_often_their_requests_were_retried(
    engine: Engine, sim: Simulator
) -> None:
    sim.faults.add("campaigns", "rate_limit", times=2)  # the active-previews count: 429, 429
    sim.faults.add("contacts", "status", status=503, after=1)  # the second contacts page
    sim.faults.add("put_campaign", "rate_limit")  # a 429 is refused before the PUT is applied
    campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
    assert campaign.state == "active"
    history = engine.history(campaign.id)
    retries = {h.type: h.event.retries for h in history if hasattr(h.event, "retries")}  # type: ignore[attr-defined]
    assert retries == {
        "validation.passed": 2,
        "filter.completed": 1,
        "activation.succeeded": 1,
        "webhook.registered": 0,
    }


def test_retries_of_a_step_left_in_doubt_are_not_counted_on_the_next_outcome(
    tmp_path: Path, sim: Simulator, time_: RecordedTime
) -> None:
    # A PUT retried (429) until the deadline: in doubt. Its retries belong to no outcome; the
    # recovery that settles it by reading records only its own.
    gateway = make_gateway(sim, time_, deadline=5.0)
    with SQLiteJournal(tmp_path / "j.db") as journal:
        engine = Engine(journal, gateway, ids=sequential_ids())
        campaign = engine.draft(load_spec(EXAMPLE_SPEC)).validate().filter()
        sim.faults.add("put_campaign", "rate_limit", times=50)
        with pytest.raises(StepInDoubt):
            campaign.activate()
        sim.faults.faults.clear()
        settled = engine.recover(campaign.id)
        last = engine.history(campaign.id)[-1].event
    gateway.close()
    assert settled.state == "active"
    assert (type(last).__name__, last.retries) == ("ActivationSucceeded", 0)  # type: ignore[attr-defined]


def test_a_filter_rule_on_a_field_no_contact_has_is_named(engine: Engine) -> None:
    spec = load_spec(EXAMPLE_SPEC)
    rules = [{"field": "regoin", "op": "eq", "value": "west"}]
    misspelt = spec.from_dict({**spec.to_dict(), "filter": rules})
    campaign = engine.draft(misspelt).validate()
    failed = campaign.filter()
    assert failed.state == "validated", "a refused filter leaves the campaign as it was"
    assert failed.last_error is not None
    assert "no contact of 2,600 has the field 'regoin' a filter rule names" in failed.last_error
    event = engine.history(campaign.id)[-1].event
    assert event.fields_seen == {"regoin": 0}  # type: ignore[attr-defined]
    # Spelt right, the field is on every contact the simulator makes.
    engine.revise(campaign.id, spec, "the field is region")
    fine = engine.get(campaign.id).validate().filter()
    assert fine.state == "filtered"
    seen = engine.history(campaign.id)[-1].event.fields_seen  # type: ignore[attr-defined]
    assert seen == {"age": 2600, "region": 2600}
