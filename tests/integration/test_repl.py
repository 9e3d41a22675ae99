"""What a developer at a REPL sees: tab completion, short reprs, a handle that keeps up when a
step fails, the state at a point in time, a verification report that is falsy when it fails,
and the simulator served without a ``with`` block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.simulator import FakeCXoneGateway, Simulator, SimulatorServer
from engine import CampaignNotFound, CampaignSpec, Engine, RemoteUnavailable, StepInDoubt
from journal import ChainReport, ManualClock


def test_tab_completion_shows_what_the_state_knows(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec)
    names = dir(c)
    for name in ("eligible", "last_error", "remote_version", "pending", "validate", "at"):
        assert name in names
    assert c.eligible is None


def test_reprs_are_one_short_line(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate()
    for text in (repr(c.snapshot), repr(c.history()[-1]), repr(gateway), repr(c)):
        assert "\n" not in text
        assert len(text) < 160, text
        assert "dialing_rules" not in text  # the spec is not dumped
    assert repr(c.history()[0]).startswith("<StoredEvent seq 1 ")


def test_the_handle_keeps_up_when_a_step_is_left_in_doubt(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    gateway.fail_next("put_preview_config", RemoteUnavailable("connection dropped"))
    with pytest.raises(StepInDoubt):
        c.activate()
    assert c.state == "activating"
    assert c.pending is not None
    assert c.pending.step == "activation"
    assert c.recover().state == "active"


def test_the_state_at_a_time_compares_instants(
    engine: Engine, spec: CampaignSpec, clock: ManualClock
) -> None:
    c = engine.draft(spec)
    drafted_at = clock.now()
    clock.advance(60)
    c.validate()
    before = drafted_at - timedelta(seconds=1)
    with pytest.raises(CampaignNotFound, match="did not exist yet"):
        engine.state_at(c.id, time=before)
    with pytest.raises(CampaignNotFound):
        engine.state_at(c.id, time=before.isoformat().replace("+00:00", "Z"))
    assert engine.state_at(c.id, time=drafted_at + timedelta(seconds=30)).state == "draft"
    in_paris = (drafted_at + timedelta(seconds=30)).astimezone(
        datetime.now(UTC).astimezone().tzinfo
    )
    assert c.at(time=in_paris).state == "draft"
    assert c.at(time=(clock.now()).isoformat()).state == "validated"
    assert c.at(seq=1).version == 1
    assert [e.seq for e in c.history(as_of=2)] == [1, 2]
    assert len(c.history(as_of=drafted_at + timedelta(seconds=30))) == 1


def test_a_failed_verification_is_falsy() -> None:
    assert ChainReport(True, 3)
    assert not ChainReport(False, 3, 2, "hash does not match")


def test_the_simulator_is_served_without_a_with_block() -> None:
    server = SimulatorServer(Simulator()).start()
    try:
        assert "serving" in repr(server)
        reply = httpx.get(f"{server.base_url}/api/v2/outbound/campaigns", timeout=5)
        assert reply.status_code == 401  # it answers, and wants a token
    finally:
        server.stop()
    assert "stopped" in repr(server)
