"""The journal contract: every backend (SQLite on a file, SQLite in memory, in-memory) passes it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from events import (
    CODEC,
    CampaignCancelled,
    CampaignDrafted,
    ValidationFailed,
    ValidationRequested,
    canonical_json,
)
from journal import (
    BlobNotFound,
    ClaimRefused,
    CommandConflict,
    ConcurrencyError,
    InMemoryJournal,
    JournalCorrupt,
    JournalError,
    LeaseLost,
    ManualClock,
    SQLiteJournal,
    StoredEvent,
    utc_text,
)
from journal.records import row_hash
from journal.transfer import read_jsonl, write_jsonl

Journal = SQLiteJournal | InMemoryJournal


def drafted(name: str = "x") -> CampaignDrafted:
    return CampaignDrafted({"name": name})


def test_append_then_read_back(any_journal: Journal, clock: ManualClock) -> None:
    stored = any_journal.append(
        "c1", [drafted(), ValidationRequested("s1")], 0, meta={"actor": "tester"}
    )
    assert [(s.seq, s.version, s.type) for s in stored] == [
        (1, 1, "campaign.drafted"),
        (2, 2, "validation.requested"),
    ]
    assert any_journal.read_stream("c1") == stored
    assert stored[0].meta == {"actor": "tester"}
    assert stored[0].recorded_at == utc_text(clock.now())
    assert any_journal.stream_version("c1") == 2
    assert any_journal.stream_version("nobody") == 0
    assert any_journal.read_stream("nobody") == []
    assert any_journal.last_seq() == 2


def test_a_command_id_is_kept_in_the_meta(any_journal: Journal) -> None:
    stored = any_journal.append("c2", [drafted()], 0, command_id="cmd-9", meta={"actor": "t"})
    assert stored[0].meta == {"actor": "t", "command_id": "cmd-9"}


def test_streams_interleave_in_global_order(any_journal: Journal) -> None:
    any_journal.append("a", [drafted("a")], 0)
    any_journal.append("b", [drafted("b")], 0)
    any_journal.append("a", [ValidationRequested("s")], 1)
    assert [(s.seq, s.stream_id, s.version) for s in any_journal.read_all()] == [
        (1, "a", 1),
        (2, "b", 1),
        (3, "a", 2),
    ]
    assert list(any_journal.streams()) == [("a", 2), ("b", 1)]
    assert [s.seq for s in any_journal.read_all(after_seq=1)] == [2, 3]
    assert [s.seq for s in any_journal.read_all(after_seq=0, limit=2)] == [1, 2]
    assert [s.version for s in any_journal.read_stream("a", up_to_version=1)] == [1]


def test_read_all_streams_past_a_page(any_journal: Journal) -> None:
    for i in range(1203):
        any_journal.append(f"c{i}", [drafted()], 0)
    seqs = [s.seq for s in any_journal.read_all()]
    assert seqs == list(range(1, 1204))
    assert [s.seq for s in any_journal.read_all(after_seq=999, limit=3)] == [1000, 1001, 1002]


def test_a_stale_expected_version_is_refused_and_nothing_is_written(any_journal: Journal) -> None:
    any_journal.append("c1", [drafted()], 0)
    with pytest.raises(ConcurrencyError) as caught:
        any_journal.append("c1", [ValidationRequested("s1"), CampaignCancelled()], 0)
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("c1", 0, 1)
    assert "'c1'" in str(caught.value)
    assert "version 1" in str(caught.value)
    assert any_journal.last_seq() == 1
    assert any_journal.verify().ok


def test_an_unencodable_event_fails_the_whole_append(any_journal: Journal) -> None:
    with pytest.raises(ValueError, match="latency_ms: expected a finite number, found inf"):
        any_journal.append("c1", [drafted(), ValidationFailed("s", (), True, float("inf"))], 0)
    assert any_journal.last_seq() == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"stream_id": "", "events": [drafted()], "expected_version": 0},
        {"stream_id": "c", "events": [], "expected_version": 0},
        {"stream_id": "c", "events": [drafted()], "expected_version": -1},
    ],
)
def test_malformed_appends_are_refused(any_journal: Journal, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"stream_id|at least one event|expected_version"):
        any_journal.append(**bad)  # type: ignore[arg-type]


def test_a_repeated_command_returns_the_earlier_events(any_journal: Journal) -> None:
    first = any_journal.append("c1", [drafted()], 0, command_id="cmd-1")
    again = any_journal.append("c1", [drafted()], 0, command_id="cmd-1")
    assert again == first
    assert any_journal.last_seq() == 1


def test_a_command_id_reused_for_other_events_is_an_error(any_journal: Journal) -> None:
    any_journal.append("c1", [drafted()], 0, command_id="cmd-1")
    with pytest.raises(CommandConflict, match="cmd-1"):
        any_journal.append("c1", [ValidationRequested("s")], 1, command_id="cmd-1")
    assert any_journal.last_seq() == 1


def test_each_row_extends_the_hash_chain(any_journal: Journal) -> None:
    stored = any_journal.append("c1", [drafted(), ValidationRequested("s")], 0)
    stored += any_journal.append("c2", [drafted()], 0)
    assert stored[0].prev_hash == "0" * 64
    assert [s.prev_hash for s in stored[1:]] == [s.hash for s in stored[:-1]]
    assert len({s.hash for s in stored}) == 3
    report = any_journal.verify()
    assert report.ok
    assert report.events == 3


def test_verify_reports_what_the_visitor_finds(any_journal: Journal) -> None:
    any_journal.append("c1", [drafted(), ValidationRequested("s")], 0)

    def visitor(event: StoredEvent) -> str | None:
        return "not on a Tuesday" if event.seq == 2 else None

    report = any_journal.verify(visitor)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 2, "not on a Tuesday")


def test_state_digests_are_stored_with_their_events(any_journal: Journal) -> None:
    any_journal.append(
        "c1", [drafted(), ValidationRequested("s")], 0, state_digests=["sha256:a", "sha256:b"]
    )
    assert [s.state_digest for s in any_journal.read_stream("c1")] == ["sha256:a", "sha256:b"]
    with pytest.raises(ValueError, match="2 events but 1 state digests"):
        any_journal.append(
            "c2", [drafted(), ValidationRequested("s")], 0, state_digests=["sha256:a"]
        )


@pytest.mark.parametrize(
    "text",
    [
        "Robert'); DROP TABLE events;--",
        "tab\tnew\nline\x00nul\x1bescape",
        "ünïcødé ✓ 🚀",
    ],
)
def test_awkward_text_round_trips_unchanged(any_journal: Journal, text: str) -> None:
    stream = text.replace("\x00", "")  # a NUL is no part of an id (the next test)
    any_journal.append(
        stream, [CampaignDrafted({"name": text, text: [text]})], 0, meta={"actor": text}
    )
    (stored,) = any_journal.read_stream(stream)
    assert stored.stream_id == stream
    assert stored.event == CampaignDrafted({"name": text, text: [text]})
    assert stored.meta == {"actor": text}
    assert any_journal.verify().ok


def test_a_stream_id_with_a_nul_is_refused_on_every_backend(any_journal: Journal) -> None:
    with pytest.raises(JournalError, match="NUL"):
        any_journal.append("c\x00d", [drafted()], 0)
    assert any_journal.last_seq() == 0


def test_blobs_are_content_addressed(any_journal: Journal) -> None:
    digest = any_journal.put_blob(b"c1\t+14155550100\n")
    assert digest.startswith("sha256:")
    assert any_journal.put_blob(b"c1\t+14155550100\n") == digest
    assert any_journal.get_blob(digest) == b"c1\t+14155550100\n"
    with pytest.raises(BlobNotFound):
        any_journal.get_blob("sha256:" + "0" * 64)


def test_a_lease_excludes_others_until_it_expires(any_journal: Journal, clock: ManualClock) -> None:
    first = any_journal.acquire_lease("c1", "sup-a", ttl=30)
    assert first is not None
    assert first.fence == 1
    assert any_journal.acquire_lease("c1", "sup-b", ttl=30) is None
    assert any_journal.current_lease("c1") == first
    clock.advance(31)
    assert any_journal.current_lease("c1") is None
    second = any_journal.acquire_lease("c1", "sup-b", ttl=30)
    assert second is not None
    assert second.fence == 2
    with pytest.raises(LeaseLost, match="sup-a"):
        any_journal.renew_lease(first, ttl=30)
    assert not any_journal.release_lease(first)
    assert any_journal.release_lease(second)
    assert any_journal.current_lease("c1") is None
    third = any_journal.acquire_lease("c1", "sup-a", ttl=30)
    assert third is not None
    assert third.fence == 3, "the fence grows on every acquire"


def test_renewing_extends_a_lease(any_journal: Journal, clock: ManualClock) -> None:
    lease = any_journal.acquire_lease("c1", "sup-a", ttl=10)
    assert lease is not None
    clock.advance(8)
    renewed = any_journal.renew_lease(lease, ttl=10)
    assert renewed.fence == lease.fence
    assert renewed.expires_at > lease.expires_at
    clock.advance(8)
    assert any_journal.acquire_lease("c1", "sup-b", ttl=10) is None
    with pytest.raises(ValueError, match="ttl"):
        any_journal.acquire_lease("c2", "sup-a", ttl=0)


def test_an_owner_may_acquire_again_and_gets_a_new_fence(any_journal: Journal) -> None:
    a = any_journal.acquire_lease("c1", "sup-a", ttl=10)
    b = any_journal.acquire_lease("c1", "sup-a", ttl=10)
    assert a is not None
    assert b is not None
    assert b.fence == a.fence + 1
    with pytest.raises(LeaseLost):
        any_journal.renew_lease(a, ttl=10)


def test_appended_hashes_are_the_documented_row_hash(any_journal: Journal) -> None:
    any_journal.append("c1", [drafted(), ValidationRequested("s")], 0, state_digests=["d1", None])
    for r in any_journal.read_all():
        data = CODEC.encode(r.event)[2]
        assert r.hash == row_hash(
            r.prev_hash,
            r.seq,
            r.stream_id,
            r.version,
            r.type,
            r.schema,
            data,
            r.meta_json,
            r.recorded_at,
            r.state_digest,
        )


def _exported(source: Journal) -> str:
    out = io.StringIO()
    write_jsonl(source.raw_rows(), out)
    return out.getvalue()


def _source() -> InMemoryJournal:
    source = InMemoryJournal(clock=ManualClock())
    source.append(
        "c1",
        [drafted("a"), ValidationRequested("s")],
        0,
        command_id="cmd-1",
        meta={"actor": "x"},
        state_digests=["d1", "d2"],
    )
    source.append("c2", [drafted("b")], 0)
    source.append("c1", [CampaignCancelled("r")], 2, command_id="cmd-2")
    return source


def test_an_export_imports_into_an_empty_journal_and_verifies_identically(
    any_journal: Journal,
) -> None:
    source = _source()
    assert any_journal.import_rows(read_jsonl(_exported(source).splitlines())) == 4
    assert any_journal.verify().head == source.verify().head
    assert list(any_journal.read_all()) == list(source.read_all())
    again = any_journal.append(
        "c1", [drafted("a"), ValidationRequested("s")], 0, command_id="cmd-1"
    )
    assert [e.seq for e in again] == [1, 2], "command ids survive the trip"
    with pytest.raises(JournalError, match="already has events"):
        any_journal.import_rows(read_jsonl(_exported(source).splitlines()))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[:1] + lines[2:], "seq 3: expected seq 2 next"),
        (
            lambda lines: [
                lines[0],
                lines[1].replace('"stream_id":"c1"', '"stream_id":"c9"'),
                *lines[2:],
            ],
            "seq 2: hash does not match",
        ),
        (lambda lines: [*lines[:2], "{not json", *lines[3:]], "line 4: not JSON"),
        (lambda lines: [*lines[:2], '{"seq": 3}', *lines[3:]], "line 4: expected the fields"),
    ],
)
def test_a_damaged_export_imports_nothing(any_journal: Journal, edit: Any, message: str) -> None:
    header, *rows = _exported(_source()).splitlines()  # the rows, after the export's header
    with pytest.raises(JournalCorrupt, match=message):
        any_journal.import_rows(read_jsonl([header, *edit(rows)]))
    assert any_journal.last_seq() == 0


def test_an_export_writes_data_and_meta_as_objects_and_reads_either_shape(
    any_journal: Journal,
) -> None:
    source = _source()
    header, *lines = _exported(source).splitlines()
    assert json.loads(header) == {"format": "cxpreview-export", "version": 2}
    rows = [json.loads(line) for line in lines]
    assert all(isinstance(r["data"], dict) and isinstance(r["meta"], dict) for r in rows)
    as_text = [
        canonical_json({**r, "data": canonical_json(r["data"]), "meta": canonical_json(r["meta"])})
        for r in rows
    ]  # what release 0.1.0 wrote: no header, JSON text inside JSON
    assert any_journal.import_rows(read_jsonl(as_text)) == len(rows)
    assert any_journal.verify().head == source.verify().head


def test_an_export_from_a_newer_cxpreview_is_refused(any_journal: Journal) -> None:
    newer = ['{"format":"cxpreview-export","version":3}']
    with pytest.raises(JournalCorrupt, match="export version 3; this cxpreview reads"):
        any_journal.import_rows(read_jsonl(newer))


# --- claims: one live stream per named outside resource ------------------------------------


def test_a_claim_is_taken_with_the_append_and_refuses_a_second_stream(any_journal: Journal) -> None:
    any_journal.append("a", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    assert any_journal.claim_holder("cxone:1") == ("a", True)
    with pytest.raises(ClaimRefused) as refused:
        any_journal.append("b", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    assert (refused.value.holder, refused.value.superseded) == ("a", False)
    assert any_journal.read_stream("b") == [], "a refused claim writes nothing"
    assert any_journal.last_seq() == 1
    any_journal.append("a", [ValidationRequested("s")], 1, claim="cxone:1")  # kept
    any_journal.hold_claim("cxone:1", "a")


def test_a_released_claim_passes_only_forward(any_journal: Journal) -> None:
    # "old" began first but never held it (a journal written before claims existed).
    any_journal.append("old", [drafted()], 0)
    any_journal.append("new", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    with pytest.raises(ClaimRefused, match="held by new"):
        any_journal.hold_claim("cxone:1", "old")
    any_journal.append("new", [CampaignCancelled()], 1, release="cxone:1")
    assert any_journal.claim_holder("cxone:1") == ("new", False)
    with pytest.raises(ClaimRefused) as refused:  # the newer one held it since: superseded
        any_journal.append("old", [ValidationRequested("s")], 1, claim="cxone:1")
    assert (refused.value.holder, refused.value.superseded) == ("new", True)
    assert any_journal.stream_version("old") == 1
    # A stream begun after the last holder takes the released claim; one pointed at it anew
    # (a revise) may too.
    any_journal.append("later", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    assert any_journal.claim_holder("cxone:1") == ("later", True)
    any_journal.append("later", [CampaignCancelled()], 1, release="cxone:1")
    any_journal.append("old", [ValidationRequested("s")], 1, claim="cxone:1", fresh_claim=True)
    assert any_journal.claim_holder("cxone:1") == ("old", True)


def test_one_append_moves_a_stream_from_one_claim_to_another(any_journal: Journal) -> None:
    any_journal.append("a", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    any_journal.append(
        "a", [ValidationRequested("s")], 1, claim="cxone:2", release="cxone:1", fresh_claim=True
    )
    assert any_journal.claim_holder("cxone:1") == ("a", False)
    assert any_journal.claim_holder("cxone:2") == ("a", True)
    any_journal.append("b", [drafted()], 0, claim="cxone:1", fresh_claim=True)


def test_a_claim_refused_inside_a_failing_append_changes_no_claim(any_journal: Journal) -> None:
    any_journal.append("a", [drafted()], 0, claim="cxone:1", fresh_claim=True)
    any_journal.append("b", [drafted()], 0, claim="cxone:2", fresh_claim=True)
    with pytest.raises(ClaimRefused):  # b would give 2 up and take 1: neither happens
        any_journal.append("b", [ValidationRequested("s")], 1, claim="cxone:1", release="cxone:2")
    assert any_journal.claim_holder("cxone:2") == ("b", True)
    assert any_journal.stream_version("b") == 1


def test_a_dead_holders_lease_is_taken_over_only_when_named(
    any_journal: Journal, clock: ManualClock
) -> None:
    held = any_journal.acquire_lease("campaign:x", "run:dead", ttl=60)
    assert held is not None
    assert any_journal.acquire_lease("campaign:x", "sup", ttl=60) is None
    assert any_journal.acquire_lease("campaign:x", "sup", ttl=60, replace="run:other") is None
    taken = any_journal.acquire_lease("campaign:x", "sup", ttl=60, replace="run:dead")
    assert taken is not None
    assert taken.fence == held.fence + 1
    with pytest.raises(LeaseLost):
        any_journal.renew_lease(held, 60)
