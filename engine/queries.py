"""Reading campaigns: each state folded from the journal, checked before it is shown or acted
on (a changed row, or a recorded digest the fold does not give, is named by its seq)."""

from __future__ import annotations

from engine.aggregate import CampaignState, fold, steps
from engine.errors import CampaignNotFound, IllegalEvent
from engine.replay import Replay, first_illegal, gc_paused, illegal_at
from journal import Journal, JournalCorrupt, StoredEvent
from journal.verify import checked_rows


class Queries:
    """What an engine reads: mixed into ``Engine``."""

    journal: Journal

    def load(self, campaign_id: str) -> CampaignState:
        """The campaign's state, folded from its events."""
        events = self.journal.read_events(campaign_id)
        if not events:
            raise CampaignNotFound(f"no campaign {campaign_id!r} in {self.journal!r}")
        try:
            return fold(campaign_id, events)
        except IllegalEvent as exc:
            # Events that cannot follow one another: rows were removed or changed (which the
            # stream's own check names by seq), or written by something else.
            self.journal.check_stream(campaign_id)
            stored = self.journal.read_stream(campaign_id)
            raise illegal_at(stored[first_illegal(campaign_id, stored)].seq, exc) from exc

    def inspect(self, campaign_id: str) -> CampaignState:
        """The campaign's state for a view: loaded after ``check`` (its rows as written, its
        digests what the fold gives), so a forged row is named by seq, never shown."""
        s = self.load(campaign_id)
        self.check(campaign_id)
        return s

    def overview(self) -> list[tuple[CampaignState, StoredEvent]]:
        """Every campaign with its last event (for ``status``), in one pass over the journal."""
        replay = Replay()
        last: dict[str, StoredEvent] = {}
        with gc_paused():
            for stored in checked_rows(self.journal.raw_rows()):
                try:
                    replay.feed(stored.stream_id, stored.event)
                except IllegalEvent as exc:
                    raise illegal_at(stored.seq, exc) from exc
                last[stored.stream_id] = stored
            return [(replay.state(stream_id), stored) for stream_id, stored in last.items()]

    def state_at(
        self, campaign_id: str, *, seq: int | None = None, time: str | None = None
    ) -> CampaignState:
        """The campaign as it was after global ``seq``, or at UTC ``time`` (ISO-8601)."""
        if self.journal.stream_version(campaign_id):
            self.check(campaign_id)
        events = [
            e.event
            for e in self.journal.read_stream(campaign_id)
            if (seq is None or e.seq <= seq) and (time is None or e.recorded_at <= time)
        ]
        if not events:
            raise CampaignNotFound(f"campaign {campaign_id!r} did not exist yet at that point")
        return fold(campaign_id, events)

    def history(self, campaign_id: str) -> list[StoredEvent]:
        """The campaign's events as stored, oldest first (checked as ``inspect`` does)."""
        self.inspect(campaign_id)
        return self.journal.read_stream(campaign_id)

    def check(self, campaign_id: str) -> None:
        """Before acting: the campaign's rows are as written (their hashes and versions) and
        each recorded state digest is what folding them gives now, so a forger who rebuilt
        the hash chain but not the digests is caught here too. ``JournalCorrupt`` names the
        seq."""
        self.journal.check_stream(campaign_id)
        stored = self.journal.read_stream(campaign_id)
        start = CampaignState(campaign_id, 0, "", "", {})
        try:
            after = steps(start, [e.event for e in stored])
        except IllegalEvent as exc:
            raise illegal_at(stored[first_illegal(campaign_id, stored)].seq, exc) from exc
        for row, state in zip(stored, after, strict=True):
            if row.state_digest is not None and row.state_digest != state.digest():
                raise JournalCorrupt(
                    f"seq {row.seq}: the state digest recorded with it is not the state its "
                    f"campaign's events give; campaign {campaign_id} is left as it is",
                    row.seq,
                )
