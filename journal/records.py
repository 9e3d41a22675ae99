"""What the journal stores and hands back, and the hash chain over its rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, overload

import attrs

from events import CODEC, Event, EventDecodeError, canonical_json, content_digest
from journal.errors import JournalCorrupt

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

    def __repr__(self) -> str:
        return (
            f"<StoredEvent seq {self.seq} {self.stream_id} v{self.version} {self.type} "
            f"at {self.recorded_at}>"
        )

    @property
    def meta(self) -> dict[str, Any]:
        """Actor, command id, causation, correlation, fence: whatever the writer recorded."""
        try:
            meta = json.loads(self.meta_json)
        except (ValueError, RecursionError):
            meta = None
        if not isinstance(meta, dict):
            raise JournalCorrupt(f"seq {self.seq}: its meta is not a JSON object", self.seq)
        return meta


def decode_rows(rows: Iterable[Sequence[Any]]) -> list[StoredEvent]:
    """Whole journal rows (in ``RawRow`` order) to stored events; ``JournalCorrupt`` names the
    seq of a row that does not decode."""
    decode, out = CODEC.decode, []
    try:
        for row in rows:
            out.append(
                StoredEvent(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    decode(row[3], row[4], row[5]),
                    row[6],
                    row[7],
                    row[8],
                    row[9],
                    row[10],
                )
            )
    except EventDecodeError as exc:
        raise JournalCorrupt(f"seq {row[0]} (stream {row[1]!r}): {exc}", row[0]) from exc
    return out


def decode_events(rows: Iterable[Sequence[Any]]) -> list[Event]:
    """``(seq, type, schema, data)`` rows to events (the lean path for loading a campaign)."""
    decode, out = CODEC.decode, []
    try:
        for row in rows:
            out.append(decode(row[1], row[2], row[3]))
    except EventDecodeError as exc:
        raise JournalCorrupt(f"seq {row[0]}: {exc}", row[0]) from exc
    return out


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


Anchor = tuple[int, str]
"""``(seq, hash)`` of a point on the chain, noted by an auditor to check against later."""


@attrs.frozen
class ChainReport:
    """What ``verify()`` found: ``ok``, how many events it read, the first bad seq if any, and
    the head (last seq and hash) to note down as an anchor for the next verification."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head: Anchor = (0, GENESIS)

    def __bool__(self) -> bool:
        """True only when the chain (and the replay) verified: ``if verify(j):`` means ok."""
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            seq, hash_ = self.head
            return f"ok: {self.events} events, chain intact, head seq {seq} {hash_[:16]}"
        if self.first_bad_seq is None:
            return str(self.problem)
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

    Integers are written in decimal and ended by ``|``; every text field is length-prefixed;
    a missing state digest is ``-``. So no choice of field contents (even a tampered one) makes
    two different rows hash alike. One f-string: this runs once per appended event.
    """
    digest = "-" if state_digest is None else f"{len(state_digest)}:{state_digest}"
    text = (
        f"{seq}|{version}|{schema}|{len(prev_hash)}:{prev_hash}{len(stream_id)}:{stream_id}"
        f"{len(type_)}:{type_}{len(recorded_at)}:{recorded_at}{len(meta)}:{meta}"
        f"{len(data)}:{data}{digest}"
    )
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
    *,
    command_id: str | None = None,
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
    # What a command id promises: the same stream and events (only needed when there is one).
    fingerprint = "" if command_id is None else content_digest([stream_id, encoded])
    if command_id is not None:  # in every row's meta too, so an export carries it
        meta = {**(meta or {}), "command_id": command_id}
    meta_json = canonical_json(dict(meta)) if meta else "{}"
    return PreparedAppend(encoded, meta_json, digests, fingerprint)


def chain(
    stream_id: str,
    events: Sequence[Event],
    prep: PreparedAppend,
    after: tuple[int, int, str],
    now: str,
) -> tuple[list[tuple[Any, ...]], AppendedEvents]:
    """The rows an append writes, each hash-chained to the one before.

    ``after`` is ``(seq, stream version, hash)`` of what precedes them. Returns the rows as
    stored and as handed back (the same, with the caller's event objects in place of the
    JSON, made when read). The rows are plain tuples in ``RawRow`` order (sqlite3 binds an
    exact tuple fastest): a bulk append runs this loop once per event, inside the commit.
    """
    seq, version, prev = after
    meta, rows = prep.meta, []
    sha256 = hashlib.sha256
    # row_hash's text, with the parts every row of this append shares written once, and the
    # part of each event type once per type.
    stream_part = f"{len(stream_id)}:{stream_id}"
    shared_part = f"{len(now)}:{now}{len(meta)}:{meta}"
    typed: dict[str, str] = {}
    for (type_, schema, data), digest in zip(prep.encoded, prep.digests, strict=True):
        seq += 1
        version += 1
        type_part = typed.get(type_)
        if type_part is None:
            type_part = typed[type_] = f"{len(type_)}:{type_}{shared_part}"
        text = (
            f"{seq}|{version}|{schema}|{len(prev)}:{prev}{stream_part}{type_part}"
            f"{len(data)}:{data}{'-' if digest is None else f'{len(digest)}:{digest}'}"
        )
        hash_ = sha256(text.encode()).hexdigest()
        rows.append((seq, stream_id, version, type_, schema, data, meta, now, digest, prev, hash_))
        prev = hash_
    return rows, AppendedEvents(rows, events)


class AppendedEvents(Sequence[StoredEvent]):
    """The events an append wrote, as ``StoredEvent``: each made from its row and the
    caller's own event object when it is read (a caller of a bulk append reads the last, if
    any: making a thousand it never reads cost a third of the append's own work)."""

    __slots__ = ("_events", "_rows")

    def __init__(self, rows: list[tuple[Any, ...]], events: Sequence[Event]) -> None:
        self._rows, self._events = rows, events

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> StoredEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredEvent]: ...
    def __getitem__(self, index: int | slice) -> StoredEvent | list[StoredEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = self._rows[index]
        return StoredEvent._make((*row[:5], self._events[index], *row[6:]))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Sequence[StoredEvent]) -> list[StoredEvent]:
        return [*self, *other]

    def __radd__(self, other: Sequence[StoredEvent]) -> list[StoredEvent]:
        return [*other, *self]

    def __repr__(self) -> str:
        return repr(list(self))


def blob_digest(data: bytes) -> str:
    """The address of a blob: ``sha256:`` and the hex digest of its bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
