"""One caller's append inside an SQLite journal's write transaction (journal/sqlite.py runs
the transaction, and the group commit around it): the command-id check, the fence, the
version check, the rows, the command record, the claims and the stream's head. The SQL it
writes with is built from constant column lists, never from input.
"""

from __future__ import annotations

import sqlite3
import threading

import attrs

from events.crash import crash_point
from journal import claims as claims_rules
from journal import leases as leases_rules
from journal.claims import ClaimChange, ClaimRow
from journal.errors import ConcurrencyError
from journal.heads import HEAD_COLUMNS, HeadFields, head_row
from journal.recorder import Appended, Fence, RowsAfter
from journal.records import GENESIS
from journal.schema import EVENT_COLUMNS

INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
FULL = f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608
TIP = (
    "SELECT (SELECT max(version) FROM events WHERE stream_id = ?), seq, hash "
    "FROM events ORDER BY seq DESC LIMIT 1"
)
"""A stream's version and the chain's head in one statement (the hot path)."""
_KEPT = ", ".join(
    f"{c} = excluded.{c}" for c in HEAD_COLUMNS if c not in ("stream_id", "first_seq")
)
PUT_HEAD = (  # a stream's first seq stays as its first append wrote it
    f"INSERT INTO heads ({', '.join(HEAD_COLUMNS)}) "  # noqa: S608 - constants only
    f"VALUES ({', '.join('?' * len(HEAD_COLUMNS))}) ON CONFLICT(stream_id) DO UPDATE SET {_KEPT}"
)


@attrs.define
class Queued:
    """One caller's append, waiting for (or done by) a group commit."""

    stream_id: str
    expected_version: int
    rows_after: RowsAfter
    command: tuple[str, str] | None
    claims: ClaimChange | None
    head: HeadFields | None
    fence: Fence | None
    done: bool = False
    wake: threading.Lock | None = None  # held while it waits behind a leader
    lead: bool = False  # handed the lead of the next group
    writing: bool = False  # its first row is written: a refusal now must undo it
    result: Appended | None = None
    error: BaseException | None = None


class Claims:
    """The ``claims`` table inside the current transaction (a ``claims.ClaimStore``)."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> ClaimRow | None:
        found = self.conn.execute(
            "SELECT name, stream_id, since_seq, held FROM claims WHERE name = ?", (name,)
        ).fetchone()
        return None if found is None else ClaimRow(found[0], found[1], found[2], bool(found[3]))

    def put(self, row: ClaimRow) -> None:
        self.conn.execute(
            "INSERT INTO claims VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "stream_id = excluded.stream_id, since_seq = excluded.since_seq, held = excluded.held",
            (row.name, row.stream_id, row.since_seq, int(row.held)),
        )

    def first_seq(self, stream_id: str) -> int | None:
        first = self.conn.execute(
            "SELECT seq FROM events WHERE stream_id = ? AND version = 1", (stream_id,)
        ).fetchone()
        return None if first is None else int(first[0])


def append_one(conn: sqlite3.Connection, queued: Queued) -> Appended:
    """One caller's append, inside the group's transaction."""
    stream_id, expected_version, command = (
        queued.stream_id,
        queued.expected_version,
        queued.command,
    )
    claims, head, fence = queued.claims, queued.head, queued.fence
    if command is not None:
        found = conn.execute(
            "SELECT first_seq, last_seq, fingerprint FROM commands WHERE command_id = ?",
            (command[0],),
        ).fetchone()
        if found is not None:
            rows = conn.execute(
                f"{FULL} WHERE seq BETWEEN ? AND ? ORDER BY seq", (found[0], found[1])
            ).fetchall()
            return Appended(rows, found[2])
    if fence is not None:  # the writer still holds the campaign, or writes nothing
        row = conn.execute(
            "SELECT owner, fence, expires_at FROM leases WHERE name = ?", (fence[0],)
        ).fetchone()
        lost = leases_rules.fenced_out(row, fence)
        if lost is not None:
            raise lost
    # The stream's version and the chain's head in one statement (the hot path).
    tip = conn.execute(TIP, (stream_id,)).fetchone()
    version, seq, prev = tip if tip is not None else (None, 0, GENESIS)
    version = version or 0
    if version != expected_version:
        raise ConcurrencyError(stream_id, expected_version, version)
    rows = queued.rows_after(seq, version, prev)
    queued.writing = True
    if len(rows) == 1:
        conn.execute(INSERT, rows[0])
    else:
        conn.executemany(INSERT, rows)
    crash_point("journal-mid-append")
    if command is not None:
        conn.execute(
            "INSERT INTO commands VALUES (?, ?, ?, ?, ?)",
            (command[0], stream_id, rows[0][0], rows[-1][0], command[1]),
        )
    if claims is not None:
        first = rows[0][0] if expected_version == 0 else None
        claims_rules.settle(Claims(conn), stream_id, claims, first)
    if head is not None:
        conn.execute(PUT_HEAD, head_row(head, rows[0][0], rows[-1]))
    else:  # written without a head: the heads are incomplete until rebuilt
        conn.execute("DELETE FROM heads WHERE stream_id = ?", (stream_id,))
        conn.execute("DELETE FROM derived WHERE name = 'heads'")
    return Appended(rows)
