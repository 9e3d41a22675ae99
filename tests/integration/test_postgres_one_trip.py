"""A PostgreSQL append in one round trip (journal/postgres_append.py): taken when the writer
knows the chain's head, and whenever one of its checks fails (the chain moved, the version,
the lease, the claim, a known command) it writes nothing and the long way says what failed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from events import CampaignDrafted, ValidationRequested
from journal import ConcurrencyError, HeadFields, LeaseLost
from journal.postgres import PostgresJournal
from tests.integration.test_postgres_journal import behind_their_lock
from tests.postgres import fresh_schema

HEAD = HeadFields("validated", "spring", "cmp-1001", "validation", True, None)


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        yield fresh


def step(n: int) -> list[ValidationRequested]:
    return [ValidationRequested(f"s{n}")]


def test_headed_appends_go_in_one_round_trip_and_form_one_chain(url: str) -> None:
    with PostgresJournal(url) as journal:
        journal.append("c", [CampaignDrafted({"name": "x"})], 0, claim="k", head=HEAD)
        assert journal.recorder.one_trips == 0, "the first learns the chain's head"
        for v in range(1, 11):
            journal.append("c", step(v), v, command_id=f"cmd{v}", claim="k", head=HEAD)
        two = [ValidationRequested("a"), ValidationRequested("b")]
        stored = journal.append("c", two, 11, head=HEAD)
        assert journal.recorder.one_trips == 11
        assert [e.version for e in stored] == [12, 13]
        assert journal.verify().ok
        (head,) = journal.heads()
        assert (head.version, head.first_seq, head.last_seq) == (13, 1, 13)
        assert journal.claim_holder("k") == ("c", True)
        again = journal.append("c", step(5), 5, command_id="cmd5", claim="k", head=HEAD)
        assert [e.version for e in again] == [6], "a known command: its events, not new ones"
        assert journal.stream_version("c") == 13


def test_another_host_moving_the_chain_sends_the_next_append_the_long_way(url: str) -> None:
    ours, theirs = PostgresJournal(url), PostgresJournal(url)
    ours.append("c", step(0), 0, head=HEAD)
    ours.append("c", step(1), 1, head=HEAD)
    assert ours.recorder.one_trips == 1
    theirs.append("d", step(0), 0, head=HEAD)  # the chain moves on under ours
    ours.append("c", step(2), 2, head=HEAD)
    assert ours.recorder.one_trips == 1, "its check found the chain moved: nothing written"
    assert [e.version for e in ours.read_stream("c")] == [1, 2, 3], "the long way wrote it"
    assert ours.verify().ok
    for v in range(3, 20):  # a while the long way, then one trip again
        ours.append("c", step(v), v, head=HEAD)
    assert ours.recorder.one_trips > 1
    assert ours.verify().ok
    ours.close()
    theirs.close()


def test_a_wrong_version_or_a_lost_lease_writes_nothing(url: str) -> None:
    with PostgresJournal(url) as journal:
        lease = journal.acquire_lease("campaign:c", "run:a", 60)
        assert lease is not None
        fence = ("campaign:c", "run:a", lease.fence)
        journal.append("c", step(0), 0, head=HEAD, fence=fence)
        journal.append("c", step(1), 1, head=HEAD, fence=fence)
        assert journal.recorder.one_trips == 1
        with pytest.raises(ConcurrencyError):
            journal.append("c", step(9), 1, head=HEAD, fence=fence)
        taken = journal.acquire_lease("campaign:c", "run:b", 60, replace="run:a")
        assert taken is not None
        for _ in range(20):  # whichever way it goes, nothing is written under a lost lease
            with pytest.raises(LeaseLost, match="no longer"):
                journal.append("c", step(2), 2, head=HEAD, fence=fence)
        assert journal.stream_version("c") == 2
        assert journal.verify().ok


def test_a_claim_the_stream_does_not_hold_goes_the_long_way(url: str) -> None:
    with PostgresJournal(url) as journal:
        journal.append("c", step(0), 0, head=HEAD)
        journal.append("c", step(1), 1, head=HEAD)
        trips = journal.recorder.one_trips
        journal.append("c", step(2), 2, claim="k", head=HEAD)  # not held yet: settled
        assert journal.recorder.one_trips == trips
        assert journal.claim_holder("k") == ("c", True)
        assert journal.verify().ok


def test_one_trip_behind_another_hosts_lock_finds_the_chain_moved(url: str) -> None:
    """Ours waits for the chain's lock held by their append; once they commit, the chain is
    not where ours left it: ours writes nothing, and the long way finds the version moved."""
    from journal.records import prepare_append  # noqa: PLC0415

    ours, theirs = PostgresJournal(url), PostgresJournal(url)
    ours.append("c", [CampaignDrafted({"name": "x"})], 0, head=HEAD)
    event = step(1)
    prep = prepare_append("c", event, 1, None, None)
    outcome = behind_their_lock(
        url, theirs, event, prep, command=None, ours=lambda: ours.append("c", event, 1, head=HEAD)
    )
    assert isinstance(outcome[0], ConcurrencyError)
    assert ours.recorder.one_trips == 0
    assert ours.stream_version("c") == 2
    assert ours.verify().ok
    ours.close()
    theirs.close()


def test_a_group_goes_in_one_round_trip_and_a_failing_caller_fails_alone(url: str) -> None:
    """Several callers queued together: one transaction, one pipeline; the one whose check
    fails (a wrong version) writes nothing and is told so by the long way, the rest commit."""
    from journal.records import chain, prepare_append  # noqa: PLC0415
    from journal.sqlite_append import Queued  # noqa: PLC0415

    with PostgresJournal(url) as journal:
        for name in "abc":
            journal.append(name, step(0), 0, head=HEAD)
        recorder = journal.recorder
        before = recorder.one_trips

        def queued(name: str, expected: int) -> Queued:
            event = step(expected + 1)
            prep = prepare_append(name, event, expected, None, None)

            def rows_after(seq: int, version: int, prev: str) -> list[tuple[object, ...]]:
                return chain(name, event, prep, (seq, version, prev), "2026-12-07T00:00:00Z")[0]

            return Queued(name, expected, rows_after, None, None, HEAD, None)

        group = [queued("a", 1), queued("b", 7), queued("c", 1)]  # b is not at version 7
        recorder._locked_commit(group)
        assert recorder.one_trips == before + 1, "a went in one trip; b failed its check"
        assert group[0].result is not None
        assert isinstance(group[1].error, ConcurrencyError), "the long way says what failed"
        assert group[2].result is not None, "c, after b, went the long way"
        assert [journal.stream_version(n) for n in "abc"] == [2, 1, 2]
        assert journal.verify().ok


def test_many_threads_appending_form_one_chain_by_one_round_trips(url: str) -> None:
    with PostgresJournal(url) as journal:
        journal.append("warm", step(0), 0, head=HEAD)
        start = threading.Barrier(8)

        def work(k: int) -> None:
            start.wait()
            for v in range(15):
                journal.append(f"t{k}", step(v), v, head=HEAD)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [journal.stream_version(f"t{k}") for k in range(8)] == [15] * 8
        assert journal.recorder.one_trips >= 100, "groups went in one trip too"
        assert journal.verify().ok
