"""Auditing a journal: the chain, a replay of every stream against its recorded digests, and
who activated what.

``verify(journal)`` walks the hash chain and, in the same pass, folds every event into its
campaign: an event the state machine does not allow, or a state whose digest differs from the
``state_digest`` written beside the event, is reported at its seq. That catches tampering the
chain cannot (a whole log rewritten with fresh hashes still has to fold legally) and a code
change that would fold old events differently.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from engine.errors import IllegalEvent
from engine.heads import head_fields
from engine.replay import Replay, gc_paused
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    CampaignDrafted,
    ConfigRevised,
    ContactsFiltered,
    instant,
)
from journal import Anchor, BlobNotFound, ChainReport, Journal, JournalCorrupt, StoredEvent, Visitor


def replay_visitor(
    journal: Journal,
    replay: Replay | None = None,
    last: dict[str, StoredEvent] | None = None,
) -> Visitor:
    """What verify (and an import) checks of each event beyond the chain: that it may follow
    its campaign's earlier events, that the recorded state digest is the fold's, and that the
    blob it refers to (the eligible set) is there with its digest. Folds into ``replay`` and
    notes each campaign's newest event in ``last`` when given."""
    replay = Replay() if replay is None else replay

    def visit(stored: StoredEvent) -> str | None:
        if last is not None:
            last[stored.stream_id] = stored
        try:
            replay.feed(stored.stream_id, stored.event)
        except IllegalEvent as exc:
            return f"illegal transition: {exc}"
        if stored.state_digest is not None:
            folded = replay.state(stored.stream_id).digest()
            if folded != stored.state_digest:
                return (
                    f"campaign {stored.stream_id} v{stored.version} folds to {folded}, "
                    f"but {stored.state_digest} was recorded: the fold has changed"
                )
        if isinstance(stored.event, ContactsFiltered):
            try:
                journal.get_blob(stored.event.eligible_digest)
            except BlobNotFound:
                return f"the eligible set {stored.event.eligible_digest} it names is missing"
            except JournalCorrupt:
                return f"the eligible set {stored.event.eligible_digest} it names was altered"
        return None

    return visit


def verify(journal: Journal, anchor: Anchor | None = None) -> ChainReport:
    """The chain and the replay, checked together; the report names the first bad seq.

    ``anchor``: a ``(seq, hash)`` noted from an earlier report, which must still be on the chain.
    """
    replay, last = Replay(), {}  # type: ignore[var-annotated]
    with gc_paused():
        report = journal.verify(replay_visitor(journal, replay, last), anchor)
    if not report.ok or not journal.heads_ready():
        return report
    problem = heads_problem(journal, replay, last)
    if problem is None:
        return report
    seq, why = problem
    return ChainReport(False, report.events, seq, why, report.head)


def heads_problem(
    journal: Journal, replay: Replay, last: dict[str, StoredEvent]
) -> tuple[int, str] | None:
    """The first campaign whose stored head is not what its events give, as ``(seq of its
    newest event, what differs)``; None when every head holds."""
    rebuild = "heads are derived: `cxpreview audit rebuild-heads` writes them again"
    seen = set()
    for head in journal.heads():
        seen.add(head.stream_id)
        stored = last.get(head.stream_id)
        if stored is None:
            return 0, f"campaign {head.stream_id} has a head but no events ({rebuild})"
        want = {
            **attrs.asdict(head_fields(replay.state(head.stream_id)), recurse=False),
            "version": stored.version,
            "last_seq": stored.seq,
            "last_type": stored.type,
            "last_at": stored.recorded_at,
        }
        for field, value in want.items():
            if getattr(head, field) != value:
                return stored.seq, (
                    f"campaign {head.stream_id}'s head says {field} {getattr(head, field)!r}, "
                    f"its events give {value!r} ({rebuild})"
                )
    for stream_id, stored in last.items():
        if stream_id not in seen:
            return stored.seq, f"campaign {stream_id} has no head ({rebuild})"
    return None


@attrs.frozen
class Activation:
    """One activation's outcome, for an auditor: who, when, which campaigns, against which
    version, and how it ended (the ``activations`` view of the journal holds the same rows)."""

    seq: int
    recorded_at: str
    actor: str | None
    campaign_id: str
    cxone_campaign_id: str | None
    if_match: int | None
    new_version: int | None
    outcome: str
    reconciled: bool
    how: str | None
    latency_ms: float


def activations(
    journal: Journal, campaign: str | None = None, since: str | None = None
) -> Iterator[Activation]:
    """Every activation outcome in journal order; only those of ``campaign`` (a campaign id
    or a CXone campaign id) and at or after ``since`` (ISO-8601) when given. One pass; holds
    one small record per campaign."""
    cxone_of: dict[str, str | None] = {}
    if_match: dict[str, int | None] = {}
    after = None if since is None else instant(since)
    for stored in journal.read_all():
        event, sid = stored.event, stored.stream_id
        if isinstance(event, CampaignDrafted | ConfigRevised):
            remote = event.spec.get("campaign_id")
            cxone_of[sid] = remote if isinstance(remote, str) else None
        elif isinstance(event, ActivationRequested):
            if_match[sid] = event.expected_version
        elif isinstance(event, ActivationSucceeded | ActivationConflicted | ActivationFailed):
            row = Activation(
                stored.seq,
                stored.recorded_at,
                stored.meta.get("actor"),
                sid,
                cxone_of.get(sid),
                if_match.get(sid),
                getattr(event, "new_version", None),
                stored.type.removeprefix("activation."),
                bool(getattr(event, "reconciled", False)),
                getattr(event, "how", None),
                event.latency_ms,
            )
            if campaign is not None and campaign not in (sid, row.cxone_campaign_id):
                continue
            if after is not None and row.recorded_at < after:
                continue
            yield row
