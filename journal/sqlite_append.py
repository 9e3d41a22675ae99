"""One caller's append inside an SQLite journal's write transaction (journal/sqlite.py runs
the transaction, and the group commit around it): the command-id check, the fence, the
version check, the rows, the command record, the claims and the stream's head. The SQL it
writes with is built from constant column lists, never from input.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

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


def recorded(conn: sqlite3.Connection, command_id: str) -> Appended | None:
    """The rows a command id was recorded with, and its fingerprint (None: not recorded)."""
    found = conn.execute(
        "SELECT first_seq, last_seq, fingerprint FROM commands WHERE command_id = ?",
        (command_id,),
    ).fetchone()
    if found is None:
        return None
    rows = conn.execute(
        f"{FULL} WHERE seq BETWEEN ? AND ? ORDER BY seq", (found[0], found[1])
    ).fetchall()
    return Appended(rows, found[2])


def check_fence(conn: sqlite3.Connection, fence: Fence) -> None:
    """``LeaseLost`` unless the lease still has the fence's owner and number."""
    row = conn.execute(
        "SELECT owner, fence, expires_at FROM leases WHERE name = ?", (fence[0],)
    ).fetchone()
    lost = leases_rules.fenced_out(row, fence)
    if lost is not None:
        raise lost


def append_one(conn: sqlite3.Connection, queued: Queued) -> Appended:
    """One caller's append, inside the group's transaction."""
    stream_id, expected_version, command = (
        queued.stream_id,
        queued.expected_version,
        queued.command,
    )
    claims, head, fence = queued.claims, queued.head, queued.fence
    if command is not None:
        replayed = recorded(conn, command[0])
        if replayed is not None:
            return replayed
    if fence is not None:  # the writer still holds the campaign, or writes nothing
        check_fence(conn, fence)
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


CHAIN_TIP = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"


class GroupWrites:
    """The appends of one group commit, their writes gathered and made together.

    Each caller is checked as ``append_one`` checks it (its command id, its fence, its
    version), against the journal as its transaction holds it plus what the callers before
    it in the group appended; its rows, its command record and its head are then gathered
    and written for the whole group with one statement each (``flush``), not three or more
    per caller: with many threads appending, every statement is a round of the interpreter
    lock between them. A caller whose claims need writing, or that writes without a head,
    takes ``append_one``'s way, after what was gathered before it is written.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tip: tuple[int, str] | None = None  # (seq, hash) of the chain's newest row
        self.versions: dict[str, int] = {}  # each stream of the group: where it stands
        self.commands: dict[str, Appended] = {}  # command ids recorded in this group, as
        # a replay of each answers: its rows and the fingerprint it was recorded with
        self.rows: list[tuple[Any, ...]] = []
        self.command_rows: list[tuple[Any, ...]] = []
        self.head_rows: list[tuple[Any, ...]] = []

    def run(self, group: list[Queued]) -> tuple[Any, ...] | None:
        """Every caller of ``group`` appended or refused (its ``result`` or ``error``), and
        the writes made; the newest row written (None: none was)."""
        conn, last = self.conn, None
        streams = list(dict.fromkeys(q.stream_id for q in group))
        if len(streams) > 1:  # one statement for every stream's version (one: TIP, below)
            marks = ", ".join("?" * len(streams))
            self.versions = dict.fromkeys(streams, 0) | dict(
                conn.execute(
                    "SELECT stream_id, max(version) FROM events "  # noqa: S608 - ? marks only
                    f"WHERE stream_id IN ({marks}) GROUP BY stream_id",
                    streams,
                ).fetchall()
            )
        for queued in group:
            gathered = self.gathers(queued)
            if not gathered:
                self.flush()  # before its savepoint: what came before it stays
            saved = not gathered and queued.claims is not None
            if saved:
                conn.execute("SAVEPOINT one")
            try:
                queued.result = self.append(queued, gathered)
            except sqlite3.DatabaseError:
                raise  # the file's own trouble: the whole group is refused
            except Exception as exc:  # this caller's: what it wrote goes
                if saved:
                    conn.execute("ROLLBACK TO one")
                elif queued.writing:
                    raise
                queued.error = exc
            if saved:
                conn.execute("RELEASE one")
            if queued.result is not None and queued.result.replayed is None:
                last = queued.result.rows[-1]
        self.flush()
        return last

    def gathers(self, queued: Queued) -> bool:
        """Whether ``queued``'s writes can be gathered: it keeps a head, and its claims, if
        any, are the hot path (the stream holds its claim already: nothing to write)."""
        claims = queued.claims
        if queued.head is None:
            return False
        if claims is None:
            return True
        if claims.release is not None or claims.fresh or claims.claim is None:
            return False
        held = Claims(self.conn).get(claims.claim)
        return held is not None and held.stream_id == queued.stream_id and held.held

    def append(self, queued: Queued, gathered: bool) -> Appended:
        """``queued``'s append, checked now and written at ``flush`` when ``gathered`` (what
        ``gathers`` said of it); else written now, ``append_one``'s way, after a ``flush``
        the caller made before the savepoint this append's claims are settled in."""
        if not gathered:
            done = append_one(self.conn, queued)
            if done.replayed is None:
                self._after(queued, done.rows)
            return done
        stream_id, expected_version, command = (
            queued.stream_id,
            queued.expected_version,
            queued.command,
        )
        conn = self.conn
        if command is not None:
            earlier = self.commands.get(command[0])
            if earlier is not None:
                return earlier
            replayed = recorded(conn, command[0])
            if replayed is not None:
                return replayed
        if queued.fence is not None:
            check_fence(conn, queued.fence)
        version, tip = self._where(stream_id)
        if version != expected_version:
            raise ConcurrencyError(stream_id, expected_version, version)
        rows = queued.rows_after(tip[0], version, tip[1])
        self.rows.extend(rows)
        if command is not None:
            self.command_rows.append((command[0], stream_id, rows[0][0], rows[-1][0], command[1]))
            self.commands[command[0]] = Appended(rows, command[1])
        assert queued.head is not None
        self.head_rows.append(head_row(queued.head, rows[0][0], rows[-1]))
        self._after(queued, rows)
        return Appended(rows)

    def _where(self, stream_id: str) -> tuple[int, tuple[int, str]]:
        """The stream's version and the chain's head, as this group stands."""
        known = self.versions.get(stream_id)  # read for the whole group by ``run``
        if known is None:  # a group of one stream: its version and the chain's head at once
            found = self.conn.execute(TIP, (stream_id,)).fetchone()
            version, seq, prev = found if found is not None else (None, 0, GENESIS)
            self.tip = self.tip or (seq, prev)
            return version or 0, self.tip
        if self.tip is None:
            head = self.conn.execute(CHAIN_TIP).fetchone()
            self.tip = (head[0], head[1]) if head is not None else (0, GENESIS)
        return known, self.tip

    def _after(self, queued: Queued, rows: list[tuple[Any, ...]]) -> None:
        self.versions[queued.stream_id] = rows[-1][2]
        self.tip = (rows[-1][0], rows[-1][10])

    def flush(self) -> None:
        """Write what was gathered: the rows, then the commands and the heads."""
        if self.rows:
            self.conn.executemany(INSERT, self.rows)
            crash_point("journal-mid-append")
        if self.command_rows:
            self.conn.executemany("INSERT INTO commands VALUES (?, ?, ?, ?, ?)", self.command_rows)
        if self.head_rows:
            self.conn.executemany(PUT_HEAD, self.head_rows)
        self.rows, self.command_rows, self.head_rows = [], [], []
