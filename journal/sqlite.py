"""``SQLiteJournal``: the append-only event store on one SQLite file.

WAL, ``synchronous=FULL`` by default, ``busy_timeout`` so several processes share one file.
Every write is one ``BEGIN IMMEDIATE`` transaction: the version check, the rows, the hash
chain's head and the command record commit together or not at all. The hot append path uses the
raw connection; sqlite-utils creates the schema (and opens the file for people, with Datasette).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from events import CODEC, Event, EventDecodeError
from journal.claims import hold_in_sqlite
from journal.clock import Clock, SystemClock, utc_text
from journal.crash import crash_point
from journal.errors import (
    BlobNotFound,
    CommandConflict,
    ConcurrencyError,
    JournalBehind,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFull,
    NotAJournal,
)
from journal.leases import LeaseBook
from journal.marks import HeadMark
from journal.records import (
    GENESIS,
    Anchor,
    ChainReport,
    Lease,
    RawRow,
    StoredEvent,
    Visitor,
    blob_digest,
    chain,
    decode_events,
    decode_rows,
    prepare_append,
)
from journal.schema import EVENT_COLUMNS, check_and_migrate
from journal.sqlite_file import checked_sync, connect, create_whole, refuse_odd_paths
from journal.transfer import CommandIndex, checked
from journal.verify import check_stream_rows, walk_chain

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
PAGE = 1000
# Built from a constant column list, never from input: every value goes in as a parameter.
_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_NO_PAGE_LIMIT = 4_294_967_294  # SQLite's default max_page_count
_SELECT = f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608
_HEAD = (
    "SELECT (SELECT max(version) FROM events WHERE stream_id = ?), seq, hash "
    "FROM events ORDER BY seq DESC LIMIT 1"
)


class SQLiteJournal:
    """The journal on an SQLite file (or ``":memory:"``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        head_mark: bool = True,
        create: bool = True,
    ) -> None:
        self.path = str(path)
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        if self.path != ":memory:":
            refuse_odd_paths(self.path, create)
        created = self.path != ":memory:" and create and create_whole(self.path)
        self._conn = connect(self.path, busy_timeout)
        try:
            check_and_migrate(self._conn, self.path)
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
        self._leases = LeaseBook(self._transaction, self.clock)

    def __repr__(self) -> str:
        return f"SQLiteJournal({self.path!r})"

    def limit_size(self, max_bytes: int | None) -> None:
        """Cap how large the file may grow (``PRAGMA max_page_count``), as a full disk would:
        an append past it fails whole with ``JournalFull``. ``None`` lifts the cap."""
        with self._lock:
            page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
            pages = _NO_PAGE_LIMIT if max_bytes is None else max(1, max_bytes // page_size)
            self._conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    def size(self) -> int:
        """The database's size in bytes (pages in use, the write-ahead log included)."""
        with self._lock:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)

    # --- writing ------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        command_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        state_digests: Sequence[str | None] | None = None,
        claim: str | None = None,
        release: str | None = None,
        fresh_claim: bool = False,
    ) -> list[StoredEvent]:
        """Append ``events`` after ``expected_version`` of the stream, all or nothing.

        ``ConcurrencyError`` when the stream is elsewhere; with a ``command_id`` that was
        already applied, the earlier events are returned and nothing is written
        (``CommandConflict`` if they differ from these). ``claim``: the stream holds that
        claim after the append, or nothing is written (``ClaimRefused``); ``release``: it
        gives that claim up (journal/claims.py).
        """
        prep = prepare_append(
            stream_id, events, expected_version, meta, state_digests, command_id=command_id
        )
        if self.behind is not None:
            raise JournalBehind(self.behind)
        with self._transaction("append") as conn:
            if command_id is not None:
                earlier = self._replayed_command(conn, command_id, prep.fingerprint)
                if earlier is not None:
                    return earlier
            # The stream's version and the chain's head in one statement (the hot path).
            row = conn.execute(_HEAD, (stream_id,)).fetchone()
            version, seq, prev = row if row is not None else (None, 0, GENESIS)
            version = version or 0
            if version != expected_version:
                raise ConcurrencyError(stream_id, expected_version, version)
            rows, stored = chain(
                stream_id, events, prep, (seq, version, prev), utc_text(self.clock.now())
            )
            if len(rows) == 1:
                conn.execute(_INSERT, rows[0])
            else:
                conn.executemany(_INSERT, rows)
            crash_point("journal-mid-append")
            if command_id is not None:
                conn.execute(
                    "INSERT INTO commands VALUES (?, ?, ?, ?, ?)",
                    (command_id, stream_id, stored[0].seq, stored[-1].seq, prep.fingerprint),
                )
            if release is not None:
                conn.execute(
                    "UPDATE claims SET held = 0 WHERE name = ? AND stream_id = ?",
                    (release, stream_id),
                )
            if claim is not None:
                first = stored[0].seq if expected_version == 0 else None
                hold_in_sqlite(conn, claim, stream_id, first, fresh=fresh_claim)
        if self._mark is not None:
            self._mark.write(stored[-1].seq, stored[-1].hash)
        return stored

    def hold_claim(self, name: str, stream_id: str) -> None:
        """Make sure the stream (which has events) holds ``name``: ``ClaimRefused`` if another
        live stream holds it, or a newer one held it since (this one is superseded)."""
        if self.behind is not None:
            raise JournalBehind(self.behind)
        with self._transaction("hold_claim") as conn:
            hold_in_sqlite(conn, name, stream_id, None)

    def claim_holder(self, name: str) -> tuple[str, bool] | None:
        """Who holds (or last held) ``name``, and whether it still holds it."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT stream_id, held FROM claims WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else (row[0], bool(row[1]))

    def _replayed_command(
        self,
        conn: sqlite3.Connection,
        command_id: str,
        fingerprint: str,
    ) -> list[StoredEvent] | None:
        row = conn.execute(
            "SELECT first_seq, last_seq, fingerprint FROM commands WHERE command_id = ?",
            (command_id,),
        ).fetchone()
        if row is None:
            return None
        if row[2] != fingerprint:
            raise CommandConflict(
                f"command {command_id!r} was already applied with different events; "
                "use a new command id for a new command"
            )
        return decode_rows(
            conn.execute(f"{_SELECT} WHERE seq BETWEEN ? AND ? ORDER BY seq", (row[0], row[1]))
        )

    def import_rows(self, rows: Iterable[RawRow | bytes], visitor: Visitor | None = None) -> int:
        """Fill this empty journal with exported rows and blobs, each row checked against the
        chain (and by ``visitor``, the engine's replay) before it is written, in one
        transaction: all of them, or (``JournalCorrupt``) none."""
        with self._transaction("import") as conn:
            if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                raise JournalError(f"{self.path} already has events: import into a new journal")
            commands, batch, count = CommandIndex(), [], 0

            def blob(data: bytes) -> None:
                conn.execute(
                    "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
                    (blob_digest(data), len(data), data, utc_text(self.clock.now())),
                )

            for row in checked(rows, visitor, blob):
                batch.append(tuple(row))
                commands.add(row)
                count += 1
                if len(batch) == PAGE:
                    conn.executemany(_INSERT, batch)
                    batch.clear()
            conn.executemany(_INSERT, batch)
            conn.executemany("INSERT INTO commands VALUES (?, ?, ?, ?, ?)", commands.finish())
        return count

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` under its digest and return the digest (storing twice is harmless)."""
        digest = blob_digest(data)
        with self._transaction("put_blob") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?)",
                (digest, len(data), data, utc_text(self.clock.now())),
            )
        return digest

    # --- reading ------------------------------------------------------------------------

    def read_stream(self, stream_id: str, up_to_version: int | None = None) -> list[StoredEvent]:
        """The stream's events in version order, up to ``up_to_version`` when given."""
        return decode_rows(self._stream_rows(_SELECT, stream_id, up_to_version))

    def check_stream(self, stream_id: str) -> None:
        """``JournalCorrupt`` naming the seq if a row of the stream was changed or removed."""
        rows = self._stream_rows(_SELECT, stream_id, None)
        check_stream_rows(stream_id, map(RawRow._make, rows))

    def read_events(self, stream_id: str, up_to_version: int | None = None) -> list[Event]:
        """Only the stream's events (no hashes or meta): what folding a campaign needs."""
        select = "SELECT seq, type, schema, data FROM events"
        return decode_events(self._stream_rows(select, stream_id, up_to_version))

    def _stream_rows(self, select: str, stream_id: str, up_to: int | None) -> list[Any]:
        with self._reading() as conn:
            if up_to is None:
                query = f"{select} WHERE stream_id = ? ORDER BY version"
                return conn.execute(query, (stream_id,)).fetchall()
            query = f"{select} WHERE stream_id = ? AND version <= ? ORDER BY version"
            return conn.execute(query, (stream_id, up_to)).fetchall()

    def read_all(self, after_seq: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after ``after_seq`` in seq order, fetched a page at a time."""
        for page in self._pages(_SELECT, after_seq, limit):
            yield from decode_rows(page)

    def iter_events(self, after_seq: int = 0) -> Iterator[tuple[str, Event]]:
        """``(stream_id, event)`` in seq order, a page at a time: what a replay needs."""
        decode = CODEC.decode
        for page in self._pages(
            "SELECT seq, stream_id, type, schema, data FROM events", after_seq, None
        ):
            try:
                for row in page:
                    yield row[1], decode(row[2], row[3], row[4])
            except EventDecodeError as exc:
                raise JournalCorrupt(f"seq {row[0]} (stream {row[1]!r}): {exc}", row[0]) from exc

    def raw_rows(self, after_seq: int = 0) -> Iterator[RawRow]:
        """Rows exactly as stored (nothing decoded), for export and verification."""
        for page in self._pages(_SELECT, after_seq, None):
            yield from map(RawRow._make, page)

    def _pages(self, select: str, after_seq: int, limit: int | None) -> Iterator[list[Any]]:
        """Keyset pages by seq: bounded memory, and no read transaction held between pages."""
        remaining = -1 if limit is None else limit
        while remaining != 0:
            size = PAGE if remaining < 0 else min(PAGE, remaining)
            with self._reading() as conn:
                page = conn.execute(
                    f"{select} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, size)
                ).fetchall()
            if not page:
                return
            yield page
            after_seq = page[-1][0]
            remaining = -1 if remaining < 0 else remaining - len(page)

    def stream_version(self, stream_id: str) -> int:
        """The stream's newest version; 0 for a stream with no events."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT max(version) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        return int(row[0] or 0)

    def streams(self) -> Iterator[tuple[str, int]]:
        """Every stream with its newest version, in the order the streams began."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT stream_id, max(version), min(seq) AS first FROM events "
                "GROUP BY stream_id ORDER BY first"
            ).fetchall()
        return iter([(r[0], r[1]) for r in rows])

    def last_seq(self) -> int:
        """The seq of the newest event (0 when empty)."""
        with self._reading() as conn:
            return int(conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0)

    def blobs(self) -> Iterator[bytes]:
        """Every blob's bytes, one at a time (for an export)."""
        with self._reading() as conn:
            digests = [r[0] for r in conn.execute("SELECT digest FROM blobs ORDER BY digest")]
        for digest in digests:
            yield self.get_blob(digest)

    def integrity_problem(self) -> str | None:
        """SQLite's own ``integrity_check`` of the file (pages, indexes); None when sound."""
        with self._reading() as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if rows == ["ok"]:
            return None
        return "the file itself is damaged (SQLite integrity_check): " + "; ".join(rows[:5])

    def get_blob(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; ``BlobNotFound``, or ``JournalCorrupt`` if altered."""
        with self._reading() as conn:
            row = conn.execute("SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise BlobNotFound(f"no blob {digest} in {self.path}")
        data = bytes(row[0])
        if blob_digest(data) != digest:
            raise JournalCorrupt(f"blob {digest} in {self.path} does not match its digest")
        return data

    def verify(self, visitor: Visitor | None = None, anchor: Anchor | None = None) -> ChainReport:
        """Walk the whole chain; the report names the first bad seq. Never raises on bad data.

        ``anchor``, a ``(seq, hash)`` an auditor noted from an earlier report, must still be on
        the chain: that is what catches the newest events being removed.
        """
        try:
            report = walk_chain(self.raw_rows(), visitor, anchor)
        except (sqlite3.DatabaseError, JournalError, TypeError, ValueError) as exc:
            return ChainReport(False, 0, None, f"the journal cannot be read: {exc}")
        if report.ok and self.behind is not None:
            return ChainReport(False, report.events, report.head[0], self.behind, report.head)
        return report

    # --- leases -------------------------------------------------------------------------

    def acquire_lease(
        self, name: str, owner: str, ttl: float, replace: str | None = None
    ) -> Lease | None:
        """Take ``name`` for ``ttl`` seconds if free, expired or held by ``replace`` (a holder
        known to be dead); the fence grows. None when someone else holds it."""
        if self.behind is not None:  # no one works on a journal that went back
            raise JournalBehind(self.behind)
        return self._leases.acquire(name, owner, ttl, replace)

    def renew_lease(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` by ``ttl`` from now; ``LeaseLost`` if its fence has moved on."""
        return self._leases.renew(lease, ttl)

    def release_lease(self, lease: Lease) -> bool:
        """Give ``lease`` up; false if it was already lost."""
        return self._leases.release(lease)

    def current_lease(self, name: str) -> Lease | None:
        """The unexpired lease on ``name``, if any."""
        return self._leases.current(name)

    # --- plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
            if self._mark is not None:
                self._mark.close()

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def __init__(self, journal: SQLiteJournal, what: str, write: bool) -> None:
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
