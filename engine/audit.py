"""Auditing a journal: the chain, a replay of every stream against its recorded digests, and
who activated what.

``verify(journal)`` walks the hash chain and, in the same pass, folds every event into its
campaign: an event the state machine does not allow, or a state whose digest differs from the
``state_digest`` written beside the event, is reported at its seq. That catches tampering the
chain cannot (a whole log rewritten with fresh hashes still has to fold legally) and a code
change that would fold old events differently.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from typing import Any

import attrs

from engine.aggregate import CampaignState
from engine.errors import IllegalEvent
from engine.heads import expected_head
from engine.replay import Replay, gc_paused
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    CampaignDrafted,
    ConfigRevised,
    ContactsFiltered,
    Revision,
    instant,
)
from journal import (
    Anchor,
    BlobNotFound,
    ChainReport,
    Head,
    Journal,
    JournalCorrupt,
    JournalError,
    RawRow,
    StoredEvent,
    Visitor,
    open_journal,
)
from journal.verify import stream_problem


def replay_visitor(
    journal: Journal, replay: Replay | None = None, blobs: set[str] | None = None
) -> Visitor:
    """What verify (and an import) checks of each event beyond the chain: that it may follow
    its campaign's earlier events, that the recorded state digest is the fold's, and that the
    blob it refers to (the eligible set) is there with its digest. Folds into ``replay``;
    ``blobs`` (when given) remembers the blobs already found intact."""
    replay = Replay() if replay is None else replay
    intact: set[str] = set() if blobs is None else blobs

    def visit(stored: StoredEvent) -> str | None:
        try:
            replay.feed(stored.stream_id, stored.event)
        except IllegalEvent as exc:
            return f"illegal transition: {exc}"
        if stored.state_digest is not None:
            wrong = replay.digest_mismatch(stored.stream_id, stored.state_digest)
            if wrong is not None:
                return f"campaign {stored.stream_id} v{stored.version} {wrong}"
        if isinstance(stored.event, ContactsFiltered):
            digest = stored.event.eligible_digest
            try:
                if digest not in intact:
                    journal.get_blob(digest)
                    intact.add(digest)
            except BlobNotFound:
                return f"the eligible set {stored.event.eligible_digest} it names is missing"
            except JournalCorrupt:
                return f"the eligible set {stored.event.eligible_digest} it names was altered"
        return None

    return visit


PARALLEL_FROM = 200_000
"""From this many events, verify replays the campaigns in worker processes side by side."""
PROGRESS_CAMPAIGNS = 500
"""Campaigns between two reports of the replay's progress."""
PROGRESS_SECONDS = 0.25
"""How often, awaiting the workers, their shared count is read for ``progress``."""


@attrs.frozen
class _Checked:
    """What the replay of a range of campaigns found."""

    first: tuple[int, str] | None  # the first problem of the events (seq, what)
    head: tuple[int, str] | None  # the first head unlike its events
    states: dict[str, int]
    rows: int


Progress = Callable[[str, int], None]
"""Told, while verify works, how far each pass is: ``("chain", rows walked)`` and
``("campaigns", events replayed)``, each rising to the journal's event count."""

_REPLAYED: Any = None
"""In a worker process of verify: the count of events replayed, shared with the parent."""


def _share_count(counter: Any) -> None:
    global _REPLAYED  # noqa: PLW0603 - one per worker process, set as it starts
    _REPLAYED = counter


def _count_replayed(events: int) -> None:
    with _REPLAYED.get_lock():
        _REPLAYED.value += events


