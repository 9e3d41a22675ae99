"""Random command sequences against a small model of the machine.

After every step, for every campaign: folding its stored events gives exactly the live state,
its digest is the one stored with the newest event, and the model agrees on the state.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from adapters.simulator import FakeCXoneGateway
from engine import (
    Campaign,
    Engine,
    InvalidTransition,
    RemoteCampaign,
    RemoteRejected,
    RemoteUnavailable,
    StepInDoubt,
    fold,
    load_spec,
    verify,
)
from engine.pipeline import on_their_way
from journal import ManualClock, SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, make_contacts, sequential_ids

SETTLED = ("draft", "validated", "filtered", "conflicted", "failed")
SPEC = load_spec(EXAMPLE_SPEC)


class CampaignMachine(RuleBasedStateMachine):
    campaigns = Bundle("campaigns")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.clock = ManualClock()
        self.journal = SQLiteJournal(self.dir / "j.db", clock=self.clock, synchronous="OFF")
        self.gateway = FakeCXoneGateway(contacts=make_contacts(40))
        self.engine = Engine(self.journal, self.gateway, clock=self.clock, ids=sequential_ids())
        self.model: dict[str, str] = {}
        self.live: dict[str, Campaign] = {}

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.dir)

    def expect(self, c: Campaign, command: str, allowed_in: tuple[str, ...]) -> bool:
        """Whether the model allows ``command``; if not, run it and see it refused."""
        if self.model[c.id] in allowed_in:
            return True
        with pytest.raises((InvalidTransition, StepInDoubt)):
            getattr(c, command)()
        return False

    @rule(target=campaigns, stage=st.sampled_from(["draft", "validated", "filtered", "active"]))
    def draft(self, stage: str = "draft") -> Campaign:
        """A new campaign, driven without faults as far as ``stage`` (so deep states are common)."""
        remote_id = f"cmp-{len(self.model) + 1}"
        self.gateway.campaigns[remote_id] = RemoteCampaign(remote_id, 1, "inactive", {})
        c = self.engine.draft(attrs.evolve(SPEC, campaign_id=remote_id))
        self.model[c.id] = "draft"
        self.live[c.id] = c
        steps = ["draft", "validated", "filtered", "active"]
        for command in ("validate", "filter", "activate")[: steps.index(stage)]:
            getattr(self, command)(c, None)
        return c

    @rule(c=campaigns, fault=st.none() | st.sampled_from(["limit", "unavailable"]))
    def validate(self, c: Campaign, fault: str | None) -> None:
        if not self.expect(c, "validate", ("draft",)):
            return
        self.gateway.active_previews = 5 if fault == "limit" else 0
        if fault == "unavailable":
            self.gateway.fail_next("read_campaign", RemoteUnavailable("503 x5"))
        # Campaigns whose run is under way past validation take places too (an activation
        # left in doubt may have landed).
        crowded = on_their_way(self.journal) >= SPEC.constraints.max_concurrent_previews
        c.validate()
        self.model[c.id] = "validated" if fault is None and not crowded else "draft"

    @rule(c=campaigns, fault=st.none() | st.just("unavailable"))
    def filter(self, c: Campaign, fault: str | None) -> None:
        if not self.expect(c, "filter", ("validated",)):
            return
        if fault:
            self.gateway.fail_next("iter_contacts", RemoteUnavailable("timeout"))
        c.filter()
        self.model[c.id] = "filtered" if fault is None else "validated"

    @rule(c=campaigns, fault=st.none() | st.sampled_from(["conflict", "reject", "in_doubt"]))
    def activate(self, c: Campaign, fault: str | None) -> None:
        if not self.expect(c, "activate", ("filtered",)):
            return
        if fault == "conflict":
            self.gateway.edit_remotely(c.snapshot.spec["campaign_id"], name="edited elsewhere")
        elif fault == "reject":
            self.gateway.fail_next("put_preview_config", RemoteRejected("bad queue", 400))
        elif fault == "in_doubt":
            self.gateway.fail_next("put_preview_config", RemoteUnavailable("dropped"))
        if fault == "in_doubt":
            with pytest.raises(StepInDoubt):
                c.activate()
            c.refresh()
        else:
            c.activate()
        self.model[c.id] = {
            None: "active",
            "conflict": "conflicted",
            "reject": "failed",
            "in_doubt": "activating",
        }[fault]

    @rule(c=campaigns, fault=st.booleans())
    def register_webhook(self, c: Campaign, fault: bool) -> None:
        if not self.expect(c, "register_webhook", ("active",)):
            return
        if fault:
            self.gateway.fail_next("ensure_webhook", RemoteUnavailable("429 storm"))
        c.register_webhook()

    @rule(c=campaigns)
    def revise(self, c: Campaign) -> None:
        if self.model[c.id] not in SETTLED:
            with pytest.raises((InvalidTransition, StepInDoubt)):
                c.revise(SPEC)
            return
        c.revise(attrs.evolve(SPEC, campaign_id=c.snapshot.spec["campaign_id"]))
        self.model[c.id] = "draft"

    @rule(c=campaigns)
    def cancel(self, c: Campaign) -> None:
        if not self.expect(c, "cancel", SETTLED):
            return
        c.cancel()
        self.model[c.id] = "cancelled"

    @rule()
    def time_passes(self) -> None:
        self.clock.advance(1.5)

    @invariant()
    def the_journal_folds_to_the_live_state(self) -> None:
        for campaign_id, c in self.live.items():
            stored = self.journal.read_stream(campaign_id)
            folded = fold(campaign_id, [s.event for s in stored])
            assert folded == c.snapshot
            assert folded.digest() == stored[-1].state_digest
            assert folded.state == self.model[campaign_id]

    def check_the_whole_journal(self) -> None:
        assert verify(self.journal).ok


CampaignMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestCampaignMachine = CampaignMachine.TestCase


def test_a_long_random_run_verifies() -> None:
    # One longer run whose whole journal is then checked by the auditor's verify.
    machine = CampaignMachine()
    try:
        for i in range(40):
            c = machine.draft()
            machine.validate(c, None)
            machine.filter(c, None)
            machine.activate(c, [None, "conflict", "reject", "in_doubt"][i % 4])
            machine.the_journal_folds_to_the_live_state()
        machine.check_the_whole_journal()
    finally:
        machine.teardown()
