"""One write per intent, in process: a 412 and a rebase are settled by content first, an empty
plan sends nothing, one live campaign per CXone campaign, a superseded campaign is left alone,
and a lease stays held while a call is in flight."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from adapters.cxone.tutorial import preview_config
from adapters.simulator import FakeCXoneGateway
from engine import (
    CampaignBusy,
    CampaignClaimed,
    Engine,
    RemoteCampaign,
    RemoteUnavailable,
    Supervisor,
    verify,
)
from engine.leasing import LeaseHolder
from engine.plan import changes, holds
from engine.spec import CampaignSpec
from engine.steps import claim_name
from events import CODEC, FieldChange
from journal import CommandConflict, JournalCorrupt, ManualClock, SQLiteJournal
from tests.conftest import for_campaign, sequential_ids
from tests.drills import interrupt
from tests.hardening.test_hostile import forge


def puts(gateway: FakeCXoneGateway) -> int:
    return sum(1 for method, _ in gateway.calls if method == "put_preview_config")


def applied(engine: Engine, campaign_id: str) -> list[tuple[str, bool]]:
    return [
        (h.event.how, h.event.reconciled)  # type: ignore[attr-defined]
        for h in engine.history(campaign_id)
        if h.type == "activation.succeeded"
    ]


def test_a_412_that_answers_our_own_put_is_recorded_as_landed(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    # Our PUT landed by another road (a process that outlived its lease, a slow CXone),
    # with an edit of a field we do not manage after it.
    gateway.put_preview_config("cmp-1001", preview_config(spec), 4)
    gateway.edit_remotely("cmp-1001", schedule="weekdays")
    c.activate()
    assert c.state == "active"
    assert applied(engine, c.id) == [("read-after-412", True)]
    assert c.active_version == 6
    assert puts(gateway) == 2, "ours, then the one CXone answered 412: no third"
    assert not c.rebases


def test_a_412_from_someone_elses_edit_is_a_conflict_still(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    gateway.edit_remotely("cmp-1001", name="theirs")
    c.activate()
    assert c.state == "conflicted"
    last = engine.history(c.id)[-1].event
    assert last.remote_version == 5  # type: ignore[attr-defined]  # read after the 412


def test_a_rebase_whose_merge_is_cxones_configuration_sends_nothing(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    gateway.put_preview_config("cmp-1001", preview_config(spec), 4)  # ours, landed elsewhere
    # The read after the 412 fails, so the activation is recorded as conflicted.
    gateway.fail_next("read_campaign", RemoteUnavailable("no answer"))
    c.activate()
    assert c.state == "conflicted"
    c.run()  # rebase: the merge is what CXone holds; the activation's plan is empty
    assert c.state == "active"
    assert applied(engine, c.id) == [("unchanged", True)]
    intents = [h.event for h in engine.history(c.id) if h.type == "activation.requested"]
    assert [i.plan for i in intents][-1] == ()  # type: ignore[attr-defined]
    assert puts(gateway) == 2, "ours and the refused one; none after the rebase"


def test_every_activation_records_its_plan(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).run()
    (intent,) = [h.event for h in engine.history(c.id) if h.type == "activation.requested"]
    plan = intent.plan  # type: ignore[attr-defined]
    assert FieldChange("name", "before", spec.name) in plan
    assert FieldChange("type", None, "preview") in plan
    assert len(plan) == len(changes(preview_config(spec), {"name": "before"}))


def test_plan_reads_cxone_and_changes_nothing(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    planned = engine.plan_spec(spec)
    assert (planned.remote_id, planned.remote_version, planned.if_match) == ("cmp-1001", 4, 4)
    assert not planned.empty
    assert engine.journal.last_seq() == 0
    c = engine.draft(spec).validate()
    seq = engine.journal.last_seq()
    gateway.edit_remotely("cmp-1001", schedule="weekends")
    p = c.plan()
    assert (p.campaign_id, p.if_match, p.remote_version, p.stale) == (c.id, 4, 5, True)
    assert engine.journal.last_seq() == seq, "a plan writes nothing"
    assert puts(gateway) == 0
    c.run()
    assert engine.plan(c.id).empty


def test_changes_compare_json_values_not_python_equality() -> None:
    assert changes({"a": True}, {"a": 1}) == (FieldChange("a", 1, True),)
    assert changes({"a": {"b": 1, "c": [1]}}, {"a": {"c": [1], "b": 1}, "z": 9}) == ()
    assert changes({"a": {"b": 1}}, {"a": {"b": 1, "x": 2}}) == (FieldChange("a.x", 2, None),)
    assert holds({"a": 1}, {"a": 1, "other": 2})
    assert not holds({"a": 1.5}, {"a": 1})


def test_one_live_campaign_per_cxone_campaign(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    first = engine.draft(spec)
    with pytest.raises(CampaignClaimed, match=f"claimed by campaign {first.id} \\(draft\\)"):
        engine.draft(spec)
    # run_spec with the same spec carries the live one on; with another it is refused.
    seen: list[tuple[str, bool]] = []
    state = engine.run_spec(spec, announce=lambda s, drafted: seen.append((s.id, drafted)))
    assert (state.id, state.state, seen) == (first.id, "active", [(first.id, False)])
    assert engine.journal.claim_holder(claim_name(spec.to_dict())) == (first.id, False)
    second = engine.run_spec(spec, announce=lambda s, drafted: seen.append((s.id, drafted)))
    assert seen[-1] == (second.id, True), "an ended campaign's CXone campaign is free again"
    assert applied(engine, second.id) == [("unchanged", True)]
    assert puts(gateway) == 1
    other = engine.draft(for_campaign(spec, "cmp-1002"))
    changed = CampaignSpec.from_dict({**spec.to_dict(), "campaign_id": "cmp-1002", "name": "x"})
    with pytest.raises(CampaignClaimed, match=f"cxpreview cancel {other.id}"):
        engine.run_spec(changed)
    other.cancel()
    assert engine.run_spec(changed).state == "active"


def test_a_revise_moves_the_claim(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec)
    c.revise(for_campaign(spec, "cmp-1002"))
    assert engine.journal.claim_holder("cxone-campaign:cmp-1001") == (c.id, False)
    assert engine.journal.claim_holder("cxone-campaign:cmp-1002") == (c.id, True)
    engine.draft(spec)  # cmp-1001 is free again


def test_a_superseded_campaign_is_never_finished_by_a_supervisor(
    tmp_path: Path, spec: CampaignSpec, gateway: FakeCXoneGateway, clock: ManualClock
) -> None:
    """Two live campaigns on one CXone campaign, as a journal written before claims holds
    them: the newer finishes first; the older is superseded and left alone."""
    with SQLiteJournal(tmp_path / "j.db", clock=clock) as journal:
        engine = Engine(journal, gateway, clock=clock, ids=sequential_ids())
        old = engine.draft(spec, run=True).validate().filter()
        journal.recorder.connection.execute("DELETE FROM claims")  # as migrated from schema 1
        new = engine.draft(spec, run=True)
        journal.recorder.connection.execute("DELETE FROM claims")
        assert Supervisor(engine, "sup").finish(new.id).after == "active"
        decision = Supervisor(engine, "sup").finish(old.id)
        assert decision.after == "filtered"
        assert decision.outcome.startswith(f"left alone: campaign {old.id} is superseded")
        assert puts(gateway) == 1
        with pytest.raises(CampaignClaimed, match="superseded"):
            engine.activate(old.id)
        old.cancel("superseded")
        assert verify(journal).ok


class SlowPut(FakeCXoneGateway):
    """A CXone whose PUT lasts until the caller's lease has been renewed twice."""

    journal: SQLiteJournal
    campaign_id = ""
    renewals: list[str]

    def put_preview_config(self, campaign_id: str, config: Any, if_match: int) -> RemoteCampaign:
        name = f"campaign:{self.campaign_id}"
        self.renewals = []
        while len(self.renewals) < 3:  # bounded by the test's timeout
            lease = self.journal.current_lease(name)
            assert lease is not None, "the lease ran out during the call"
            if not self.renewals or lease.expires_at != self.renewals[-1]:
                self.renewals.append(lease.expires_at)
            with pytest.raises(CampaignBusy):  # nobody else may take the campaign meanwhile
                LeaseHolder(self.journal, self.campaign_id, "other", 0.3).__enter__()
            threading.Event().wait(0.01)
        return super().put_preview_config(campaign_id, config, if_match)


