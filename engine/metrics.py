"""What the journal says in numbers: activation latency, success and conflict rates, states,
and how often each transition of the machine was taken; and the audit log as rows.

Computed from real attempts (a success rate is successes over activation outcomes recorded,
never a constant): from the campaigns' heads and the activation outcomes alone where the heads
are built, else by one streaming pass over the events. How often each transition was taken
(``transition_counts``, for the diagram) always folds every event.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

from engine import machine
from engine.lifecycle import RULES
from engine.replay import Replay, gc_paused
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationSucceeded,
    CampaignDrafted,
    ConfigRevised,
)
from journal import Journal
from journal.verify import checked_rows

ACTIVATION_OUTCOMES = (ActivationSucceeded, ActivationConflicted, ActivationFailed)


@attrs.frozen
class Metrics:
    """The journal's numbers."""

    campaigns: int
    events: int
    by_state: dict[str, int]
    activations: int
    succeeded: int
    conflicted: int
    failed: int
    reconciled: int
    latency_ms: dict[str, float | None]
    campaigns_attempted: int = 0
    campaigns_activated: int = 0
    campaigns_conflicted: int = 0

    @property
    def success_rate(self) -> float | None:
        """Per attempt: successful activations over activation outcomes (``None`` before the
        first). A campaign that conflicted, rebased and then landed counts 1 of 2 here."""
        return self.succeeded / self.activations if self.activations else None

    @property
    def conflict_rate(self) -> float | None:
        """Per attempt: 412s over activation outcomes."""
        return self.conflicted / self.activations if self.activations else None

    @property
    def campaign_success_rate(self) -> float | None:
        """Per campaign: campaigns an activation landed for, over campaigns that tried one
        (the conflicted-then-landed campaign counts 1 of 1 here)."""
        attempted = self.campaigns_attempted
        return self.campaigns_activated / attempted if attempted else None

    @property
    def campaign_conflict_rate(self) -> float | None:
        """Per campaign: campaigns that met at least one 412, over campaigns that tried."""
        attempted = self.campaigns_attempted
        return self.campaigns_conflicted / attempted if attempted else None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for ``--json``."""
        plain: dict[str, Any] = attrs.asdict(self)
        plain.update(
            success_rate=self.success_rate,
            conflict_rate=self.conflict_rate,
            campaign_success_rate=self.campaign_success_rate,
            campaign_conflict_rate=self.campaign_conflict_rate,
        )
        return plain


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank) of ascending values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def measure(journal: Journal) -> Metrics:
    """Every figure. On a journal with campaign heads, from the heads' census and the
    activation outcomes alone (an index over them): the cost follows the campaigns and their
    activations, not the journal's length. Otherwise, from one pass over every event."""
    if not journal.heads_ready():
        return _measured_by_replay(journal)
    by_state = journal.census()
    counts: Counter[str] = Counter()
    latencies: list[float] = []
    reconciled = 0
    attempted: set[str] = set()
    activated: set[str] = set()
    conflicted: set[str] = set()
    for _, stream_id, type_, latency, was_reconciled in journal.activation_outcomes():
        counts[type_] += 1
        if isinstance(latency, int | float):
            latencies.append(float(latency))
        reconciled += bool(was_reconciled)
        attempted.add(stream_id)
        if type_ == ActivationSucceeded.TYPE:
            activated.add(stream_id)
        elif type_ == ActivationConflicted.TYPE:
            conflicted.add(stream_id)
    return _figures(
        campaigns=sum(by_state.values()),
        events=journal.last_seq(),  # seqs are dense: the chain allows no gap
        by_state=by_state,
        outcomes={k: counts[k.TYPE] for k in ACTIVATION_OUTCOMES},
        reconciled=reconciled,
        latencies=latencies,
        per_campaign=(len(attempted), len(activated), len(conflicted)),
    )


