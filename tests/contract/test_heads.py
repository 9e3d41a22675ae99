"""Stream heads, against every backend: written in the transaction of each append, kept
in draft order with their first seq, filtered by the backend, dropped (and the heads no
longer ready) by an append without one, rebuilt from the events. And the lease an append is
written under, checked in that same transaction."""

from __future__ import annotations

import threading

import pytest

from events import CampaignCancelled, CampaignDrafted, RunRequested
from journal import (
    ConcurrencyError,
    HeadFields,
    InMemoryJournal,
    Journal,
    Lease,
    LeaseLost,
    ManualClock,
    SQLiteJournal,
    StoredEvent,
)
from journal import journal as journal_module


def fields(state: str, unfinished: bool = False, error: str | None = None) -> HeadFields:
    return HeadFields(state, "spring", "cmp-1", None, unfinished, error)


def drafted() -> CampaignDrafted:
    return CampaignDrafted({"name": "spring", "campaign_id": "cmp-1"})


def test_every_append_writes_its_streams_head(any_journal: SQLiteJournal | InMemoryJournal) -> None:
    j: Journal = any_journal
    assert j.heads_ready(), "a new journal has (no) heads, all of them"
    j.append("a", [drafted()], 0, head=fields("draft"))
    j.append("b", [drafted(), RunRequested("go")], 0, head=fields("draft", unfinished=True))
    j.append("a", [CampaignCancelled("no")], 1, head=fields("cancelled"))
    with pytest.raises(ConcurrencyError):  # nothing is written, the head neither
        j.append("a", [CampaignCancelled("again")], 1, head=fields("draft", error="lost"))
    a, b = j.heads()
    assert (a.stream_id, a.first_seq, a.version, a.state, a.last_seq) == ("a", 1, 2, "cancelled", 4)
    assert (a.last_type, a.last_at) == ("campaign.cancelled", j.read_stream("a")[-1].recorded_at)
    assert (b.stream_id, b.first_seq, b.version, b.last_type) == ("b", 2, 2, "run.requested")
    assert (a.name, a.remote_id, a.open_step, a.last_error) == ("spring", "cmp-1", None, None)
    assert [h.stream_id for h in j.heads(unfinished=True)] == ["b"]
    assert [h.stream_id for h in j.heads(state=["cancelled", "active"])] == ["a"]
    assert [h.stream_id for h in j.heads(newest=True, limit=1)] == ["b"]
    assert [h.stream_id for h in j.heads(since="9999-01-01T00:00:00.000000Z")] == []
    assert j.census() == {"cancelled": 1, "draft": 1}
    assert j.head_of("b") == b
    assert j.head_of("nothing") is None


def test_an_append_without_a_head_leaves_the_heads_to_be_rebuilt(
    any_journal: SQLiteJournal | InMemoryJournal,
) -> None:
    j: Journal = any_journal
    j.append("a", [drafted()], 0, head=fields("draft"))
    j.append("b", [drafted()], 0)  # a writer that knows nothing of heads
    assert not j.heads_ready()
    assert [h.stream_id for h in j.heads()] == ["a"]
    seen: list[list[StoredEvent]] = []
    done: list[int] = []

    def make(stored: list[StoredEvent]) -> HeadFields:
        seen.append(stored)
        return fields("draft", error=stored[0].stream_id)

    assert j.rebuild_heads(make, done.append) == 2
    assert j.heads_ready()
    assert [[e.seq for e in s] for s in seen] == [[1], [2]], "one stream at a time, in order"
    assert done == [1, 2]
    assert [(h.stream_id, h.first_seq, h.last_error) for h in j.heads()] == [
        ("a", 1, "a"),
        ("b", 2, "b"),
    ]


def test_an_import_leaves_the_heads_to_be_built(
    any_journal: SQLiteJournal | InMemoryJournal,
) -> None:
    source = InMemoryJournal()
    source.append("a", [drafted()], 0, head=fields("draft"))
    j: Journal = any_journal
    j.import_rows(source.raw_rows())
    assert not j.heads_ready()
    assert j.rebuild_heads(lambda stored: fields("draft")) == 1
    assert j.heads_ready()


