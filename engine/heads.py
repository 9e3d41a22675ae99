"""A campaign's head: what the journal stores beside every append so that ``status``,
``metrics`` and the supervisor need not fold every campaign (journal/heads.py).

The engine decides what a head says (state, name, CXone campaign, open step, whether it needs
finishing, last error), from the state the append leads to; the journal adds where the stream
stands. ``audit verify`` compares each stored head with these fields of the fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from engine.aggregate import CampaignState
from engine.errors import IllegalEvent
from engine.lifecycle import needs_finishing
from engine.replay import Replay, illegal_at
from journal import Head, HeadFields, StoredEvent


def head_fields(s: CampaignState) -> HeadFields:
    """What the head of campaign ``s`` says."""
    remote = s.spec.get("campaign_id") if isinstance(s.spec, dict) else None
    return HeadFields(
        state=s.state,
        name=s.name,
        remote_id=remote if isinstance(remote, str) else None,
        open_step=s.pending.step if s.pending else None,
        unfinished=needs_finishing(s),
        last_error=s.last_error,
    )


class Row(Protocol):
    """What a head takes from a campaign's newest row (a ``StoredEvent`` or a ``RawRow``)."""

    @property
    def seq(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def recorded_at(self) -> str: ...


def expected_head(s: CampaignState, first_seq: int, last: Row) -> Head:
    """The head campaign ``s`` should have: its fields, and where its events stand (the
    first one's seq, the newest one)."""
    return Head(
        stream_id=s.id,
        first_seq=first_seq,
        version=last.version,
        **attrs.asdict(head_fields(s), recurse=False),
        last_seq=last.seq,
        last_type=last.type,
        last_at=last.recorded_at,
    )


def fields_of_events(stored: Sequence[StoredEvent]) -> HeadFields:
    """The head fields of one campaign's events (for rebuilding heads); ``JournalCorrupt``
    names the seq of an event its state does not allow."""
    replay = Replay()
    for event in stored:
        try:
            replay.feed(event.stream_id, event.event)
        except IllegalEvent as exc:
            raise illegal_at(event.seq, exc) from exc
    return head_fields(replay.state(stored[0].stream_id))