def verify(
    journal: Journal,
    anchor: Anchor | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ChainReport:
    """The chain and the replay, checked together; the report names the first bad seq.

    Two passes, in bounded memory: the chain in seq order (each row's link and hash, holding
    nothing but the previous row's), then one campaign at a time (its versions, its events
    decoded and folded against their recorded digests and the machine, its eligible sets, its
    head), holding that campaign alone. On a big journal another process can open, the
    campaigns are cut into ``workers`` ranges (one per CPU by default) replayed side by side.
    The first bad seq of either pass is reported.

    ``anchor``: a ``(seq, hash)`` noted from an earlier report, which must still be on the chain.
    ``progress``: see ``Progress`` (workers add to a count in shared memory, read as the chain
    pass reports and while their results are awaited).
    """
    heads = journal.heads_ready()
    tell: Progress = progress or (lambda _pass, _n: None)
    replayed: Any = None  # the workers' shared count of events replayed, when there are workers

    def chain(n: int) -> None:
        tell("chain", n)
        if replayed is not None:
            tell("campaigns", replayed.value)

    walking = chain if progress else None
    parts = (os.cpu_count() or 1) if workers is None else workers
    location = journal.location
    report: ChainReport | None = None
    try:
        if parts > 1 and location is not None and journal.last_seq() >= PARALLEL_FROM:
            bounds = journal.stream_bounds(parts)
            ranges = list(zip(["", *bounds], [*bounds, None], strict=True))
            context = multiprocessing.get_context("spawn")
            replayed = context.Value("q", 0)
            with ProcessPoolExecutor(
                len(ranges), mp_context=context, initializer=_share_count, initargs=(replayed,)
            ) as pool:
                futures = [pool.submit(_check_location, location, a, b, heads) for a, b in ranges]
                # the chain, while the workers replay
                report = journal.verify_links(anchor, walking)
                waiting = set(futures) if progress else set()
                while waiting:  # ends when the last worker does (each is bounded by its range)
                    _, waiting = wait(waiting, timeout=PROGRESS_SECONDS)
                    tell("campaigns", replayed.value)
                done = [f.result() for f in futures]
        else:
            report = journal.verify_links(anchor, walking)
            done = [_check_range(journal, "", None, heads, lambda n: tell("campaigns", n))]
    except (JournalError, TypeError, ValueError) as exc:
        if report is None or report.ok:
            return ChainReport(False, 0, None, f"the journal cannot be read: {exc}")
        return report
    problems = [d.first for d in done if d.first is not None]
    first = min(problems) if problems else None
    rows_seen = sum(d.rows for d in done)
    states: Counter[str] = Counter()
    for d in done:
        states.update(d.states)
    heads_wrong = [d.head for d in done if d.head is not None]
    head = min(heads_wrong) if heads_wrong else None
    if not report.ok and (first is None or (report.first_bad_seq or 0) <= first[0]):
        return report
    if report.ok and first is None and rows_seen != report.events:
        return ChainReport(
            False,
            report.events,
            None,
            f"read campaign by campaign the journal holds {rows_seen} events, in seq order "
            f"{report.events}: the file's index disagrees with its table (damaged; "
            "`cxpreview audit verify --deep` runs SQLite's integrity_check)",
            report.head,
        )
    if first is None and heads and head is None and journal.census() != dict(states):
        # A head with no campaign counts in the census too (found only on this failing path).
        stray = next((h for h in journal.heads() if not journal.stream_version(h.stream_id)), None)
        head = (
            report.head[0],
            f"campaign {stray.stream_id} has a head but no events ({REBUILD})"
            if stray is not None
            else f"the count of campaigns by state says {journal.census()}, the campaigns' "
            f"events give {dict(states)} ({REBUILD})",
        )
    first = first or head
    if first is None:
        return report
    seq, why = first
    return ChainReport(False, seq - 1, seq, why, report.head)


def _check_location(location: str, start: str, stop: str | None, heads: bool) -> _Checked:
    """``_check_range`` in a worker process, on the journal at ``location``, adding the events
    it replays to the count shared with the parent."""
    told = 0

    def tell(rows: int) -> None:
        nonlocal told
        _count_replayed(rows - told)
        told = rows

    with open_journal(location, read_only=True) as journal:
        return _check_range(journal, start, stop, heads, tell)


def _check_range(
    journal: Journal,
    start: str,
    stop: str | None,
    heads: bool,
    tell: Callable[[int], None] | None = None,
) -> _Checked:
    """Replay the campaigns from ``start`` up to ``stop``, one at a time; ``tell`` hears how
    many events were replayed, every ``PROGRESS_CAMPAIGNS`` campaigns and at the end."""
    first: tuple[int, str] | None = None
    head: tuple[int, str] | None = None  # a head unlike its events: reported last, if alone
    rows_seen, intact = 0, set()  # type: ignore[var-annotated]
    states: Counter[str] = Counter()
    with gc_paused():
        for n, rows in enumerate(journal.streams_whole(start, stop), 1):
            rows_seen += len(rows)
            if tell is not None and n % PROGRESS_CAMPAIGNS == 0:
                tell(rows_seen)
            found = campaign_problem(journal, rows, intact)
            if isinstance(found, CampaignState):
                states[found.state] += 1
                if heads and head is None:
                    head = head_problem(journal, found, rows)
            elif first is None or found[0] < first[0]:
                first = found
    if tell is not None:
        tell(rows_seen)
    return _Checked(first, head, dict(states), rows_seen)


REBUILD = "heads are derived: `cxpreview audit rebuild-heads` writes them again"


def campaign_problem(
    journal: Journal, rows: list[RawRow], intact: set[str]
) -> tuple[int, str] | CampaignState:
    """The first thing wrong with one campaign's rows (by version), as ``(seq, problem)``:
    versions that skip, an event that does not decode or may not follow the earlier ones, a
    state digest the fold does not give, an eligible set missing or altered. When nothing
    is, the campaign's state."""
    seq, found = stream_problem(rows)
    if seq is not None:
        return seq, str(found)
    stored: list[StoredEvent] = found  # type: ignore[assignment]
    replay = Replay()
    visit = replay_visitor(journal, replay, intact)
    for event in stored:
        problem = visit(event)
        if problem is not None:
            return event.seq, problem
    return replay.state(rows[0].stream_id)


def head_problem(journal: Journal, s: CampaignState, rows: list[RawRow]) -> tuple[int, str] | None:
    """Campaign ``s``'s stored head, against its state and its rows."""
    last = rows[-1]
    head = journal.head_of(s.id)
    if head is None:
        return last.seq, f"campaign {s.id} has no head ({REBUILD})"
    want = expected_head(s, rows[0].seq, last)
    for field in attrs.fields_dict(Head):
        if getattr(head, field) != getattr(want, field):
            return last.seq, (
                f"campaign {s.id}'s head says {field} {getattr(head, field)!r}, "
                f"its events give {getattr(want, field)!r} ({REBUILD})"
            )
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
    if_match: Revision | None
    new_version: Revision | None
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
    if_match: dict[str, Revision | None] = {}
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
