"""Metrics and the audit log, computed from what the journal holds."""

from __future__ import annotations

import pytest

from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteRejected
from engine.metrics import audit_log, measure, percentile, transition_counts
from engine.spec import CampaignSpec
from journal import InMemoryJournal
from tests.conftest import for_campaign


def test_percentiles() -> None:
    values = sorted([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (percentile(values, 50), percentile(values, 95), percentile([], 50)) == (3.0, 5.0, None)


def test_metrics_count_real_attempts(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    engine.draft(spec).run()
    gateway.fail_next("put_preview_config", RemoteRejected("bad queue", 400))
    engine.draft(for_campaign(spec, "cmp-1002")).run()
    conflicted = engine.draft(for_campaign(spec, "cmp-1003")).validate().filter()
    gateway.edit_remotely("cmp-1003", name="theirs")
    conflicted.activate()
    m = measure(engine.journal)
    assert (m.campaigns, m.activations, m.succeeded, m.failed, m.conflicted) == (3, 3, 1, 1, 1)
    assert m.success_rate == pytest.approx(1 / 3)
    assert m.conflict_rate == pytest.approx(1 / 3)
    assert m.by_state == {"active": 1, "failed": 1, "conflicted": 1}
    assert m.latency_ms["max"] is not None
    taken = transition_counts(engine.journal)
    assert taken["draft:validate"] == 3
    assert taken["activating:succeed"] == 1
    assert taken["active:register_webhook"] == 1
    assert engine.journal.heads_ready(), "figures from the heads and the outcome index"
    # The same figures from the events alone, on a copy whose heads are not built.
    copy = InMemoryJournal()
    copy.import_rows(engine.journal.raw_rows())
    assert not copy.heads_ready()
    assert measure(copy) == m
    assert m.as_dict()["success_rate"] == pytest.approx(1 / 3)
    # Per campaign: three tried, one landed, one met a 412 (still conflicted).
    assert (m.campaigns_attempted, m.campaigns_activated, m.campaigns_conflicted) == (3, 1, 1)
    assert m.campaign_success_rate == pytest.approx(1 / 3)
    conflicted.rebase().resolve("ours").activate()  # the second attempt lands
    again = measure(engine.journal)
    assert again.success_rate == pytest.approx(2 / 4)  # per attempt: 2 of 4 outcomes
    assert again.campaign_success_rate == pytest.approx(2 / 3)  # per campaign: 2 of 3
    assert again.as_dict()["campaign_conflict_rate"] == pytest.approx(1 / 3)


def test_the_audit_log_has_the_tutorials_fields_and_a_computed_rate(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    engine.draft(spec).run()
    gateway.fail_next("put_preview_config", RemoteRejected("bad queue", 400))
    engine.draft(for_campaign(spec, "cmp-1002")).run()
    rows = list(audit_log(engine.journal))
    assert set(rows[0]) == {
        "seq",
        "timestamp",
        "action",
        "campaignId",
        "cxoneCampaignId",
        "actor",
        "status",
        "latencyMs",
        "successRate",
    }
    outcomes = [r for r in rows if r["action"] in ("activation.succeeded", "activation.failed")]
    assert [r["successRate"] for r in outcomes] == [1.0, 0.5]
    assert rows[0]["successRate"] is None
