"""The journal's port to a storage backend: a *recorder* stores rows and hands them back.

A recorder knows nothing of events, hashes or rules. It keeps rows exactly as the journal
(journal/journal.py) built them, and does the few things only storage can do atomically:

- ``append``: in one transaction, answer a command id seen before, check the stream's version,
  ask the journal for the rows that follow the chain's head (``rows_after``), insert them, note
  the command, and settle the stream's claims (journal/claims.py decides; the recorder stores);
- reads by stream (``stream_rows``) and by seq (``rows_after``), in full or lean columns;
- ``load``: fill an empty store from checked rows, in one transaction;
- blobs by digest; leases as one row each, written only by compare-and-set of the whole row
  (``write_lease``).

Everything else (the hash chain, decoding and upcasting, verify, export and import checks,
what a lease or a claim allows) is written once, in ``Journal``. A new backend is one file
that implements this protocol and passes ``tests/contract/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from journal.claims import ClaimChange, ClaimRow
from journal.heads import HeadFields, HeadRow

Row = tuple[Any, ...]
"""A journal row in ``RawRow`` column order."""
LeaseRow = tuple[str | None, int, str]
"""A lease as stored: ``(owner or None when free, fence, expires_at)``."""
Fence = tuple[str, str, int]
"""``(lease name, owner, fence)``: the lease an append is written under."""
RowsAfter = Callable[[int, int, str], list[Row]]
"""Given the chain's head ``(seq, stream version, hash)``, the rows an append writes."""
Feed = Callable[[Callable[[str, bytes], None]], Iterable[Row]]
"""A load's checked rows, drawn one by one; handed the recorder's ``(digest, data)`` blob
store, it stores each blob as it is read, inside the load's transaction."""
Commands = Callable[[], list[tuple[str, str, int, int, str]]]
"""After a load's rows: the command records ``(command_id, stream_id, first, last, fp)``."""


class Appended(NamedTuple):
    """What ``Recorder.append`` did: the rows written, or, for a command id recorded before,
    that command's rows and the fingerprint it was recorded with (nothing written)."""

    rows: list[Row]
    replayed: str | None = None


class Recorder(Protocol):
    """What a storage backend does for the journal (every method atomic on its own)."""

    where: str
    """Where the rows live, for messages (a path, ``memory``, a database URL)."""

    @property
    def behind(self) -> str | None:
        """Why the store ends before a point this machine saw in it (None: it does not)."""
        ...

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
        """One transaction: a recorded ``command`` ``(id, fingerprint)`` answers with its
        rows; else ``ConcurrencyError`` unless the stream is at ``expected_version``, then
        insert ``rows_after(head)``, record the command, settle ``claims``, and store the
        stream's ``head`` (journal/heads.py: ``head_row`` of it and the rows; its first seq
        kept from the stream's first append). With no ``head`` the stream's is dropped and
        the heads are no longer ready. With a ``fence``, first ``LeaseLost`` (nothing written)
        unless the lease row, read in the same transaction, still has that owner and fence
        (journal/leases.py ``fenced_out``)."""
        ...

    @property
    def location(self) -> str | None:
        """Where another process can open this same store (None: it cannot, rows in memory)."""
        ...

    def rows_by_stream(self, start: str = "", stop: str | None = None) -> Iterator[list[Row]]:
        """Every stream's full rows, one stream at a time (by stream id, then version),
        without holding more than a page and one stream in memory; only the streams from
        ``start`` up to (not including) ``stop`` when given."""
        ...

    def stream_bounds(self, parts: int) -> list[str]:
        """Stream ids (ascending) that cut the streams into ``parts`` ranges of about as many
        rows each, for readers working side by side (fewer when there are few streams)."""
        ...

    def activation_outcomes(self) -> list[tuple[Any, ...]]:
        """Every activation outcome (``activation.succeeded``, ``.conflicted``, ``.failed``),
        in no particular order, as ``(seq, stream_id, type, latency_ms, reconciled 0/1)``,
        without reading the other events; ``JournalCorrupt`` names a payload that is not
        JSON."""
        ...

    def heads_ready(self) -> bool:
        """Whether every stream has its head (built, and kept by every append since)."""
        ...

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
        """Heads in the order of the streams' first events (``newest`` first when asked):
        only those in ``state`` (any of), whose last event is at or after ``since``, that are
        ``unfinished``, whose first seq comes after ``after`` in that order (a keyset page);
        at most ``limit``."""
        ...

    def head_of(self, stream_id: str) -> HeadRow | None:
        """One stream's head."""
        ...

    def census(self) -> dict[str, int]:
        """How many streams' heads are in each state."""
        ...

    def rebuild_heads(
        self, make: Callable[[list[Row]], HeadFields], progress: Callable[[int], None] | None
    ) -> int:
        """In one transaction, every head again: ``make`` is handed each stream's rows (one
        stream at a time, by version); ``progress`` told how many streams are done."""
        ...

    def settle_claims(self, stream_id: str, claims: ClaimChange) -> None:
        """Settle ``claims`` for a stream that has events, in a transaction of its own."""
        ...

    def claim_row(self, name: str) -> ClaimRow | None:
        """The claim ``name`` as stored."""
        ...

    def stream_rows(self, stream_id: str, up_to_version: int | None, lean: bool) -> list[Row]:
        """The stream's rows in version order; ``lean``: only ``(seq, type, schema, data)``."""
        ...

    def rows_after(self, after_seq: int, limit: int, lean: bool) -> list[Row]:
        """At most ``limit`` rows after ``after_seq`` in seq order; ``lean``: only
        ``(seq, stream_id, type, schema, data)``."""
        ...

    def head(self) -> tuple[int, str]:
        """The newest row's ``(seq, hash)``; ``(0, GENESIS)`` when empty."""
        ...

    def streams(self) -> list[tuple[str, int]]:
        """Every stream with its newest version, in the order the streams began."""
        ...

    def load(self, feed: Feed, commands: Commands) -> int:
        """Fill the empty store with the rows of ``feed`` (and its blobs) and then the command
        records, in one transaction; the rows loaded. ``JournalError`` if it has rows."""
        ...

    def put_blob(self, digest: str, data: bytes) -> None:
        """Store ``data`` under ``digest`` (again: nothing happens)."""
        ...

    def get_blob(self, digest: str) -> bytes | None:
        """The bytes stored under ``digest``, if any."""
        ...

    def blob_digests(self) -> Sequence[str]:
        """Every blob's digest, sorted."""
        ...

    def read_lease(self, name: str) -> LeaseRow | None:
        """The lease row ``name``, if there is one."""
        ...

    def write_lease(self, name: str, expect: LeaseRow | None, new: LeaseRow) -> bool:
        """Write ``new`` if the row is exactly ``expect`` (None: no row yet); false, writing
        nothing, otherwise."""
        ...

    def integrity_problem(self) -> str | None:
        """The backend's own check of its storage (pages, indexes), beyond the chain: what
        is wrong, or None."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
