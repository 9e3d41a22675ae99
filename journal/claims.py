"""Claims: at most one live stream writes to a named outside resource (a CXone campaign).

A claim is taken in the same transaction as an append (a campaign's draft takes its CXone
campaign's claim), kept by every later append of its holder, and released when the holder ends.
A released claim passes only forward: a stream may take it only if it began after the last
holder began, so a stream that was superseded (a newer one held the claim since) can never take
it back and write over the newer one's work.

The rule is written once here and used by every backend; the backends only store rows of
``(name, stream_id, since_seq, held)`` where ``since_seq`` is the holder's first seq, through a
``ClaimStore`` inside their own transaction.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from journal.errors import ClaimRefused


class ClaimRow(NamedTuple):
    """A claim as stored: who holds (or last held) ``name``, since when, and whether still."""

    name: str
    stream_id: str
    since_seq: int
    held: bool


class ClaimChange(NamedTuple):
    """What an append does to claims: hold ``claim`` after it (``fresh``: the stream is
    pointed at it now, by a draft or a revise), give ``release`` up."""

    claim: str | None = None
    release: str | None = None
    fresh: bool = False


class ClaimStore(Protocol):
    """A backend's claim rows, read and written inside its current transaction."""

    def get(self, name: str) -> ClaimRow | None:
        """The row of ``name``."""
        ...

    def put(self, row: ClaimRow) -> None:
        """Insert or replace the row of ``row.name``."""
        ...

    def first_seq(self, stream_id: str) -> int | None:
        """The seq of the stream's first event."""
        ...


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


def settle(
    store: ClaimStore, stream_id: str, change: ClaimChange, first_seq: int | None = None
) -> None:
    """Apply ``change`` for ``stream_id`` (whose first seq is ``first_seq`` when the caller
    knows it: a draft's append), inside the caller's transaction; ``ClaimRefused`` raises
    before anything is written only if the caller rolls back, which every backend does."""
    if change.release is not None:
        released = store.get(change.release)
        if released is not None and released.stream_id == stream_id and released.held:
            store.put(released._replace(held=False))
    if change.claim is None:
        return
    row = store.get(change.claim)
    if row is not None and row.stream_id == stream_id and row.held:
        return  # the hot path: every append of a live campaign keeps its claim
    first = first_seq if first_seq is not None else store.first_seq(stream_id)
    if first is None:
        raise ValueError(f"stream {stream_id!r} has no events: it cannot hold a claim")
    write = decide(row, change.claim, stream_id, first, fresh=change.fresh)
    if write is not None:
        store.put(write)