def test_a_lease_stays_held_while_a_call_is_in_flight(
    tmp_path: Path, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    """Real time: the lease lives 0.3 s; the PUT lasts until it has been renewed twice."""
    slow = SlowPut(campaigns=gateway.campaigns.values(), contacts=gateway.contacts)
    with SQLiteJournal(tmp_path / "j.db") as journal:
        engine = Engine(journal, slow)
        c = engine.draft(spec, run=True)
        slow.journal, slow.campaign_id = journal, c.id
        state = engine.run(c.id, lease_ttl=0.3)
        assert state.state == "active"
        assert len(slow.renewals) == 3
        assert journal.current_lease(f"campaign:{c.id}") is None, "released at the end"


def test_a_forger_who_rebuilt_the_chain_but_not_the_digests_is_stopped_before_acting(
    tmp_path: Path, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    db = tmp_path / "j.db"
    with SQLiteJournal(db) as journal:
        c = Engine(journal, gateway).draft(spec, run=True).validate().filter()
    # Their max_attempts, with the hash chain recomputed (the digests left as recorded).
    with SQLiteJournal(db) as journal:
        row = journal.read_stream(c.id)[0]
    forged = row_data(row).replace('"max_attempts":3', '"max_attempts":9')
    assert forged != row_data(row)
    forge(db, row.seq, data=forged)
    with SQLiteJournal(db, head_mark=False) as journal:
        engine = Engine(journal, gateway)
        with pytest.raises(JournalCorrupt, match=f"seq {row.seq}: the state digest"):
            engine.activate(c.id)
    assert puts(gateway) == 0


def row_data(row: Any) -> str:
    return CODEC.encode(row.event)[2]


def test_every_outcome_names_its_intent_as_its_cause_even_after_recovery(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    cid = interrupt(engine, spec, "after-activation-intent")
    engine.recover(cid)
    history = engine.history(cid)
    by_command = {h.meta["command_id"]: h for h in history}
    for h in history:
        if hasattr(h.event, "latency_ms"):  # an outcome
            intent = by_command[h.meta["causation_id"]]
            assert intent.event.step_id == h.event.step_id  # type: ignore[attr-defined]


def test_a_draft_with_a_command_id_twice_is_the_first_draft(
    engine: Engine, spec: CampaignSpec
) -> None:
    first = engine.draft(spec, command_id="cmd-1")
    again = engine.draft(spec, command_id="cmd-1")
    assert again.id == first.id
    assert engine.journal.last_seq() == 1
    with pytest.raises(CommandConflict):
        engine.draft(for_campaign(spec, "cmp-1002"), command_id="cmd-1")
