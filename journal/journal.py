"""``Journal``: the append-only event store, written once over any backend's ``Recorder``.

It owns everything that is the same whatever stores the rows: encoding and checking an
append, the SHA-256 chain over every row, command fingerprints, decoding and upcasting on
read, verification, export and import checks, and the rules of leases and claims. The
backend (journal/recorder.py) only stores rows and hands them back, atomically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from events import CODEC, Event, EventDecodeError
from events.clock import Clock, SystemClock, utc_text
from journal import leases
from journal.claims import ClaimChange
from journal.errors import (
    BlobNotFound,
    CommandConflict,
    JournalBehind,
    JournalCorrupt,
    JournalError,
    JournalReadOnly,
)
from journal.heads import Head, HeadFields
from journal.recorder import Fence, Recorder, Row
from journal.records import (
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
from journal.transfer import CommandIndex, checked
from journal.verify import check_stream_rows, counted, walk_chain, walk_links

PAGE = 1000


class Journal:
    """The journal: events appended by stream with an expected version, chained, verified."""

    def __init__(
        self, recorder: Recorder, *, clock: Clock | None = None, read_only: bool = False
    ) -> None:
        self.recorder = recorder
        self.clock = clock or SystemClock()
        self.read_only = read_only  # opened by a command that only reads: writes refused

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.recorder.where!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the backend's resources."""
        self.recorder.close()

    @property
    def behind(self) -> str | None:
        """Why the journal ends before a point this machine saw in it (None: it does not)."""
        return self.recorder.behind

    def _not_read_only(self) -> None:
        if self.read_only:
            raise JournalReadOnly(
                f"{self.recorder.where} was opened read-only (by a command that only reads); "
                "nothing written"
            )

    def _writable(self) -> None:
        self._not_read_only()
        behind = self.recorder.behind
        if behind is not None:  # no one acts on a journal that went back
            raise JournalBehind(behind)

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
        head: HeadFields | None = None,
        fence: Fence | None = None,
    ) -> Sequence[StoredEvent]:
        """Append ``events`` after ``expected_version`` of the stream, all or nothing; the
        events as stored (a sequence that makes each ``StoredEvent`` when it is read).

        ``ConcurrencyError`` when the stream is elsewhere; with a ``command_id`` that was
        already applied, the earlier events are returned and nothing is written
        (``CommandConflict`` if they differ from these). ``claim``: the stream holds that
        claim after the append, or nothing is written (``ClaimRefused``); ``release``: it
        gives that claim up (journal/claims.py). ``head``: what the stream is after the
        append, stored as its head in the same transaction (journal/heads.py); an append
        without one leaves the heads to be rebuilt. ``fence``: ``(lease, owner, fence)`` the
        writer works under; ``LeaseLost`` and nothing written unless, in the append's own
        transaction, the lease still has that owner and fence.
        """
        if "\x00" in stream_id:  # no backend need store one (PostgreSQL's text cannot)
            raise JournalError(f"stream id {stream_id!r} holds a NUL character; nothing written")
        prep = prepare_append(
            stream_id, events, expected_version, meta, state_digests, command_id=command_id
        )
        self._writable()
        now = utc_text(self.clock.now())
        built: list[Sequence[StoredEvent]] = []

        def rows_after(seq: int, version: int, prev: str) -> list[Row]:
            rows, stored = chain(stream_id, events, prep, (seq, version, prev), now)
            built.append(stored)
            return rows

        done = self.recorder.append(
            stream_id,
            expected_version,
            rows_after,
            command=None if command_id is None else (command_id, prep.fingerprint),
            claims=None
            if claim is None and release is None
            else ClaimChange(claim, release, fresh_claim),
            head=head,
            fence=fence,
        )
        if done.replayed is None:
            return built[-1]
        if done.replayed != prep.fingerprint:
            raise CommandConflict(
                f"command {command_id!r} was already applied with different events; "
                "use a new command id for a new command"
            )
        return decode_rows(done.rows)

    def hold_claim(self, name: str, stream_id: str) -> None:
        """Make sure the stream (which has events) holds ``name``: ``ClaimRefused`` if another
        live stream holds it, or a newer one held it since (this one is superseded)."""
        self._writable()
        row = self.recorder.claim_row(name)
        if row is not None and row.stream_id == stream_id and row.held:
            return  # held already (the rule's hot path): no write transaction for a read
        self.recorder.settle_claims(stream_id, ClaimChange(name))

    def claim_holder(self, name: str) -> tuple[str, bool] | None:
        """Who holds (or last held) ``name``, and whether it still holds it."""
        row = self.recorder.claim_row(name)
        return None if row is None else (row.stream_id, row.held)

    def import_rows(self, rows: Iterable[RawRow | bytes], visitor: Visitor | None = None) -> int:
        """Fill this empty journal with exported rows and blobs, each row checked against the
        chain (and by ``visitor``, the engine's replay) before it is written, in one
        transaction: all of them, or (``JournalCorrupt``) none."""
        self._not_read_only()
        commands = CommandIndex()

        def feed(store_blob: Callable[[str, bytes], None]) -> Iterator[Row]:
            # A blob is stored as soon as it is read: the visitor may read it for the next row.
            def blob(data: bytes) -> None:
                store_blob(blob_digest(data), data)

            for row in checked(rows, visitor, blob):
                commands.add(row)
                yield tuple(row)

        return self.recorder.load(feed, commands.finish)

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` under its digest and return the digest (storing twice is harmless)."""
        self._not_read_only()
        digest = blob_digest(data)
        self.recorder.put_blob(digest, bytes(data))
        return digest

    # --- reading ------------------------------------------------------------------------

    def read_stream(self, stream_id: str, up_to_version: int | None = None) -> list[StoredEvent]:
        """The stream's events in version order, up to ``up_to_version`` when given."""
        return decode_rows(self.recorder.stream_rows(stream_id, up_to_version, False))

    def read_events(self, stream_id: str, up_to_version: int | None = None) -> list[Event]:
        """Only the stream's events (no hashes or meta): what folding a campaign needs."""
        return decode_events(self.recorder.stream_rows(stream_id, up_to_version, True))

    def stream_raw(self, stream_id: str) -> list[RawRow]:
        """The stream's rows exactly as stored (for checking them and reading them at once)."""
        return list(map(RawRow._make, self.recorder.stream_rows(stream_id, None, False)))

    def check_stream(self, stream_id: str) -> None:
        """``JournalCorrupt`` naming the seq if a row of the stream was changed or removed."""
        check_stream_rows(stream_id, self.stream_raw(stream_id))

    def _pages(self, after_seq: int, limit: int | None, lean: bool) -> Iterator[list[Row]]:
        """Keyset pages by seq: bounded memory, and no read transaction held between pages."""
        remaining = -1 if limit is None else limit
        while remaining != 0:
            size = PAGE if remaining < 0 else min(PAGE, remaining)
            page = self.recorder.rows_after(after_seq, size, lean)
            if not page:
                return
            yield page
            after_seq = page[-1][0]
            remaining = -1 if remaining < 0 else remaining - len(page)

    def read_all(self, after_seq: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after ``after_seq`` in seq order, fetched a page at a time."""
        for page in self._pages(after_seq, limit, False):
            yield from decode_rows(page)

    def iter_events(self, after_seq: int = 0) -> Iterator[tuple[str, Event]]:
        """``(stream_id, event)`` in seq order, a page at a time: what a replay needs."""
        decode = CODEC.decode
        for page in self._pages(after_seq, None, True):
            try:
                for row in page:
                    yield row[1], decode(row[2], row[3], row[4])
            except EventDecodeError as exc:
                raise JournalCorrupt(f"seq {row[0]} (stream {row[1]!r}): {exc}", row[0]) from exc

    def raw_rows(self, after_seq: int = 0) -> Iterator[RawRow]:
        """Rows exactly as stored (nothing decoded), for export and verification."""
        for page in self._pages(after_seq, None, False):
            yield from map(RawRow._make, page)

    def stream_version(self, stream_id: str) -> int:
        """The stream's newest version; 0 for a stream with no events."""
        rows = self.recorder.stream_rows(stream_id, None, True)
        return len(rows)

    def streams(self) -> Iterator[tuple[str, int]]:
        """Every stream with its newest version, in the order the streams began."""
        return iter(self.recorder.streams())

    # --- heads (journal/heads.py) ------------------------------------------------------

    def heads_ready(self) -> bool:
        """Whether every stream's head is stored (else readers fold the events)."""
        return self.recorder.heads_ready()

    def heads(
        self,
        *,
        state: Sequence[str] = (),
        since: str | None = None,
        unfinished: bool = False,
        limit: int | None = None,
        newest: bool = False,
    ) -> list[Head]:
        """The streams' heads, in the order the streams began (``newest`` first when asked),
        filtered by the backend: see ``Recorder.heads``."""
        rows = self.recorder.heads(
            state=state, since=since, unfinished=unfinished, limit=limit, newest=newest
        )
        return [Head.from_row(r) for r in rows]

    def each_head(
        self,
        *,
        state: Sequence[str] = (),
        since: str | None = None,
        unfinished: bool = False,
        newest: bool = False,
    ) -> Iterator[Head]:
        """``heads`` read in keyset pages: memory holds one page, whatever the journal's size."""
        after = None
        while True:
            rows = self.recorder.heads(
                state=state,
                since=since,
                unfinished=unfinished,
                limit=PAGE,
                newest=newest,
                after=after,
            )
            yield from (Head.from_row(r) for r in rows)
            if len(rows) < PAGE:
                return
            after = rows[-1][1]

    def head_of(self, stream_id: str) -> Head | None:
        """One stream's head, if stored."""
        row = self.recorder.head_of(stream_id)
        return None if row is None else Head.from_row(row)

    def activation_outcomes(self) -> list[tuple[Any, ...]]:
        """Every activation outcome as ``(seq, stream_id, type, latency_ms, reconciled)``,
        read from the outcome rows alone (see ``Recorder.activation_outcomes``)."""
        return self.recorder.activation_outcomes()

    def census(self) -> dict[str, int]:
        """How many streams' heads are in each state."""
        return self.recorder.census()

    def rebuild_heads(
        self,
        make: Callable[[list[StoredEvent]], HeadFields],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Every head again, from the events: ``make`` is handed one stream's events at a
        time; the number of streams. ``JournalCorrupt`` names the seq of a row that does not
        decode."""
        self._writable()

        return self.recorder.rebuild_heads(lambda rows: make(decode_rows(rows)), progress)

    def last_seq(self) -> int:
        """The seq of the newest event (0 when empty)."""
        return self.recorder.head()[0]

    def blobs(self) -> Iterator[bytes]:
        """Every blob's bytes, one at a time (for an export)."""
        for digest in self.recorder.blob_digests():
            yield self.get_blob(digest)

    def get_blob(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; ``BlobNotFound``, or ``JournalCorrupt`` if altered."""
        data = self.recorder.get_blob(digest)
        if data is None:
            raise BlobNotFound(f"no blob {digest} in {self.recorder.where}")
        if blob_digest(data) != digest:
            raise JournalCorrupt(
                f"blob {digest} in {self.recorder.where} does not match its digest"
            )
        return data

    def verify(self, visitor: Visitor | None = None, anchor: Anchor | None = None) -> ChainReport:
        """Walk the whole chain; the report names the first bad seq. Never raises on bad data.

        ``anchor``, a ``(seq, hash)`` an auditor noted from an earlier report, must still be on
        the chain: that is what catches the newest events being removed.
        """
        try:
            report = walk_chain(self.raw_rows(), visitor, anchor)
        except (JournalError, TypeError, ValueError) as exc:
            return ChainReport(False, 0, None, f"the journal cannot be read: {exc}")
        behind = self.recorder.behind
        if report.ok and behind is not None:
            return ChainReport(False, report.events, report.head[0], behind, report.head)
        return report

    def verify_links(
        self, anchor: Anchor | None = None, progress: Callable[[int], None] | None = None
    ) -> ChainReport:
        """The chain alone (seqs, links, hashes, ``anchor``), in O(1) memory: the first pass
        of the engine's verify, whose second reads ``streams_whole``. Never raises on bad
        data. ``progress`` is told how many rows were walked, now and then and at the end."""
        try:
            report = walk_links(counted(self.raw_rows(), progress), anchor)
        except (JournalError, TypeError, ValueError) as exc:
            return ChainReport(False, 0, None, f"the journal cannot be read: {exc}")
        behind = self.recorder.behind
        if report.ok and behind is not None:
            return ChainReport(False, report.events, report.head[0], behind, report.head)
        return report

    def streams_whole(self, start: str = "", stop: str | None = None) -> Iterator[list[RawRow]]:
        """Every stream's rows as stored, one stream at a time (by stream id, then version);
        only those from ``start`` up to (not including) ``stop`` when given."""
        for rows in self.recorder.rows_by_stream(start, stop):
            yield [RawRow._make(r) for r in rows]

    def stream_bounds(self, parts: int) -> list[str]:
        """Stream ids cutting the streams into ``parts`` ranges of about as many events."""
        return self.recorder.stream_bounds(parts)

    @property
    def location(self) -> str | None:
        """Where another process opens this same journal (``open_journal``); None when no
        other process can (rows in this one's memory)."""
        return self.recorder.location

    def integrity_problem(self) -> str | None:
        """The backend's own check of its storage (SQLite's ``integrity_check``); None when
        sound."""
        return self.recorder.integrity_problem()

    # --- leases -------------------------------------------------------------------------

    def acquire_lease(
        self, name: str, owner: str, ttl: float, replace: str | None = None
    ) -> Lease | None:
        """Take ``name`` for ``ttl`` seconds if free, expired or held by ``replace`` (a holder
        known to be dead); the fence grows. None when someone else holds it."""
        self._writable()
        return leases.acquire(self.recorder, name, owner, ttl, self.clock.now(), replace=replace)

    def renew_lease(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` by ``ttl`` from now; ``LeaseLost`` if its fence has moved on."""
        self._not_read_only()
        return leases.renew(self.recorder, lease, ttl, self.clock.now())

    def release_lease(self, lease: Lease) -> bool:
        """Give ``lease`` up; false if it was already lost."""
        self._not_read_only()
        return leases.release(self.recorder, lease)

    def listen_for_work(self) -> None:
        """Start hearing other processes say there is work (see ``wait_for_work``), so that
        what they say from now on is not missed; nothing on a backend that cannot tell."""
        listen = getattr(self.recorder, "listen_for_work", None)
        if listen is not None:
            listen()

    def wait_for_work(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to ``seconds``, or until ``stop`` is set, or until another process says
        there is work (a run asked for, a lease released), where the backend can tell
        (PostgreSQL's ``NOTIFY``; elsewhere the wait is the whole ``seconds``): whether it
        did."""
        listen = getattr(self.recorder, "wait_for_work", None)
        if listen is None:
            stop.wait(seconds)
            return False
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if listen(min(left, 0.25)):
                return True
        return False

    def current_lease(self, name: str) -> Lease | None:
        """The unexpired lease on ``name``, if any."""
        return leases.current(self.recorder, name, self.clock.now())
