"""The journal on one SQLite file: ``SQLiteRecorder`` stores the rows, ``SQLiteJournal`` is
the generic ``Journal`` over it.

WAL, ``synchronous=FULL`` by default, ``busy_timeout`` so several processes share one file.
Every write is one ``BEGIN IMMEDIATE`` transaction: the version check, the rows, the command
record, the claims and the head commit together or not at all (appends queued by several
threads share one, their writes made together: group commit; the appends' work inside it is
journal/sqlite_append.py). The hot append path uses the raw connection; sqlite-utils creates
the schema (and opens the file for people, with Datasette).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from events.clock import Clock, SystemClock, utc_text
from journal import claims as claims_rules
from journal.claims import ClaimChange, ClaimRow
from journal.errors import (
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFull,
    NotAJournal,
)
from journal.group import GroupCommit
from journal.heads import HEAD_COLUMNS, HeadFields, HeadRow, head_row
from journal.journal import Journal
from journal.marks import HeadMark
from journal.recorder import Appended, Commands, Feed, Fence, LeaseRow, Row, RowsAfter
from journal.records import GENESIS
from journal.schema import (
    CLAIMS_SINCE,
    HEADS_SINCE,
    IS_OUTCOME,
    SCHEMA_VERSION,
    check_and_migrate,
    check_schema,
)
from journal.sqlite_append import FULL, INSERT, PUT_HEAD, Claims, GroupWrites, Queued
from journal.sqlite_file import checked_sync, connect, create_whole, refuse_odd_paths

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
PAGE = 1000
_NO_PAGE_LIMIT = 4_294_967_294  # SQLite's default max_page_count
_LEAN_STREAM = "SELECT seq, type, schema, data FROM events"
_LEAN_ALL = "SELECT seq, stream_id, type, schema, data FROM events"
_PROJECTED = "json_extract(data, '$.latency_ms'), coalesce(json_extract(data, '$.reconciled'), 0)"
_OUTCOMES = f"SELECT seq, stream_id, type, {_PROJECTED} FROM events WHERE {IS_OUTCOME}"  # noqa: S608 - constants only


class SQLiteJournal(Journal):
    """The journal on an SQLite file (or ``":memory:"``)."""

    recorder: SQLiteRecorder

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        head_mark: bool = True,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        clock = clock or SystemClock()
        recorder = SQLiteRecorder(
            path,
            clock=clock,
            synchronous=synchronous,
            busy_timeout=busy_timeout,
            head_mark=head_mark,
            create=create and not read_only,
            read_only=read_only,
        )
        super().__init__(recorder, clock=clock, read_only=read_only)
        self.path = recorder.path

    def __enter__(self) -> SQLiteJournal:
        return self

    def limit_size(self, max_bytes: int | None) -> None:
        """Cap how large the file may grow (``PRAGMA max_page_count``), as a full disk would:
        an append past it fails whole with ``JournalFull``. ``None`` lifts the cap."""
        self.recorder.limit_size(max_bytes)

    def size(self) -> int:
        """The database's size in bytes (pages in use, the write-ahead log included)."""
        return self.recorder.size()


