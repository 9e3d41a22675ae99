"""``InMemoryJournal``: the journal's semantics in plain Python, for tests and REPL sessions.

It keeps exactly what the SQLite journal keeps (encoded payloads, meta, the hash chain, command
records, leases, blobs) and passes the same contract suite, so code tested against it behaves
the same on a file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from events import Event, EventDecodeError
from journal.claims import ClaimRow, decide
from journal.clock import Clock, SystemClock, utc_text
from journal.errors import (
    BlobNotFound,
    CommandConflict,
    ConcurrencyError,
    JournalCorrupt,
    JournalError,
    LeaseLost,
)
from journal.leases import check_ttl, is_held
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
    prepare_append,
)
from journal.transfer import CommandIndex, checked
from journal.verify import check_stream_rows, walk_chain


class InMemoryJournal:
    """A journal that lives and dies with the process."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._rows: list[RawRow] = []
        self._streams: dict[str, list[int]] = {}  # stream id -> index into _rows, per version
        self._commands: dict[str, tuple[int, int, str]] = {}
        self._leases: dict[str, tuple[str | None, int, str]] = {}
        self._blobs: dict[str, bytes] = {}
        self._claims: dict[str, ClaimRow] = {}
        self._head = (0, GENESIS)
        self.behind: str | None = None  # a journal in memory cannot lose its newest events

    def __repr__(self) -> str:
        return f"InMemoryJournal({len(self._rows)} events)"

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
        """Append ``events`` after ``expected_version``, all or nothing (see ``Journal``)."""
        prep = prepare_append(
            stream_id, events, expected_version, meta, state_digests, command_id=command_id
        )
        with self._lock:
            if command_id is not None and command_id in self._commands:
                first, last, fingerprint = self._commands[command_id]
                if fingerprint != prep.fingerprint:
                    raise CommandConflict(
                        f"command {command_id!r} was already applied with different events; "
                        "use a new command id for a new command"
                    )
                return [self._decoded(r) for r in self._rows[first - 1 : last]]
            version = len(self._streams.get(stream_id, ()))
            if version != expected_version:
                raise ConcurrencyError(stream_id, expected_version, version)
            seq, prev = self._head
            plain, stored = chain(
                stream_id, events, prep, (seq, version, prev), utc_text(self.clock.now())
            )
            writes = []
            released = self._claims.get(release) if release is not None else None
            if released is not None and released.stream_id == stream_id:
                writes.append(released._replace(held=False))
            if claim is not None:
                first = plain[0][0] if version == 0 else self._rows[self._streams[stream_id][0]].seq
                current = writes[-1] if writes and writes[-1].name == claim else None
                write = decide(
                    current or self._claims.get(claim), claim, stream_id, first, fresh=fresh_claim
                )
                if write is not None:
                    writes.append(write)
            self._claims.update((w.name, w) for w in writes)
            rows = [RawRow._make(r) for r in plain]
            index = self._streams.setdefault(stream_id, [])
            index.extend(range(len(self._rows), len(self._rows) + len(rows)))
            self._rows.extend(rows)
            if command_id is not None:
                self._commands[command_id] = (rows[0].seq, rows[-1].seq, prep.fingerprint)
            self._head = (rows[-1].seq, rows[-1].hash)
        return stored

    def hold_claim(self, name: str, stream_id: str) -> None:
        """Make sure the stream holds claim ``name`` (see ``SQLiteJournal.hold_claim``)."""
        with self._lock:
            index = self._streams.get(stream_id)
            if not index:
                raise ValueError(f"stream {stream_id!r} has no events: it cannot hold a claim")
            write = decide(self._claims.get(name), name, stream_id, self._rows[index[0]].seq)
            if write is not None:
                self._claims[name] = write

    def claim_holder(self, name: str) -> tuple[str, bool] | None:
        """Who holds (or last held) ``name``, and whether it still holds it."""
        with self._lock:
            row = self._claims.get(name)
        return None if row is None else (row.stream_id, row.held)

    def check_stream(self, stream_id: str) -> None:
        """``JournalCorrupt`` naming the seq if a row of the stream was changed or removed."""
        with self._lock:
            rows = [self._rows[i] for i in self._streams.get(stream_id, [])]
        check_stream_rows(stream_id, rows)

    def read_stream(self, stream_id: str, up_to_version: int | None = None) -> list[StoredEvent]:
        """The stream's events in version order, up to ``up_to_version`` when given."""
        with self._lock:
            index = self._streams.get(stream_id, [])
            if up_to_version is not None:
                index = index[: max(up_to_version, 0)]
            rows = [self._rows[i] for i in index]
        return [self._decoded(r) for r in rows]

    def import_rows(self, rows: Iterable[RawRow | bytes], visitor: Visitor | None = None) -> int:
        """Fill this empty journal with exported rows and blobs, checked as ``verify`` does
        first (all, or none)."""
        staged: dict[str, bytes] = {}

        def blob(data: bytes) -> None:
            staged[blob_digest(data)] = data
            with self._lock:
                self._blobs.setdefault(blob_digest(data), data)  # the replay may read it

        try:
            good = list(checked(rows, visitor, blob))
        except BaseException:
            with self._lock:
                for digest in staged:
                    self._blobs.pop(digest, None)
            raise
        commands = CommandIndex()
        for row in good:
            commands.add(row)
        with self._lock:
            if self._rows:
                raise JournalError("this journal already has events: import into a new one")
            for row in good:
                self._streams.setdefault(row.stream_id, []).append(len(self._rows))
                self._rows.append(row)
            for command_id, _, first, last, fingerprint in commands.finish():
                self._commands[command_id] = (first, last, fingerprint)
            if good:
                self._head = (good[-1].seq, good[-1].hash)
        return len(good)

    def read_events(self, stream_id: str, up_to_version: int | None = None) -> list[Event]:
        """Only the stream's events."""
        return [s.event for s in self.read_stream(stream_id, up_to_version)]

    def read_all(self, after_seq: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after ``after_seq`` in seq order."""
        for row in self.raw_rows(after_seq, limit):
            yield self._decoded(row)

    def iter_events(self, after_seq: int = 0) -> Iterator[tuple[str, Event]]:
        """``(stream_id, event)`` in seq order."""
        for stored in self.read_all(after_seq):
            yield stored.stream_id, stored.event

    def raw_rows(self, after_seq: int = 0, limit: int | None = None) -> Iterator[RawRow]:
        """Rows exactly as stored."""
        with self._lock:
            rows = self._rows[max(after_seq, 0) :]
        return iter(rows if limit is None else rows[:limit])

    def stream_version(self, stream_id: str) -> int:
        """The stream's newest version; 0 for a stream with no events."""
        with self._lock:
            return len(self._streams.get(stream_id, ()))

    def streams(self) -> Iterator[tuple[str, int]]:
        """Every stream with its newest version, in the order the streams began."""
        with self._lock:
            return iter([(s, len(ix)) for s, ix in self._streams.items()])

    def last_seq(self) -> int:
        """The seq of the newest event (0 when empty)."""
        return self._head[0]

    def verify(self, visitor: Visitor | None = None, anchor: Anchor | None = None) -> ChainReport:
        """Walk the whole chain; the report names the first bad seq."""
        return walk_chain(self.raw_rows(), visitor, anchor)

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` under its digest and return the digest."""
        digest = blob_digest(data)
        with self._lock:
            self._blobs.setdefault(digest, bytes(data))
        return digest

    def blobs(self) -> Iterator[bytes]:
        """Every blob's bytes (for an export)."""
        with self._lock:
            stored = [self._blobs[d] for d in sorted(self._blobs)]
        return iter(stored)

    def get_blob(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; ``BlobNotFound`` when there are none."""
        with self._lock:
            if digest not in self._blobs:
                raise BlobNotFound(f"no blob {digest} in memory")
            return self._blobs[digest]

    def acquire_lease(
        self, name: str, owner: str, ttl: float, replace: str | None = None
    ) -> Lease | None:
        """Take ``name`` if it is free, expired, already ``owner``'s or held by ``replace``."""
        span = check_ttl(ttl)
        now = self.clock.now()
        with self._lock:
            held_by, fence, expires = self._leases.get(name, (None, 0, ""))
            if is_held(held_by, expires, utc_text(now)) and held_by not in (owner, replace):
                return None
            lease = Lease(name, owner, fence + 1, utc_text(now + span))
            self._leases[name] = (owner, lease.fence, lease.expires_at)
        return lease

    def renew_lease(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease``; ``LeaseLost`` when it was released or taken."""
        span = check_ttl(ttl)
        with self._lock:
            if self._leases.get(lease.name, (None, 0, ""))[:2] != (lease.owner, lease.fence):
                raise LeaseLost(
                    f"lease {lease.name!r} (fence {lease.fence}) is no longer held by "
                    f"{lease.owner!r}: stop working on it"
                )
            renewed = Lease(lease.name, lease.owner, lease.fence, utc_text(self.clock.now() + span))
            self._leases[lease.name] = (lease.owner, lease.fence, renewed.expires_at)
        return renewed

    def release_lease(self, lease: Lease) -> bool:
        """Free ``lease``; false when it had already been lost."""
        with self._lock:
            if self._leases.get(lease.name, (None, 0, ""))[:2] != (lease.owner, lease.fence):
                return False
            self._leases[lease.name] = (None, lease.fence, "")
            return True

    def current_lease(self, name: str) -> Lease | None:
        """The unexpired lease on ``name``, if any."""
        with self._lock:
            owner, fence, expires = self._leases.get(name, (None, 0, ""))
        if owner is None or not is_held(owner, expires, utc_text(self.clock.now())):
            return None
        return Lease(name, owner, fence, expires)

    def close(self) -> None:
        """Nothing to release."""

    @staticmethod
    def _decoded(row: RawRow) -> StoredEvent:
        try:
            return row.decoded()
        except EventDecodeError as exc:
            raise JournalCorrupt(
                f"seq {row.seq} (stream {row.stream_id!r}): {exc}", row.seq
            ) from exc
