"""Stream heads: one row per stream, written in the transaction of every append.

A head is derived data, a read model: what the views and the supervisor ask of every campaign
(its state, its name, its CXone campaign, the step it left open, whether it needs finishing,
its last error, its last event) without folding every campaign's events. The engine says what
the stream is after the append (``HeadFields``); the journal adds where the stream stands
(its version, first and last seq, last event type and time) from the rows it wrote, so it
knows nothing of campaigns. ``audit verify`` compares each head with the fold of its stream;
a journal whose heads were never built (an older release's), or that was appended to without
one, reads as ``heads_ready() is False`` until they are rebuilt from the events.
"""

from __future__ import annotations

from typing import Any

import attrs

HEAD_COLUMNS = (
    "stream_id",
    "first_seq",
    "version",
    "state",
    "name",
    "remote_id",
    "open_step",
    "unfinished",
    "last_error",
    "last_seq",
    "last_type",
    "last_at",
)
HeadRow = tuple[Any, ...]
"""A head as stored, in ``HEAD_COLUMNS`` order."""


@attrs.frozen
class HeadFields:
    """What the writer says of a stream after an append."""

    state: str
    name: str
    remote_id: str | None
    open_step: str | None
    unfinished: bool
    last_error: str | None


@attrs.frozen
class Head:
    """One stream's head: ``HeadFields`` and where the stream stands in the journal."""

    stream_id: str
    first_seq: int
    version: int
    state: str
    name: str
    remote_id: str | None
    open_step: str | None
    unfinished: bool
    last_error: str | None
    last_seq: int
    last_type: str
    last_at: str

    @classmethod
    def from_row(cls, row: HeadRow) -> Head:
        values = dict(zip(HEAD_COLUMNS, row, strict=True))
        values["unfinished"] = bool(values["unfinished"])
        return cls(**values)

    @property
    def fields(self) -> HeadFields:
        """The part the writer gave."""
        return HeadFields(
            self.state,
            self.name,
            self.remote_id,
            self.open_step,
            self.unfinished,
            self.last_error,
        )


def head_row(fields: HeadFields, first_seq: int, last: tuple[Any, ...]) -> HeadRow:
    """The head of a stream whose first row has ``first_seq`` and whose newest row (in
    ``RawRow`` column order: seq, stream_id, version, type, …, recorded_at, …) is ``last``."""
    return (
        last[1],
        first_seq,
        last[2],
        fields.state,
        fields.name,
        fields.remote_id,
        fields.open_step,
        int(fields.unfinished),
        fields.last_error,
        last[0],
        last[3],
        last[7],
    )
