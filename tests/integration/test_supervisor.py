"""The supervisor in process: every interruption finished once, leases honoured and fenced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from adapters.simulator import Dataset, Simulator
from engine import Engine, Supervisor, load_spec, verify
from engine.spec import CampaignSpec
from journal import ManualClock, SQLiteJournal
from tests.adapters.conftest import make_gateway
from tests.conftest import EXAMPLE_SPEC, RecordedTime, sequential_ids
from tests.drills import POINTS, interrupt


@pytest.fixture
def sim() -> Simulator:
    return Simulator(Dataset(seed=3, contacts=600, suppressions=60))


@pytest.fixture
def engine(tmp_path: Path, sim: Simulator, clock: ManualClock) -> Iterator[Engine]:
    gateway = make_gateway(sim, RecordedTime())
    with SQLiteJournal(tmp_path / "j.db", clock=clock) as journal:
        yield Engine(journal, gateway, clock=clock, ids=sequential_ids())
    gateway.close()


def spec_on(sim: Simulator, n: int) -> CampaignSpec:
    spec = load_spec(EXAMPLE_SPEC)
    sim.add_campaign(f"cmp-s{n}", version=4)
    return attrs.evolve(
        spec,
        campaign_id=f"cmp-s{n}",
        webhook=attrs.evolve(spec.webhook, name=f"launch-{n}"),
        constraints=attrs.evolve(spec.constraints, max_concurrent_previews=999),
    )


def test_every_interruption_is_finished_exactly_once(engine: Engine, sim: Simulator) -> None:
    ids = {point: interrupt(engine, spec_on(sim, n), point) for n, point in enumerate(POINTS)}
    supervisor = Supervisor(engine, "sup-1")
    assert set(supervisor.candidates()) == set(ids.values())
    decisions = {d.campaign_id: d for d in supervisor.run_once()}
    for n, (point, cid) in enumerate(ids.items()):
        assert decisions[cid].after == "active", (point, decisions[cid])
        assert len(sim.applied_puts(f"cmp-s{n}")) == 1, point
        assert sum(w["name"] == f"launch-{n}" for w in sim.webhooks.values()) == 1, point
    assert supervisor.candidates() == []
    assert supervisor.run_once() == []
    assert verify(engine.journal).ok
    landed = engine.history(ids["after-activation-response"])
    succeeded = next(e for e in landed if e.type == "activation.succeeded")
    assert succeeded.event.reconciled  # type: ignore[attr-defined]
    assert succeeded.meta["lease_owner"] == "sup-1"
    assert succeeded.meta["fence"] == 1


def test_a_campaign_another_supervisor_holds_is_left_alone(
    engine: Engine, sim: Simulator, clock: ManualClock
) -> None:
    cid = interrupt(engine, spec_on(sim, 1), "after-activation-intent")
    held = engine.journal.acquire_lease(f"campaign:{cid}", "someone-else", ttl=30)
    assert held is not None
    (decision,) = Supervisor(engine, "sup-1").run_once()
    assert decision.outcome == "skipped: another process holds it"
    assert sim.applied_puts() == []
    clock.advance(31)  # the holder died; its lease ran out
    (decision,) = Supervisor(engine, "sup-1").run_once()
    assert decision.after == "active"


def test_a_supervisor_that_lost_its_lease_writes_nothing_more(
    engine: Engine, sim: Simulator, clock: ManualClock
) -> None:
    cid = interrupt(engine, spec_on(sim, 1), "after-validation-intent")
    seconds = [0.0]
    stalled = Supervisor(engine, "slow", lease_ttl=30, monotonic=lambda: seconds[0])
    original = engine.gateway.read_campaign

    def stall_then_lose(campaign_id: str):  # type: ignore[no-untyped-def]
        # Mid-call, the supervisor stalls past its lease; another takes the campaign over.
        seconds[0] += 31
        clock.advance(31)
        assert engine.journal.acquire_lease(f"campaign:{cid}", "fast", ttl=30) is not None
        return original(campaign_id)

    engine.gateway.read_campaign = stall_then_lose  # type: ignore[method-assign]
    decision = stalled.finish(cid)
    engine.gateway.read_campaign = original  # type: ignore[method-assign]
    assert decision.outcome.startswith("error: lease")
    assert "no longer held by 'slow'" in decision.outcome
    assert all(e.meta.get("lease_owner") != "slow" for e in engine.history(cid))
    assert engine.load(cid).pending is not None, "the step is left for the new holder"


def test_a_retryable_failure_is_retried_after_a_pause_not_every_pass(
    engine: Engine, sim: Simulator, clock: ManualClock
) -> None:
    cid = interrupt(engine, spec_on(sim, 1), "after-validation-intent")
    for n in range(9001, 9999):  # CXone fills up with active previews meanwhile
        sim.add_campaign(f"cmp-busy{n}", status="active")
    supervisor = Supervisor(engine, "sup-1", retry_after=60)
    (first,) = supervisor.run_once()
    assert first.after == "draft"
    assert engine.load(cid).last_error is not None
    written = engine.journal.last_seq()
    (second,) = supervisor.run_once()
    assert second.outcome.startswith("waiting: validation.failed")
    assert engine.journal.last_seq() == written, "nothing written while it waits"
    clock.advance(61)
    for n in range(9001, 9999):
        sim.campaigns.pop(f"cmp-busy{n}")
    (third,) = supervisor.run_once()
    assert third.after == "active"
