"""Claims: at most one live stream writes to a named outside resource (a CXone campaign).

A claim is taken in the same transaction as an append (a campaign's draft takes its CXone
campaign's claim), kept by every later append of its holder, and released when the holder ends.
A released claim passes only forward: a stream may take it only if it began after the last
holder began, so a stream that was superseded (a newer one held the claim since) can never take
it back and write over the newer one's work.

The rule is written once here and used by every backend; the backends only store rows of
``(name, stream_id, since_seq, held)`` where ``since_seq`` is the holder's first seq.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from journal.errors import ClaimRefused


class ClaimRow(NamedTuple):
    """A claim as stored: who holds (or last held) ``name``, since when, and whether still."""

    name: str
    stream_id: str
    since_seq: int
    held: bool


def decide(
    row: ClaimRow | None, name: str, stream_id: str, first_seq: int, *, fresh: bool = False
) -> ClaimRow | None:
    """The row to write so that ``stream_id`` holds ``name`` (None: nothing to write), or
    ``ClaimRefused`` naming the live holder or the newer stream that superseded this one.

    A ``fresh`` claim (the stream is being pointed at ``name`` now, by a draft or a revise)
    may take any released claim; a kept one only passes forward.
    """
    if row is None:
        return ClaimRow(name, stream_id, first_seq, True)
    if row.stream_id == stream_id:
        return None if row.held else row._replace(held=True)
    if row.held:
        raise ClaimRefused(name, row.stream_id, superseded=False)
    if fresh or first_seq > row.since_seq:
        return ClaimRow(name, stream_id, max(first_seq, row.since_seq), True)
    raise ClaimRefused(name, row.stream_id, superseded=True)


def hold_in_sqlite(
    conn: sqlite3.Connection,
    name: str,
    stream_id: str,
    first_seq: int | None,
    *,
    fresh: bool = False,
) -> None:
    """Take or keep claim ``name`` for the stream, inside the caller's write transaction."""
    found = conn.execute(
        "SELECT name, stream_id, since_seq, held FROM claims WHERE name = ?", (name,)
    ).fetchone()
    row = None if found is None else ClaimRow(found[0], found[1], found[2], bool(found[3]))
    if row is not None and row.stream_id == stream_id and row.held:
        return  # the hot path: every append of a live campaign keeps its claim
    if first_seq is None:
        first = conn.execute(
            "SELECT seq FROM events WHERE stream_id = ? AND version = 1", (stream_id,)
        ).fetchone()
        if first is None:
            raise ValueError(f"stream {stream_id!r} has no events: it cannot hold a claim")
        first_seq = int(first[0])
    write = decide(row, name, stream_id, first_seq, fresh=fresh)
    if write is not None:
        conn.execute(
            "INSERT INTO claims VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "stream_id = excluded.stream_id, since_seq = excluded.since_seq, held = excluded.held",
            (write.name, write.stream_id, write.since_seq, int(write.held)),
        )
