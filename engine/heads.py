"""A campaign's head: what the journal stores beside every append so that ``status``,
``metrics`` and the supervisor need not fold every campaign (journal/heads.py).

The engine decides what a head says (state, name, CXone campaign, open step, whether it needs
finishing, last error), from the state the append leads to; the journal adds where the stream
stands. ``audit verify`` compares each stored head with these fields of the fold.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.aggregate import CampaignState
from engine.errors import IllegalEvent
from engine.lifecycle import needs_finishing
from engine.replay import Replay, illegal_at
from journal import HeadFields, StoredEvent


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
