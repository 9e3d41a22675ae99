"""Walking the hash chain: the one verifier every backend feeds its raw rows to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from events import EventDecodeError
from journal.errors import JournalCorrupt
from journal.records import GENESIS, Anchor, ChainReport, RawRow, StoredEvent, Visitor, row_hash


def walk_chain(
    rows: Iterable[RawRow], visitor: Visitor | None = None, anchor: Anchor | None = None
) -> ChainReport:
    """Check every row in seq order; report the first problem and stop there.

    A row is good when its seq follows the previous one, its ``prev_hash`` is the previous
    row's hash, its own hash recomputes from its fields, its version follows the previous one of
    its stream, its event decodes, and ``visitor`` (the engine's replay) has nothing to say.
    A chain is only as long as it says it is: removing the newest events leaves a valid, shorter
    chain, which only an ``anchor`` noted earlier reveals.
    """
    prev_seq, prev_hash, count = 0, GENESIS, 0
    versions: dict[str, int] = {}
    for row in rows:
        problem = row_problem(row, prev_seq, prev_hash, versions.get(row.stream_id, 0))
        if (
            problem is None
            and anchor is not None
            and row.seq == anchor[0]
            and row.hash != anchor[1]
        ):
            problem = "the hash differs from the anchor noted earlier: history was rewritten"
        if problem is None:
            try:
                stored = row.decoded()
                stored.meta  # noqa: B018 - read to check it: a meta that is not an object fails
            except EventDecodeError as exc:
                problem = f"event does not decode: {exc}"
            except JournalCorrupt:
                problem = "its meta is not a JSON object"
            else:
                problem = visitor(stored) if visitor is not None else None
        if problem is not None:
            return ChainReport(False, count, row.seq, problem, (prev_seq, prev_hash))
        prev_seq, prev_hash, count = row.seq, row.hash, count + 1
        versions[row.stream_id] = row.version
    if anchor is not None and anchor[0] > prev_seq:
        return ChainReport(
            False,
            count,
            prev_seq + 1,
            f"the chain ends at seq {prev_seq} but was anchored at seq {anchor[0]}: "
            "events were removed from the end",
            (prev_seq, prev_hash),
        )
    return ChainReport(True, count, head=(prev_seq, prev_hash))


PROGRESS_EVERY = 4096
"""Rows between two reports of a long walk's progress."""


def counted(rows: Iterable[RawRow], progress: Callable[[int], None] | None) -> Iterable[RawRow]:
    """``rows``, telling ``progress`` how many went by every ``PROGRESS_EVERY`` and at the
    end (``rows`` itself when there is no one to tell)."""
    if progress is None:
        return rows

    def telling() -> Iterator[RawRow]:
        n = 0
        for row in rows:
            yield row
            n += 1
            if n % PROGRESS_EVERY == 0:
                progress(n)
        progress(n)

    return telling()


def walk_links(rows: Iterable[RawRow], anchor: Anchor | None = None) -> ChainReport:
    """The chain alone, in O(1) memory: every row's seq follows the previous one, its
    ``prev_hash`` is the previous row's hash, its hash recomputes, and ``anchor`` is on it.
    What each stream's rows mean (versions, decoding, the fold) is checked stream by stream
    (``stream_problem`` and the engine's replay)."""
    prev_seq, prev_hash, count = 0, GENESIS, 0
    for row in rows:
        problem = link_problem(row, prev_seq, prev_hash)
        rewritten = anchor is not None and row.seq == anchor[0] and row.hash != anchor[1]
        if problem is None and rewritten:
            problem = "the hash differs from the anchor noted earlier: history was rewritten"
        if problem is not None:
            return ChainReport(False, count, row.seq, problem, (prev_seq, prev_hash))
        prev_seq, prev_hash, count = row.seq, row.hash, count + 1
    if anchor is not None and anchor[0] > prev_seq:
        return ChainReport(
            False,
            count,
            prev_seq + 1,
            f"the anchor seq {anchor[0]} is past the end of the chain (seq {prev_seq}): "
            "the newest events were removed",
            (prev_seq, prev_hash),
        )
    return ChainReport(True, count, head=(prev_seq, prev_hash))


def stream_problem(rows: Sequence[RawRow]) -> tuple[int, str] | tuple[None, list[StoredEvent]]:
    """One stream's rows (by version) checked for what the chain walk does not see: versions
    that skip, an event or a meta that does not decode. ``(seq, problem)``, or ``(None, the
    stored events)``."""
    stored = []
    for expected_version, row in enumerate(rows, 1):
        if row.version != expected_version:
            return row.seq, (
                f"stream {row.stream_id!r} jumps from version {expected_version - 1} "
                f"to {row.version}"
            )
        try:
            event = row.decoded()
            event.meta  # noqa: B018 - read to check it: a meta that is not an object fails
        except EventDecodeError as exc:
            return row.seq, f"event does not decode: {exc}"
        except JournalCorrupt:
            return row.seq, "its meta is not a JSON object"
        stored.append(event)
    return None, stored


def check_stream_rows(stream_id: str, rows: Iterable[RawRow]) -> None:
    """``JournalCorrupt`` naming the seq when one of a stream's rows no longer hashes to what
    was written, or its versions skip: the check a command makes before acting on a campaign."""
    for expected_version, row in enumerate(rows, 1):
        if row.version != expected_version:
            raise JournalCorrupt(
                f"seq {row.seq}: campaign {stream_id} jumps from version {expected_version - 1} "
                f"to {row.version}: events are missing; nothing was done "
                "(`cxpreview audit verify` reports the whole journal)",
                row.seq,
            )
        if row.hash != _hash_of(row):
            raise JournalCorrupt(
                f"seq {row.seq}: the row of campaign {stream_id} v{row.version} was changed after "
                "it was written (its hash does not match); nothing was done "
                "(`cxpreview audit verify` reports the whole journal)",
                row.seq,
            )


def _hash_of(row: RawRow) -> str:
    return row_hash(
        row.prev_hash,
        row.seq,
        row.stream_id,
        row.version,
        row.type,
        row.schema,
        row.data,
        row.meta,
        row.recorded_at,
        row.state_digest,
    )


def link_problem(row: RawRow, prev_seq: int, prev_hash: str) -> str | None:
    """What is wrong with ``row``'s place in the chain (seq, link, hash), or ``None``."""
    if row.seq != prev_seq + 1:
        return f"expected seq {prev_seq + 1} next, found seq {row.seq}: events are missing"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous event's hash: rows were removed or moved"
    if row.hash != _hash_of(row):
        return "hash does not match the row's contents: the row was changed after it was written"
    return None


def row_problem(row: RawRow, prev_seq: int, prev_hash: str, prev_version: int) -> str | None:
    """What is wrong with ``row`` where it stands in the chain, or ``None``."""
    linked = link_problem(row, prev_seq, prev_hash)
    if linked is not None:
        return linked
    if row.version != prev_version + 1:
        return f"stream {row.stream_id!r} jumps from version {prev_version} to {row.version}"
    return None


def checked_rows(rows: Iterable[RawRow]) -> Iterator[StoredEvent]:
    """``rows`` decoded, each checked where it stands in the chain as ``verify`` does:
    ``JournalCorrupt`` naming the seq of the first that is not as written (what a view reads
    over the whole journal, so it never shows a forged value)."""
    prev_seq, prev_hash = 0, GENESIS
    versions: dict[str, int] = {}
    for row in rows:
        problem = row_problem(row, prev_seq, prev_hash, versions.get(row.stream_id, 0))
        if problem is not None:
            raise JournalCorrupt(f"seq {row.seq}: {problem}", row.seq)
        try:
            stored = row.decoded()
        except EventDecodeError as exc:
            raise JournalCorrupt(f"seq {row.seq}: event does not decode: {exc}", row.seq) from exc
        prev_seq, prev_hash = row.seq, row.hash
        versions[row.stream_id] = row.version
        yield stored
