"""The engine on a real SQLite file against the fake CXone: every step, every outcome."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from adapters.simulator import FakeCXoneGateway
from engine import (
    CampaignNotFound,
    Engine,
    EngineError,
    InvalidTransition,
    RemoteRejected,
    RemoteUnavailable,
    StepInDoubt,
    fold,
    needs_finishing,
    verify,
)
from engine.spec import CampaignSpec
from events import CampaignDrafted
from journal import ManualClock, SQLiteJournal
from tests.conftest import for_campaign, make_contacts, sequential_ids


def types(engine: Engine, campaign_id: str) -> list[str]:
    return [e.type for e in engine.history(campaign_id)]


def test_the_pipeline_reaches_active_with_an_intent_and_outcome_per_call(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).run()
    assert (c.state, c.remote_version, c.active_version, c.webhook_id) == ("active", 5, 5, "wh-1")
    assert types(engine, c.id) == [
        "campaign.drafted",
        "run.requested",
        "validation.requested",
        "validation.passed",
        "filter.requested",
        "filter.completed",
        "activation.requested",
        "activation.succeeded",
        "webhook.requested",
        "webhook.registered",
    ]
    assert [name for name, _ in gateway.calls] == [
        "count_active_previews",
        "read_campaign",
        "iter_suppressed_numbers",
        "iter_contacts",
        "put_preview_config",
        "ensure_webhook",
    ]
    assert gateway.calls[4][1] == ("cmp-1001", 4), "PUT with If-Match on the version read"
    assert gateway.campaigns["cmp-1001"].version == 5
    assert verify(engine.journal).ok


def test_outcomes_carry_latency_and_intents_the_payload_digest(
    engine: Engine, spec: CampaignSpec, clock: ManualClock
) -> None:
    c = engine.draft(spec).run()
    events = {e.type: e.event for e in engine.history(c.id)}
    requested = events["activation.requested"]
    assert requested.expected_version == 4  # type: ignore[attr-defined]
    assert requested.payload_digest.startswith("sha256:")  # type: ignore[attr-defined]
    assert requested.attempt == 1  # type: ignore[attr-defined]
    assert all(getattr(e, "latency_ms", 0.0) >= 0 for e in events.values())


def test_meta_links_outcomes_to_their_intents(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec).validate()
    intent, outcome = engine.history(c.id)[1:3]
    assert intent.meta["actor"] == "cxpreview"
    assert outcome.meta["causation_id"] == intent.meta["command_id"]


def test_every_stored_state_digest_matches_the_fold(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec).run()
    history = engine.history(c.id)
    for i, stored in enumerate(history, start=1):
        assert stored.state_digest == fold(c.id, [h.event for h in history[:i]]).digest()


def test_filtering_counts_every_exclusion_and_stores_the_eligible_set(
    engine: Engine, spec: CampaignSpec
) -> None:
    c = engine.draft(spec).validate().filter()
    filtered = engine.history(c.id)[-1].event
    # 100 contacts aged 20-49: ages 20 fail `age >= 21` (4); +1 415 555 0003 and 0005 are
    # suppressed, though the list writes them in other formats than the contacts do.
    assert (filtered.total, filtered.matched, filtered.eligible) == (100, 96, 94)  # type: ignore[attr-defined]
    assert filtered.excluded == {"filter": 4, "suppressed": 2}  # type: ignore[attr-defined]
    eligible = engine.journal.get_blob(c.eligible_digest).decode().splitlines()
    assert len(eligible) == 94
    assert "c1\t+14155550001" in eligible
    assert not any(line.endswith(("0003", "0005")) for line in eligible)


def test_filter_progress_is_reported(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.contacts = make_contacts(2500)
    seen: list[int] = []
    engine.draft(spec).validate().filter(progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_too_few_eligible_contacts_fail_the_filter(engine: Engine, spec: CampaignSpec) -> None:
    strict = attrs.evolve(spec, constraints=attrs.evolve(spec.constraints, min_eligible=1000))
    c = engine.draft(strict).validate().filter()
    assert c.state == "validated"
    assert c.last_error is not None
    assert "94 contacts are eligible" in c.last_error


def test_the_preview_limit_fails_validation(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.active_previews = 5
    c = engine.draft(spec).validate()
    assert c.state == "draft"
    (problem,) = c.problems
    assert problem.path == "constraints.max_concurrent_previews"
    assert "5 preview campaigns are already active" in problem.message


def test_an_unknown_remote_campaign_is_a_problem_at_campaign_id(
    engine: Engine, spec: CampaignSpec
) -> None:
    c = engine.draft(attrs.evolve(spec, campaign_id="cmp-404")).validate()
    assert c.state == "draft"
    assert [p.path for p in c.problems] == ["campaign_id"]


def test_an_unavailable_remote_fails_a_read_step_retryably(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.fail_next("iter_contacts", RemoteUnavailable("CXone answered 503 five times"))
    c = engine.draft(spec).validate().filter()
    failed = engine.history(c.id)[-1].event
    assert (c.state, failed.retryable) == ("validated", True)  # type: ignore[attr-defined]
    assert c.filter().state == "filtered"


def test_a_412_conflicts(engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway) -> None:
    c = engine.draft(spec).validate().filter()
    gateway.edit_remotely("cmp-1001", name="someone else's")
    c.activate()
    assert c.state == "conflicted"
    conflicted = engine.history(c.id)[-1].event
    assert (conflicted.expected_version, conflicted.remote_version) == (4, 5)  # type: ignore[attr-defined]
    assert gateway.campaigns["cmp-1001"].config == {"name": "someone else's"}, "not overwritten"
    assert c.allowed == ("rebase", "resolve", "revise", "cancel")


def test_a_rejected_put_fails(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.fail_next("put_preview_config", RemoteRejected("queue q-301 does not exist", 400))
    c = engine.draft(spec).run()
    assert c.state == "failed"
    assert c.last_error == "queue q-301 does not exist"
    assert c.revise(spec).state == "draft"
    assert c.run().state == "active"


def test_an_unanswered_put_leaves_the_activation_in_doubt(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.fail_next("put_preview_config", RemoteUnavailable("connection dropped"))
    c = engine.draft(spec).validate().filter()
    with pytest.raises(StepInDoubt, match="in doubt \\(connection dropped\\)"):
        c.activate()
    c.refresh()
    assert c.state == "activating"
    assert c.pending is not None
    assert c.pending.expected_version == 4
    with pytest.raises(StepInDoubt, match="unfinished activation step"):
        c.activate()
    with pytest.raises(StepInDoubt):
        c.cancel()
    assert verify(engine.journal).ok


def test_an_unfinished_read_step_is_redone_by_its_command(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    class Crash(Exception):
        pass

    original = gateway.count_active_previews

    def dies() -> int:
        raise Crash

    c = engine.draft(spec)
    gateway.count_active_previews = dies  # type: ignore[method-assign]
    with pytest.raises(Crash):
        c.validate()
    gateway.count_active_previews = original  # type: ignore[method-assign]
    assert c.refresh().pending is not None
    with pytest.raises(StepInDoubt, match="unfinished validation step"):
        c.cancel()
    c.validate()
    assert c.state == "validated"
    assert types(engine, c.id).count("validation.requested") == 1


def test_commands_the_state_does_not_allow_are_refused(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec)
    with pytest.raises(InvalidTransition, match="is draft: cannot activate; allowed: validate"):
        c.activate()
    c.cancel("changed our minds")
    with pytest.raises(InvalidTransition, match="cancelled: cannot validate"):
        c.validate()
    assert c.allowed == ()


def test_queries(engine: Engine, spec: CampaignSpec) -> None:
    a = engine.draft(spec).run()
    b = engine.draft(spec)
    assert [c.id for c in engine.campaigns()] == [a.id, b.id]
    assert [c.id for c in engine.campaigns(state="draft")] == [b.id]
    assert engine.get(a.id).snapshot == a.snapshot
    with pytest.raises(CampaignNotFound, match="no campaign 'nope'"):
        engine.get("nope")
    assert repr(b) == f"<Campaign {b.id} 'Spring renewals - west' draft v1>"


def test_an_engine_without_a_gateway_drafts_and_reads(
    journal_file: SQLiteJournal, spec: CampaignSpec
) -> None:
    engine = Engine(journal_file, ids=sequential_ids())
    c = engine.draft(spec)
    with pytest.raises(EngineError, match="no CXone gateway"):
        c.validate()
    assert engine.get(c.id).state == "draft"


def test_verify_catches_a_rewritten_chain_that_folds_illegally(
    engine: Engine, spec: CampaignSpec, tmp_path: Path
) -> None:
    # Someone who rewrites history *and* recomputes every hash passes the chain check; the
    # replay still refuses an activation that was never validated.
    c = engine.draft(spec).run()
    assert isinstance(engine.journal, SQLiteJournal)
    forged = SQLiteJournal(tmp_path / "forged.db")
    for r in engine.journal.raw_rows():
        if r.type not in ("validation.requested", "validation.passed"):
            forged.append(r.stream_id, [r.decoded().event], forged.stream_version(r.stream_id))
    assert forged.verify().ok, "the chain alone cannot tell"
    report = verify(forged)
    assert (report.ok, report.first_bad_seq) == (False, 3)  # 1 drafted, 2 run requested
    assert report.problem == (
        "illegal transition: filter.requested is not allowed in state 'draft'"
    )
    assert c.state == "active"


def test_verify_catches_a_fold_that_changed(tmp_path: Path, spec: CampaignSpec) -> None:
    # Digests written by a cxpreview whose fold differed from today's: the chain is intact.
    journal = SQLiteJournal(tmp_path / "old.db")
    journal.append("c1", [CampaignDrafted(spec.to_dict())], 0, state_digests=["sha256:00"])
    assert journal.verify().ok
    report = verify(journal)
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.problem is not None
    assert "the fold has changed" in report.problem


def test_recover_settles_an_activation_in_doubt_by_reading(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    gateway.fail_next("put_preview_config", RemoteUnavailable("connection dropped"))
    c = engine.draft(spec).validate().filter()
    with pytest.raises(StepInDoubt):
        c.activate()
    assert c.refresh().recover().state == "active", "it had not landed: PUT again, same If-Match"
    puts = [args for name, args in gateway.calls if name == "put_preview_config"]
    assert puts == [("cmp-1001", 4), ("cmp-1001", 4)]


def test_rebase_and_resolve_by_hand(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    gateway.edit_remotely("cmp-1001", name="theirs", schedule="weekdays")
    assert c.activate().state == "conflicted"
    c.rebase()
    assert c.state == "conflicted"
    assert [p.path for p in c.problems] == ["name"]
    c.resolve("theirs").activate()
    assert c.state == "active"
    remote = gateway.campaigns["cmp-1001"]
    assert (remote.config["name"], remote.config["schedule"]) == ("theirs", "weekdays")
    assert remote.config["dialingRules"]["maxAttempts"] == 3


def test_a_draft_for_a_run_journals_both_at_once(engine: Engine, spec: CampaignSpec) -> None:
    c = engine.draft(spec, run=True)
    assert c.wants_active
    (drafted, requested) = engine.history(c.id)
    assert (drafted.type, requested.type) == ("campaign.drafted", "run.requested")
    assert drafted.meta["command_id"] == requested.meta["command_id"], "one append"
    assert c.run().state == "active"
    assert [e.type for e in engine.history(c.id)].count("run.requested") == 1


def test_automatic_rebases_are_bounded(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    once = attrs.evolve(spec, constraints=attrs.evolve(spec.constraints, max_conflict_retries=1))
    c = engine.draft(once, run=True).validate().filter()

    original = gateway.put_preview_config

    def someone_always_edits_first(campaign_id, config, if_match):  # type: ignore[no-untyped-def]
        gateway.edit_remotely(campaign_id, schedule=f"edit-{len(gateway.calls)}")
        return original(campaign_id, config, if_match)

    gateway.put_preview_config = someone_always_edits_first  # type: ignore[method-assign]
    c.run()
    types = [e.type for e in c.history()]
    assert types.count("rebase.completed") == 1, "one automatic rebase, as the spec allows"
    assert types.count("activation.conflicted") == 2
    assert c.state == "conflicted"


def test_a_finished_or_failed_campaign_asks_no_supervisor_for_anything(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    done = engine.draft(spec).run()
    gateway.fail_next("put_preview_config", RemoteRejected("queue q-301 does not exist", 400))
    failed = engine.draft(for_campaign(spec, "cmp-1002")).run()
    assert (done.state, failed.state) == ("active", "failed")
    before = engine.journal.last_seq()
    assert (done.run().state, failed.run().state) == ("active", "failed")
    assert engine.journal.last_seq() == before, "running them again writes nothing"
    assert not needs_finishing(done.snapshot)
    assert not needs_finishing(failed.snapshot)


def test_the_state_as_of_a_seq_or_a_time(
    engine: Engine, spec: CampaignSpec, clock: ManualClock
) -> None:
    c = engine.draft(spec)
    clock.advance(60)
    c.run()
    assert engine.state_at(c.id, seq=1).state == "draft"
    assert engine.state_at(c.id, seq=4).state == "validated"
    first = engine.history(c.id)[0].recorded_at
    assert engine.state_at(c.id, time=first).version == 1
    with pytest.raises(CampaignNotFound, match="did not exist yet"):
        engine.state_at(c.id, time="2000-01-01T00:00:00.000000Z")
