"""The lease is checked inside the append: a run that stalled past its lease (as a SIGSTOPped
process would, its own clock and heartbeat frozen) and was taken over writes nothing, even
though its own check before the write still believes the lease is its."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteCampaign
from engine.spec import CampaignSpec
from journal import LeaseLost, ManualClock, SQLiteJournal
from tests.conftest import make_contacts


class StalledDuringPut(FakeCXoneGateway):
    """While our PUT is in flight, the lease runs out on the journal's clock and another
    process takes the campaign over; our process knows nothing of it."""

    def __init__(self, journal: SQLiteJournal, clock: ManualClock, **kw: Any) -> None:
        super().__init__(**kw)
        self.journal, self.clock = journal, clock
        self.taken: int | None = None

    def put_preview_config(
        self, campaign_id: str, config: Mapping[str, Any], if_match: int
    ) -> RemoteCampaign:
        done = super().put_preview_config(campaign_id, config, if_match)
        self.clock.advance(600)  # ten minutes later, on every clock but ours
        (stream,) = [s for s, _ in self.journal.streams()]
        lease = self.journal.acquire_lease(f"campaign:{stream}", "supervise:other", 60)
        assert lease is not None
        self.taken = lease.fence
        return done


def test_a_run_taken_over_mid_put_writes_no_outcome(tmp_path: Any, spec: CampaignSpec) -> None:
    clock = ManualClock()
    with SQLiteJournal(tmp_path / "j.db", clock=clock) as journal:
        gateway = StalledDuringPut(
            journal,
            clock,
            campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})],
            contacts=make_contacts(50),
        )
        engine = Engine(journal, gateway, clock=clock)
        campaign = engine.draft(spec)
        with pytest.raises(LeaseLost, match="no longer"):
            engine.run(campaign.id, owner="run:stalled", lease_ttl=60)
        assert gateway.taken is not None
        history = engine.history(campaign.id)
        assert history[-1].type == "activation.requested", "its outcome is the new owner's"
        assert history[-1].meta["lease_owner"] == "run:stalled"
        state = engine.load(campaign.id)
        assert state.pending is not None
        head = journal.head_of(campaign.id)
        assert head is not None
        assert (head.version, head.open_step) == (state.version, "activation")
