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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from events import Event, EventDecodeError
from journal.clock import Clock, SystemClock, utc_text
from journal.crash import crash_point
from journal.errors import (
    BlobNotFound,
    CommandConflict,
    ConcurrencyError,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFull,
    NotAJournal,
)
from journal.leases import LeaseBook
from journal.records import (
    ChainReport,
    Lease,
    RawRow,
    StoredEvent,
    Visitor,
    blob_digest,
    prepare_append,
    row_hash,
)
from journal.schema import EVENT_COLUMNS, check_and_migrate
from journal.verify import walk_chain

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
PAGE = 1000
# Built from a constant column list, never from input: every value goes in as a parameter.
_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_SELECT = f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608


class SQLiteJournal:
    """The journal on an SQLite file (or ``":memory:"``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = str(path)
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._conn = _connect(self.path, busy_timeout)
        try:
            with self._translated("open"):
                check_and_migrate(self._conn, self.path)
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute(f"PRAGMA synchronous = {_checked_sync(synchronous)}")
        except BaseException:
            self._conn.close()
            raise
        self._leases = LeaseBook(self._transaction, self.clock)

    def __repr__(self) -> str:
        return f"SQLiteJournal({self.path!r})"

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
    ) -> list[StoredEvent]:
        """Append ``events`` after ``expected_version`` of the stream, all or nothing.

        ``ConcurrencyError`` when the stream is elsewhere; with a ``command_id`` that was
        already applied, the earlier events are returned and nothing is written
        (``CommandConflict`` if they differ from these).
        """
        prep = prepare_append(stream_id, events, expected_version, meta, state_digests)
        with self._transaction("append") as conn:
            if command_id is not None:
                earlier = self._replayed_command(conn, command_id, prep.fingerprint)
                if earlier is not None:
                    return earlier
            row = conn.execute(
                "SELECT max(version) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
            version = row[0] or 0
            if version != expected_version:
                raise ConcurrencyError(stream_id, expected_version, version)
            seq, prev = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
            now, first_seq = utc_text(self.clock.now()), seq + 1
            stored = []
            for event, (type_, schema, data), digest in zip(
                events, prep.encoded, prep.digests, strict=True
            ):
                seq, version = seq + 1, version + 1
                hash_ = row_hash(
                    prev, seq, stream_id, version, type_, schema, data, prep.meta, now, digest
                )
                stored.append(
                    StoredEvent(
                        seq,
                        stream_id,
                        version,
                        type_,
                        schema,
                        event,
                        prep.meta,
                        now,
                        digest,
                        prev,
                        hash_,
                    )
                )
                prev = hash_
            conn.executemany(
                _INSERT,
                [(*s[:5], enc[2], *s[6:]) for s, enc in zip(stored, prep.encoded, strict=True)],
            )
            crash_point("journal-mid-append")
            if command_id is not None:
                conn.execute(
                    "INSERT INTO commands VALUES (?, ?, ?, ?, ?)",
                    (command_id, stream_id, first_seq, seq, prep.fingerprint),
                )
            conn.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq, prev))
        return stored

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
        return _decoded(
            conn.execute(f"{_SELECT} WHERE seq BETWEEN ? AND ? ORDER BY seq", (row[0], row[1]))
        )

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
        with self._reading() as conn:
            if up_to_version is None:
                return _decoded(
                    conn.execute(f"{_SELECT} WHERE stream_id = ? ORDER BY version", (stream_id,))
                )
            return _decoded(
                conn.execute(
                    f"{_SELECT} WHERE stream_id = ? AND version <= ? ORDER BY version",
                    (stream_id, up_to_version),
                )
            )

    def read_all(self, after_seq: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after ``after_seq`` in seq order, fetched a page at a time."""
        for page in self._raw_pages(after_seq, limit):
            yield from _decoded(page)

    def raw_rows(self, after_seq: int = 0) -> Iterator[RawRow]:
        """Rows exactly as stored (nothing decoded), for export and verification."""
        for page in self._raw_pages(after_seq, None):
            yield from map(RawRow._make, page)

    def _raw_pages(self, after_seq: int, limit: int | None) -> Iterator[list[tuple[Any, ...]]]:
        remaining = -1 if limit is None else limit
        while remaining != 0:
            size = PAGE if remaining < 0 else min(PAGE, remaining)
            with self._reading() as conn:
                page = conn.execute(
                    f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, size)
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
            return int(conn.execute("SELECT seq FROM chain_head").fetchone()[0])

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

    def verify(self, visitor: Visitor | None = None) -> ChainReport:
        """Walk the whole chain; the report names the first bad seq. Never raises on bad data."""
        try:
            with self._reading() as conn:
                head = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
            return walk_chain(self.raw_rows(), (head[0], head[1]), visitor)
        except (sqlite3.DatabaseError, JournalError, TypeError, ValueError) as exc:
            return ChainReport(False, 0, None, f"the journal cannot be read: {exc}")

    # --- leases -------------------------------------------------------------------------

    def acquire_lease(self, name: str, owner: str, ttl: float) -> Lease | None:
        """Take ``name`` for ``ttl`` seconds if free or expired (the fence grows); else None."""
        return self._leases.acquire(name, owner, ttl)

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

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back whole on any error."""
        with self._lock, self._translated(what):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated("read"):
            yield self._conn

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn sqlite3's errors into the journal's, naming the file and what was being done."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise JournalCorrupt(f"{what} on {self.path} broke a constraint: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise JournalBusy(
                    f"{what} on {self.path}: another process kept the journal locked past "
                    "busy_timeout; try again, or stop the other writer"
                ) from exc
            if name.startswith("SQLITE_FULL"):
                raise JournalFull(
                    f"{what} on {self.path}: no space left; nothing was written, free some "
                    "space and retry"
                ) from exc
            if name.startswith("SQLITE_NOTADB"):
                raise NotAJournal(f"{self.path} is not a cxpreview journal") from exc
            raise JournalCorrupt(f"{what} on {self.path} failed: {exc}") from exc


def _decoded(
    rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]] | sqlite3.Cursor,
) -> list[StoredEvent]:
    out = []
    decode = RawRow._make
    for row in rows:
        try:
            out.append(decode(row).decoded())
        except EventDecodeError as exc:
            raise JournalCorrupt(f"seq {row[0]} (stream {row[1]!r}): {exc}", row[0]) from exc
    return out


def _connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    if path != ":memory:":
        target = Path(path)
        if target.is_dir():
            raise NotAJournal(f"{path} is a directory, not a journal file")
        if not target.parent.is_dir():
            raise JournalError(f"cannot create a journal at {path}: no directory {target.parent}")
        if not target.exists():
            # Created owner-only before SQLite opens it: journals hold campaign data.
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


def _checked_sync(value: str) -> str:
    if value not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {value!r}")
    return value
