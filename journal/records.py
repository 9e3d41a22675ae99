"""What the journal stores and hands back, and the hash chain both backends compute alike."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import attrs

from events import CODEC, Event, canonical_json, content_digest

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event in a journal."""


class StoredEvent(NamedTuple):
    """One journal row with its event decoded (upcast to the current schema)."""

    seq: int
    stream_id: str
    version: int
    type: str
    schema: int
    event: Event
    meta_json: str
    recorded_at: str
    state_digest: str | None
    prev_hash: str
    hash: str

    @property
    def meta(self) -> dict[str, Any]:
        """Actor, command id, causation, correlation, fence: whatever the writer recorded."""
        meta: dict[str, Any] = json.loads(self.meta_json)
        return meta


class RawRow(NamedTuple):
    """A journal row exactly as stored, before decoding: what the chain is computed over."""

    seq: int
    stream_id: str
    version: int
    type: str
    schema: int
    data: str
    meta: str
    recorded_at: str
    state_digest: str | None
    prev_hash: str
    hash: str

    def decoded(self) -> StoredEvent:
        """This row with its event decoded; ``EventDecodeError`` when it does not decode."""
        event = CODEC.decode(self.type, self.schema, self.data)
        return StoredEvent(
            self.seq,
            self.stream_id,
            self.version,
            self.type,
            self.schema,
            event,
            self.meta,
            self.recorded_at,
            self.state_digest,
            self.prev_hash,
            self.hash,
        )


@attrs.frozen
class Lease:
    """Ownership of ``name`` by ``owner`` until ``expires_at``; ``fence`` grows on every acquire."""

    name: str
    owner: str
    fence: int
    expires_at: str


@attrs.frozen
class ChainReport:
    """What ``verify()`` found: ``ok``, how many events it read, and the first bad seq if any."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events} events, chain intact"
        return f"seq {self.first_bad_seq}: {self.problem}"


Visitor = Callable[[StoredEvent], str | None]
"""Called by ``verify`` for every event in order; a returned string is a problem at that seq."""


def row_hash(  # noqa: PLR0917 - one argument per stored column, in the table's order
    prev_hash: str,
    seq: int,
    stream_id: str,
    version: int,
    type_: str,
    schema: int,
    data: str,
    meta: str,
    recorded_at: str,
    state_digest: str | None,
) -> str:
    """The chain hash of a row: SHA-256 over the previous hash and every stored field.

    Each field is length-prefixed, so no choice of field contents can make two different rows
    hash alike.
    """
    parts = (
        prev_hash,
        str(seq),
        stream_id,
        str(version),
        type_,
        str(schema),
        data,
        meta,
        recorded_at,
        "" if state_digest is None else "d" + state_digest,
    )
    text = "".join(f"{len(p)}:{p}" for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()


class PreparedAppend(NamedTuple):
    """An append's rows encoded and checked before any lock is taken."""

    encoded: list[tuple[str, int, str]]
    meta: str
    digests: Sequence[str | None]
    fingerprint: str


def prepare_append(
    stream_id: str,
    events: Sequence[Event],
    expected_version: int,
    meta: Mapping[str, Any] | None,
    state_digests: Sequence[str | None] | None,
) -> PreparedAppend:
    """Check an append's arguments and encode its events (shared by every backend)."""
    if not isinstance(stream_id, str) or not stream_id:
        raise ValueError("stream_id must be a non-empty string")
    if not events:
        raise ValueError("an append needs at least one event")
    if type(expected_version) is not int or expected_version < 0:
        raise ValueError(f"expected_version must be an int >= 0, got {expected_version!r}")
    digests: Sequence[str | None] = state_digests or [None] * len(events)
    if len(digests) != len(events):
        raise ValueError(f"{len(events)} events but {len(digests)} state digests")
    encoded = [CODEC.encode(e) for e in events]
    fingerprint = content_digest([stream_id, encoded])
    return PreparedAppend(encoded, canonical_json(dict(meta or {})), digests, fingerprint)


class Journal(Protocol):
    """The append-only event store: the contract every backend passes (tests/contract)."""

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
        """Append ``events`` after ``expected_version`` of the stream, all or nothing."""
        ...

    def read_stream(self, stream_id: str, up_to_version: int | None = None) -> list[StoredEvent]:
        """The stream's events in version order (empty for an unknown stream)."""
        ...

    def read_all(self, after_seq: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after ``after_seq`` in global order, streamed in pages."""
        ...

    def stream_version(self, stream_id: str) -> int:
        """The stream's latest version, 0 when it has none."""
        ...

    def streams(self) -> Iterator[tuple[str, int]]:
        """Every stream id with its latest version, in order of creation."""
        ...

    def last_seq(self) -> int:
        """The seq of the newest event, 0 in an empty journal."""
        ...

    def verify(self, visitor: Visitor | None = None) -> ChainReport:
        """Walk the chain (and call ``visitor`` on each event); name the first bad seq."""
        ...

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` under its digest (``sha256:…``) and return the digest."""
        ...

    def get_blob(self, digest: str) -> bytes:
        """The blob stored under ``digest``; ``BlobNotFound`` when there is none."""
        ...

    def acquire_lease(self, name: str, owner: str, ttl: float) -> Lease | None:
        """Take ``name`` for ``ttl`` seconds if it is free or expired; ``None`` when held."""
        ...

    def renew_lease(self, lease: Lease, ttl: float) -> Lease:
        """Extend a lease still held at its fence; ``LeaseLost`` otherwise."""
        ...

    def release_lease(self, lease: Lease) -> bool:
        """Give a lease up; false when it had already been lost."""
        ...

    def current_lease(self, name: str) -> Lease | None:
        """The unexpired holder of ``name``, if any."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def blob_digest(data: bytes) -> str:
    """The address of a blob: ``sha256:`` and the hex digest of its bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