class SQLiteRecorder:
    """The rows of a journal in one SQLite file (``journal.recorder.Recorder``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        head_mark: bool = True,
        create: bool = True,
        read_only: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.path = self.where = str(path)
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._group = GroupCommit(self._locked_commit)  # appends waiting for a commit
        if self.path != ":memory:":
            refuse_odd_paths(self.path, create)
        created = self.path != ":memory:" and create and create_whole(self.path)
        self._conn = connect(self.path, busy_timeout, read_only=read_only)
        try:
            if read_only:  # as it is, at whatever schema an earlier release left it
                self.schema_version = check_schema(self._conn, self.path)
                if self.schema_version == 0:
                    raise NotAJournal(f"{self.path} is an SQLite database with no journal in it")
            else:
                check_and_migrate(self._conn, self.path)
                self.schema_version = SCHEMA_VERSION
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute(f"PRAGMA synchronous = {checked_sync(synchronous)}")
            self._mark = HeadMark(self.path) if head_mark and self.path != ":memory:" else None
            self.behind = None if self._mark is None else self._mark.check(self._conn, created)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise self._translated(exc, "open") from exc
        except BaseException:
            self._conn.close()
            raise

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (for tests and tools that look inside the file)."""
        return self._conn

    def limit_size(self, max_bytes: int | None) -> None:
        """``PRAGMA max_page_count`` for ``max_bytes`` (None: no cap)."""
        with self._lock:
            page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
            pages = _NO_PAGE_LIMIT if max_bytes is None else max(1, max_bytes // page_size)
            self._conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    def size(self) -> int:
        """Pages in use times the page size."""
        with self._lock:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)

    def integrity_problem(self) -> str | None:
        """SQLite's own ``integrity_check`` of the file; None when sound."""
        with self._reading() as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if rows == ["ok"]:
            return None
        return "the file itself is damaged (SQLite integrity_check): " + "; ".join(rows[:5])

    # --- writing ------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        expected_version: int,
        rows_after: RowsAfter,
        *,
        command: tuple[str, str] | None,
        claims: ClaimChange | None,
        head: HeadFields | None = None,
        fence: Fence | None = None,
    ) -> Appended:
        """``Recorder.append``, by group commit: the caller queues its append, and whoever
        holds the connection next commits every append queued in one ``BEGIN IMMEDIATE``
        transaction, with one fsync (``_commit``). A caller returns once its own append is
        durable or failed; one caller's ``ConcurrencyError``, ``ClaimRefused`` or
        ``LeaseLost`` fails that caller alone. An error of the file itself (busy, full) fails
        the whole group, which writes nothing."""
        mine = Queued(stream_id, expected_version, rows_after, command, claims, head, fence)
        return self._group.submit(mine)

    def _locked_commit(self, group: list[Queued]) -> None:
        with self._lock:  # the connection, shared with reads and lease writes
            self._commit(group)

    def _commit(self, group: list[Queued]) -> None:
        """One transaction for ``group`` (see ``append``). Each caller is checked in turn
        and its writes gathered, to be made for the whole group at once (``GroupWrites``);
        a caller's refusal (a version, command, fence or claim check) comes before it writes
        anything, apart from a claim's settling, so only an append that settles claims needs
        a savepoint of its own (what was gathered before it is written first); an error after
        a caller began writing without one refuses the whole group."""
        last: Row | None = None
        try:
            with self._transaction("append") as conn:
                last = GroupWrites(conn).run(group)
        except BaseException as exc:
            for queued in group:
                queued.result, queued.error = None, queued.error or exc
            last = None
            if not isinstance(exc, Exception):
                raise
        if last is not None and self._mark is not None:
            self._mark.write(last[0], last[10])

    def settle_claims(self, stream_id: str, claims: ClaimChange) -> None:
        """Settle ``claims`` in a write transaction of its own."""
        with self._transaction("hold_claim") as conn:
            claims_rules.settle(Claims(conn), stream_id, claims, None)

    def claim_row(self, name: str) -> ClaimRow | None:
        """The claim as stored."""
        if self.schema_version < CLAIMS_SINCE:  # read-only, as written before claims: none held
            return None
        with self._reading() as conn:
            return Claims(conn).get(name)

    def load(self, feed: Feed, commands: Commands) -> int:
        """Fill the empty file in one transaction: all of it, or nothing."""
        with self._transaction("import") as conn:
            if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                raise JournalError(f"{self.path} already has events: import into a new journal")
            batch: list[Row] = []
            count = 0
            now = utc_text(self.clock.now())

            def blob(digest: str, data: bytes) -> None:
                conn.execute(
                    "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
                    (digest, len(data), data, now),
                )

            for row in feed(blob):
                batch.append(row)
                count += 1
                if len(batch) == PAGE:
                    conn.executemany(INSERT, batch)
                    batch.clear()
            conn.executemany(INSERT, batch)
            conn.executemany("INSERT INTO commands VALUES (?, ?, ?, ?, ?)", commands())
            if count:  # imported rows come without heads: built from them afterwards
                conn.execute("DELETE FROM derived WHERE name = 'heads'")
        return count

    def put_blob(self, digest: str, data: bytes) -> None:
        """``INSERT OR IGNORE`` the blob."""
        with self._transaction("put_blob") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
                (digest, len(data), data, utc_text(self.clock.now())),
            )

    # --- reading ------------------------------------------------------------------------

    def stream_rows(self, stream_id: str, up_to_version: int | None, lean: bool) -> list[Row]:
        """The stream's rows by version."""
        select = _LEAN_STREAM if lean else FULL
        with self._reading() as conn:
            if up_to_version is None:
                query = f"{select} WHERE stream_id = ? ORDER BY version"
                return conn.execute(query, (stream_id,)).fetchall()
            query = f"{select} WHERE stream_id = ? AND version <= ? ORDER BY version"
            return conn.execute(query, (stream_id, up_to_version)).fetchall()

    def rows_after(self, after_seq: int, limit: int, lean: bool) -> list[Row]:
        """One keyset page by seq."""
        select = _LEAN_ALL if lean else FULL
        with self._reading() as conn:
            return conn.execute(
                f"{select} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()

    def head(self) -> tuple[int, str]:
        """The newest row's seq and hash."""
        with self._reading() as conn:
            row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def streams(self) -> list[tuple[str, int]]:
        """Every stream with its newest version, in order of its first event."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT stream_id, max(version), min(seq) AS first FROM events "
                "GROUP BY stream_id ORDER BY first"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def rows_by_stream(self, start: str = "", stop: str | None = None) -> Iterator[list[Row]]:
        """Every stream's rows, one stream at a time (by stream id, then version), read in
        keyset pages: memory holds a page and one stream. Only the streams from ``start``
        up to (not including) ``stop`` when given."""
        after: tuple[str, int] = (start, 0)
        current: list[Row] = []
        while True:
            with self._reading() as conn:
                page = conn.execute(
                    f"{FULL} WHERE (stream_id, version) > (?, ?) AND (? IS NULL OR stream_id < ?) "
                    "ORDER BY stream_id, version LIMIT ?",
                    (*after, stop, stop, PAGE),
                ).fetchall()
            for row in page:
                if current and row[1] != current[0][1]:
                    yield current
                    current = []
                current.append(row)
            if len(page) < PAGE:
                break
            after = (page[-1][1], page[-1][2])
        if current:
            yield current

    def stream_bounds(self, parts: int) -> list[str]:
        """Stream ids that cut the streams (in id order) into ``parts`` ranges of about as
        many rows each (found on the (stream_id, version) index)."""
        with self._reading() as conn:
            total = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            bounds: list[str] = []
            for k in range(1, parts):
                row = conn.execute(
                    "SELECT stream_id FROM events ORDER BY stream_id, version LIMIT 1 OFFSET ?",
                    (total * k // parts,),
                ).fetchone()
                if row is not None and (not bounds or row[0] > bounds[-1]):
                    bounds.append(row[0])
            first = conn.execute("SELECT min(stream_id) FROM events").fetchone()[0]
        return [b for b in bounds if b != first]  # a range before the first stream is empty

    @property
    def location(self) -> str | None:
        """Where another process opens this same store (None for ``:memory:``)."""
        return None if self.path == ":memory:" else self.path

    def activation_outcomes(self) -> list[tuple[Any, ...]]:
        """Every activation outcome as ``(seq, stream_id, type, latency_ms, reconciled)``,
        through the outcome index; ``JournalCorrupt`` names the seq of a payload that is not
        JSON."""
        with self._reading() as conn:
            try:
                return conn.execute(_OUTCOMES).fetchall()
            except sqlite3.OperationalError:  # json_extract of a payload that is not JSON
                for seq, data in conn.execute(
                    f"SELECT seq, data FROM events WHERE {IS_OUTCOME} ORDER BY seq"  # noqa: S608
                ):
                    if conn.execute("SELECT json_valid(?)", (data,)).fetchone()[0] != 1:
                        raise JournalCorrupt(
                            f"seq {seq}: the activation outcome's payload is not JSON", seq
                        ) from None
                raise

    # --- heads ---------------------------------------------------------------------------

    def heads_ready(self) -> bool:
        """Whether every stream's head is there (built, and kept by every append since)."""
        if self.schema_version < HEADS_SINCE:  # read-only, as written before heads: readers fold
            return False
        with self._reading() as conn:
            return conn.execute("SELECT 1 FROM derived WHERE name = 'heads'").fetchone() is not None

    def heads(
        self,
        *,
        state: Sequence[str] = (),
        since: str | None = None,
        unfinished: bool = False,
        limit: int | None = None,
        newest: bool = False,
        after: int | None = None,
    ) -> list[HeadRow]:
        """Heads in draft order (``newest`` first when asked), filtered in SQL."""
        where: list[str] = ["1"]
        args: list[object] = []
        if state:
            where.append(f"state IN ({', '.join('?' * len(state))})")
            args.extend(state)
        if since is not None:
            where.append("last_at >= ?")
            args.append(since)
        if unfinished:
            where.append("unfinished = 1")
        if after is not None:
            where.append("first_seq < ?" if newest else "first_seq > ?")
            args.append(after)
        order = "DESC" if newest else "ASC"
        query = (
            f"SELECT {', '.join(HEAD_COLUMNS)} FROM heads WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY first_seq {order} LIMIT ?"
        )
        args.append(-1 if limit is None else limit)
        with self._reading() as conn:
            return conn.execute(query, args).fetchall()

    def head_of(self, stream_id: str) -> HeadRow | None:
        """One stream's head, if stored."""
        with self._reading() as conn:
            return conn.execute(  # type: ignore[no-any-return]
                f"SELECT {', '.join(HEAD_COLUMNS)} FROM heads WHERE stream_id = ?",  # noqa: S608
                (stream_id,),
            ).fetchone()

    def census(self) -> dict[str, int]:
        """How many streams are in each state."""
        with self._reading() as conn:
            rows = conn.execute("SELECT state, n FROM census WHERE n > 0").fetchall()
        return {r[0]: r[1] for r in rows}

    def rebuild_heads(
        self, make: Callable[[list[Row]], HeadFields], progress: Callable[[int], None] | None
    ) -> int:
        """Every head again from the rows, one stream at a time (by stream and version), in
        one transaction; the number of streams."""
        with self._transaction("rebuild heads") as conn:
            conn.execute("DELETE FROM heads")
            cursor = conn.execute(f"{FULL} ORDER BY stream_id, version")
            count, rows = 0, []  # type: ignore[var-annotated]
            reader = self._conn.cursor()
            for row in cursor:
                if rows and row[1] != rows[0][1]:
                    reader.execute(PUT_HEAD, head_row(make(rows), rows[0][0], rows[-1]))
                    count += 1
                    if progress is not None:
                        progress(count)
                    rows = []
                rows.append(row)
            if rows:
                reader.execute(PUT_HEAD, head_row(make(rows), rows[0][0], rows[-1]))
                count += 1
                if progress is not None:
                    progress(count)
            conn.execute("INSERT OR REPLACE INTO derived VALUES ('heads', 'built')")
        return count

    def blob_digests(self) -> list[str]:
        """Every blob's digest, sorted."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("SELECT digest FROM blobs ORDER BY digest")]

    def get_blob(self, digest: str) -> bytes | None:
        """The blob's bytes, if stored."""
        with self._reading() as conn:
            row = conn.execute("SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else bytes(row[0])

    # --- leases -------------------------------------------------------------------------

    def read_lease(self, name: str) -> LeaseRow | None:
        """The lease row, if any."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT owner, fence, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else (row[0], int(row[1]), str(row[2]))

    def write_lease(self, name: str, expect: LeaseRow | None, new: LeaseRow) -> bool:
        """Compare-and-set on the whole row (``IS`` so that a free lease's NULL matches)."""
        with self._transaction("write_lease") as conn:
            if expect is None:
                cursor = conn.execute(
                    "INSERT INTO leases VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
                    (name, *new),
                )
            else:
                cursor = conn.execute(
                    "UPDATE leases SET owner = ?, fence = ?, expires_at = ? "
                    "WHERE name = ? AND owner IS ? AND fence = ? AND expires_at = ?",
                    (*new, name, *expect),
                )
            return cursor.rowcount == 1

    # --- plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
            if self._mark is not None:
                self._mark.close()

    def _transaction(self, what: str) -> _Transaction:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back whole on any error."""
        return _Transaction(self, what, write=True)

    def _reading(self) -> _Transaction:
        return _Transaction(self, "read", write=False)

    def _translated(self, exc: sqlite3.DatabaseError, what: str) -> JournalError:
        """sqlite3's error as the journal's, naming the file and what was being done."""
        if isinstance(exc, sqlite3.IntegrityError):
            return JournalCorrupt(f"{what} on {self.path} broke a constraint: {exc}")
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return JournalBusy(
                f"{what} on {self.path}: another process kept the journal locked past "
                "busy_timeout; try again, or stop the other writer"
            )
        if name.startswith("SQLITE_FULL"):
            return JournalFull(
                f"{what} on {self.path}: no space left; nothing was written, free some "
                "space and retry"
            )
        if name.startswith("SQLITE_NOTADB"):
            return NotAJournal(f"{self.path} is not a cxpreview journal")
        return JournalCorrupt(f"{what} on {self.path} failed: {exc}")


class _Transaction:
    """The journal's lock, and for a write one ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back
    whole on any error); sqlite3's errors come out as the journal's. A class rather than a
    generator context manager: every append goes through it."""

    __slots__ = ("journal", "what", "write")

    def __init__(self, journal: SQLiteRecorder, what: str, write: bool) -> None:
        self.journal, self.what, self.write = journal, what, write

    def __enter__(self) -> sqlite3.Connection:
        journal = self.journal
        journal._lock.acquire()
        try:
            if self.write:
                journal._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            journal._lock.release()
            raise journal._translated(exc, self.what) from exc
        except BaseException:
            journal._lock.release()
            raise
        return journal._conn

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        journal, conn = self.journal, self.journal._conn
        try:
            if self.write and kind is None:
                try:
                    conn.execute("COMMIT")
                except sqlite3.DatabaseError as error:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise journal._translated(error, self.what) from error
            elif self.write and conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise journal._translated(exc, self.what) from exc
        finally:
            journal._lock.release()