def test_heads_stream_in_keyset_pages(
    any_journal: SQLiteJournal | InMemoryJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "PAGE", 3)
    j: Journal = any_journal
    for n in range(8):
        state = "cancelled" if n % 2 else "draft"
        j.append(f"s{n}", [drafted()], 0, head=fields(state))
    assert [h.stream_id for h in j.each_head()] == [f"s{n}" for n in range(8)]
    assert [h.stream_id for h in j.each_head(newest=True)] == [f"s{n}" for n in reversed(range(8))]
    assert [h.stream_id for h in j.each_head(state=["draft"])] == ["s0", "s2", "s4", "s6"]
    assert [h.stream_id for h in j.each_head()] == [h.stream_id for h in j.heads()]


def test_streams_are_read_whole_by_range_of_ids(
    any_journal: SQLiteJournal | InMemoryJournal,
) -> None:
    j: Journal = any_journal
    for name in ("c", "a", "b"):
        j.append(name, [drafted(), RunRequested("go")], 0)

    def ids(start: str = "", stop: str | None = None) -> list[str]:
        return [rows[0].stream_id for rows in j.streams_whole(start, stop)]

    assert ids() == ["a", "b", "c"]
    assert ids("b") == ["b", "c"]
    assert ids("a", "c") == ["a", "b"]
    assert [[r.version for r in rows] for rows in j.streams_whole()] == [[1, 2]] * 3
    bounds = j.stream_bounds(3)
    assert bounds == sorted(bounds)
    assert set(bounds) <= {"b", "c"}, "no range before the first stream"


def test_an_append_under_a_lease_that_moved_on_writes_nothing(
    any_journal: SQLiteJournal | InMemoryJournal, clock: ManualClock
) -> None:
    j: Journal = any_journal
    mine = j.acquire_lease("campaign:a", "me", 30)
    assert mine is not None
    fence = ("campaign:a", "me", mine.fence)
    j.append("a", [drafted()], 0, head=fields("draft"), fence=fence)
    clock.advance(60)  # expired, but nobody took it: still mine to write under
    j.append("a", [RunRequested("go")], 1, head=fields("draft"), fence=fence)
    theirs = j.acquire_lease("campaign:a", "them", 30)
    assert theirs is not None
    assert theirs.fence > mine.fence
    with pytest.raises(LeaseLost, match=r"no longer 'me'.s \(held by 'them'"):
        j.append("a", [CampaignCancelled("late")], 2, head=fields("cancelled"), fence=fence)
    assert j.stream_version("a") == 2, "nothing was written"
    head = j.head_of("a")
    assert head is not None
    assert head.state == "draft"
    j.append("a", [CampaignCancelled("theirs")], 2, fence=("campaign:a", "them", theirs.fence))
    assert j.release_lease(Lease("campaign:a", "them", theirs.fence, theirs.expires_at))
    with pytest.raises(LeaseLost, match="released"):
        j.append("a", [CampaignCancelled("after")], 3, fence=("campaign:a", "them", theirs.fence))


def test_appends_from_many_threads_at_once_each_land_whole_or_fail_alone(
    any_journal: SQLiteJournal | InMemoryJournal,
) -> None:
    j: Journal = any_journal
    start = threading.Barrier(12)
    clashes: list[int] = []
    mine: dict[str, list[int]] = {}

    def own(k: int) -> None:  # 8 threads, a stream each: every append lands
        start.wait()
        seqs = []
        for i in range(25):
            stored = j.append(
                f"own{k}", [RunRequested(f"{k}-{i}")] * 2, 2 * i, head=fields("draft")
            )
            assert [s.stream_id for s in stored] == [f"own{k}"] * 2
            seqs += [s.seq for s in stored]
        mine[f"own{k}"] = seqs

    def shared(k: int) -> None:  # 4 threads racing on one stream: losers fail alone
        start.wait()
        lost = 0
        for i in range(25):
            try:
                j.append("shared", [RunRequested(f"s{k}-{i}")], j.stream_version("shared"))
            except ConcurrencyError:
                lost += 1
        clashes.append(lost)

    threads = [threading.Thread(target=own, args=(k,)) for k in range(8)]
    threads += [threading.Thread(target=shared, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mine) == 8
    for name, seqs in mine.items():
        assert [e.seq for e in j.read_stream(name)] == seqs, "each caller got its own rows"
        assert j.stream_version(name) == 50
    assert j.stream_version("shared") == 100 - sum(clashes)
    assert j.verify().ok, "one chain, in order"
    assert j.census() == {"draft": 8}
