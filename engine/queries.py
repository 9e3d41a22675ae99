"""Reading campaigns: each state folded from the journal, checked before it is shown or acted
on (a changed row, or a recorded digest the fold does not give, is named by its seq)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from engine.aggregate import CampaignState, fold
from engine.claims import CLAIM_PREFIX
from engine.errors import CampaignNotFound, IllegalEvent
from engine.heads import expected_head, fields_of_events
from engine.replay import Replay, gc_paused, illegal_at
from engine.steps import Steps
from events import instant
from journal import Head, StoredEvent
from journal.verify import checked_rows


class Queries:
    """What an engine reads: mixed into ``Engine``, over its ``steps``."""

    steps: Steps

    def find(self, ref: str) -> str:
        """The campaign ``ref`` names: its id, the start of exactly one id (four characters
        at least), or the CXone campaign it writes to (the live campaign that claims it, else
        the last one that did). ``CampaignNotFound`` saying which, or naming the candidates."""
        journal = self.steps.journal
        if journal.stream_version(ref):
            return ref
        holder = journal.claim_holder(f"{CLAIM_PREFIX}{ref}")
        if holder is not None:
            return holder[0]
        matches = [] if len(ref) < 4 else [s for s, _ in journal.streams() if s.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        where = journal.recorder.where
        if matches:
            shown = ", ".join(matches[:3]) + (", …" if len(matches) > 3 else "")
            raise CampaignNotFound(
                f"{ref!r} starts {len(matches)} campaign ids in {where} ({shown}): give more of it"
            )
        raise CampaignNotFound(
            f"no campaign {ref!r} in {where}: it is neither a campaign id, the start of one "
            "(4 characters at least), nor a CXone campaign id a campaign was drafted for"
        )

    def load(self, campaign_id: str) -> CampaignState:
        """The campaign's state, folded from its events."""
        return self.steps.load(campaign_id)

    def inspect(self, campaign_id: str) -> CampaignState:
        """The campaign's state for a view, from one read of its rows, each checked (hashes,
        versions, recorded digests): a forged row is named by seq, never shown."""
        return self.steps.read(campaign_id)

    def details(self, campaign_id: str) -> tuple[CampaignState, list[StoredEvent]]:
        """The campaign's state and its events as stored, from one checked read (``inspect``
        and ``history`` at once)."""
        return self.steps.read_whole(campaign_id)

    def check(self, campaign_id: str) -> None:
        """Before acting: the campaign's rows are as written and each recorded state digest
        is what folding them gives now; ``JournalCorrupt`` names the seq."""
        self.steps.read(campaign_id)

    def heads(
        self,
        *,
        state: Sequence[str] = (),
        since: str | datetime | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> list[Head]:
        """Every campaign's head (for ``status``), in the order they were drafted (``newest``
        first when asked): those in ``state`` (any of), whose last event is at or after
        ``since``, at most ``limit``. Read from the journal's heads, or, on a journal whose
        heads are not built yet, folded from every event (each row checked) as they would be.
        """
        journal = self.steps.journal
        after = None if since is None else instant(since)
        if journal.heads_ready():
            return journal.heads(state=state, since=after, limit=limit, newest=newest)
        heads = [
            h
            for h in self._folded_heads()
            if (not state or h.state in state) and (after is None or h.last_at >= after)
        ]
        if newest:
            heads.reverse()
        return heads if limit is None else heads[:limit]

    def each_head(
        self,
        *,
        state: Sequence[str] = (),
        since: str | datetime | None = None,
        newest: bool = False,
    ) -> Iterator[Head]:
        """``heads``, streamed: from the journal's heads a page at a time (the fold of every
        event, on a journal whose heads are not built yet)."""
        journal = self.steps.journal
        if journal.heads_ready():
            after = None if since is None else instant(since)
            return journal.each_head(state=state, since=after, newest=newest)
        return iter(self.heads(state=state, since=since, newest=newest))

    def _folded_heads(self) -> list[Head]:
        """Every campaign's head, folded from the journal in one pass (no heads stored)."""
        replay = Replay()
        first: dict[str, int] = {}
        last: dict[str, StoredEvent] = {}
        with gc_paused():
            for stored in checked_rows(self.steps.journal.raw_rows()):
                try:
                    replay.feed(stored.stream_id, stored.event)
                except IllegalEvent as exc:
                    raise illegal_at(stored.seq, exc) from exc
                first.setdefault(stored.stream_id, stored.seq)
                last[stored.stream_id] = stored
        return [
            expected_head(replay.state(stream_id), first[stream_id], stored)
            for stream_id, stored in last.items()
        ]

    def rebuild_heads(self, progress: Callable[[int], None] | None = None) -> int:
        """Build every campaign's head from its events (one campaign at a time, in one
        transaction); the number of campaigns. Journals written before heads existed get
        theirs this way once; afterwards every append keeps them."""
        return self.steps.journal.rebuild_heads(fields_of_events, progress)

    def state_at(
        self, campaign_id: str, *, seq: int | None = None, time: str | datetime | None = None
    ) -> CampaignState:
        """The campaign as it was after global ``seq``, or at ``time`` (an aware datetime, or
        ISO-8601 text; UTC unless it says otherwise)."""
        until = None if time is None else instant(time)
        try:
            _, stored = self.steps.read_whole(campaign_id)
        except CampaignNotFound:
            stored = []
        events = [
            e.event
            for e in stored
            if (seq is None or e.seq <= seq) and (until is None or e.recorded_at <= until)
        ]
        if not events:
            raise CampaignNotFound(f"campaign {campaign_id!r} did not exist yet at that point")
        return fold(campaign_id, events)

    def history(self, campaign_id: str) -> list[StoredEvent]:
        """The campaign's events as stored, oldest first (checked as ``inspect`` does)."""
        return self.steps.read_whole(campaign_id)[1]