def _figures(
    *,
    campaigns: int,
    events: int,
    by_state: dict[str, int],
    outcomes: dict[type, int],
    reconciled: int,
    latencies: list[float],
    per_campaign: tuple[int, int, int],
) -> Metrics:
    latencies.sort()
    return Metrics(
        campaigns=campaigns,
        events=events,
        by_state=by_state,
        activations=sum(outcomes.values()),
        succeeded=outcomes[ActivationSucceeded],
        conflicted=outcomes[ActivationConflicted],
        failed=outcomes[ActivationFailed],
        reconciled=reconciled,
        latency_ms={
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": latencies[-1] if latencies else None,
        },
        campaigns_attempted=per_campaign[0],
        campaigns_activated=per_campaign[1],
        campaigns_conflicted=per_campaign[2],
    )


def _measured_by_replay(journal: Journal) -> Metrics:
    """Every figure from one pass over every event, each row checked (no heads built)."""
    replay = Replay()
    kinds: Counter[type] = Counter()
    latencies: list[float] = []
    reconciled = events = 0
    attempted: set[str] = set()
    activated: set[str] = set()
    conflicted: set[str] = set()
    with gc_paused():
        for stored in checked_rows(journal.raw_rows()):  # a forged row is named, not counted
            stream_id, event = stored.stream_id, stored.event
            replay.feed(stream_id, event)
            events += 1
            kind = type(event)
            kinds[kind] += 1
            if kind in ACTIVATION_OUTCOMES:
                latencies.append(event.latency_ms)  # type: ignore[attr-defined]
                reconciled += bool(getattr(event, "reconciled", False))
                attempted.add(stream_id)
                if kind is ActivationSucceeded:
                    activated.add(stream_id)
                elif kind is ActivationConflicted:
                    conflicted.add(stream_id)
        states = replay.states()
    return _figures(
        campaigns=len(states),
        events=events,
        by_state=dict(Counter(s.state for s in states.values())),
        outcomes={k: kinds[k] for k in ACTIVATION_OUTCOMES},
        reconciled=reconciled,
        latencies=latencies,
        per_campaign=(len(attempted), len(activated), len(conflicted)),
    )


def transition_counts(journal: Journal) -> dict[str, int]:
    """How often each edge of the machine was taken (``"source:trigger"``), from one pass
    over every event, each row checked: an edge is taken when an event leaves the state
    where its trigger leads (intents that only open a step take none)."""
    replay = Replay()
    transitions: Counter[str] = Counter()
    with gc_paused():
        for stored in checked_rows(journal.raw_rows()):
            stream_id, event = stored.stream_id, stored.event
            before = replay.state_of(stream_id)
            replay.feed(stream_id, event)
            after = replay.state_of(stream_id)
            trigger = RULES[type(event)].trigger
            if trigger is not None and machine.destination(before, trigger) == after:
                transitions[f"{before}:{trigger}"] += 1
    return dict(transitions)


AUDIT_LOG_FIELDS = (
    "seq",
    "timestamp",
    "action",
    "campaignId",
    "cxoneCampaignId",
    "actor",
    "status",
    "latencyMs",
    "successRate",
)
"""The columns of ``audit_log``'s rows, in order (the CSV export's header)."""


def audit_log(journal: Journal) -> Iterator[dict[str, Any]]:
    """The tutorial's audit log, computed: one row per event, with the state it left and the
    success rate of activation attempts up to that point."""
    replay = Replay()
    attempts = successes = 0
    cxone_of: dict[str, Any] = {}
    for stored in journal.read_all():
        replay.feed(stored.stream_id, stored.event)
        if isinstance(stored.event, CampaignDrafted | ConfigRevised):
            cxone_of[stored.stream_id] = stored.event.spec.get("campaign_id")
        if isinstance(stored.event, ACTIVATION_OUTCOMES):
            attempts += 1
            successes += isinstance(stored.event, ActivationSucceeded)
        yield {
            "seq": stored.seq,
            "timestamp": stored.recorded_at,
            "action": stored.type,
            "campaignId": stored.stream_id,
            "cxoneCampaignId": cxone_of.get(stored.stream_id),
            "actor": stored.meta.get("actor"),
            "status": replay.state_of(stored.stream_id),
            "latencyMs": getattr(stored.event, "latency_ms", None),
            "successRate": round(successes / attempts, 4) if attempts else None,
        }
