"""Replaying a whole journal: every campaign folded in one pass over the events.

The fold creates no reference cycles (frozen values, dicts and tuples from JSON), yet a replay
keeps tens of thousands of containers alive, and the cyclic garbage collector would walk all of
them again and again; measured here, that doubled a replay's time. So a replay pauses it (reference
counting still frees everything) and restores it after.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.aggregate import Builder, CampaignState, apply, digest_mismatch
from engine.errors import IllegalEvent
from events import Event
from journal import Journal, JournalCorrupt, StoredEvent


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk fold; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Replay:
    """Folds a stream of stored events into many campaigns at once (one pass over a journal)."""

    def __init__(self) -> None:
        self._builders: dict[str, Builder] = {}

    def feed(self, stream_id: str, event: Event) -> None:
        """Apply one event to its campaign."""
        try:
            b = self._builders[stream_id]
        except KeyError:
            b = self._builders[stream_id] = Builder(id=stream_id)
        apply(b, event)

    def state_of(self, stream_id: str) -> str:
        """The machine state of one campaign fed so far ("" before its first event)."""
        b = self._builders.get(stream_id)
        return b.state if b is not None else ""

    def digest_mismatch(self, stream_id: str, recorded: str) -> str | None:
        """Why ``recorded`` is not the state digest of one campaign fed so far, under the
        scheme it names (None: it is)."""
        return digest_mismatch(self._builders[stream_id], recorded)

    def state(self, stream_id: str) -> CampaignState:
        """The current state of one campaign fed so far."""
        return self._builders[stream_id].freeze()

    def states(self) -> dict[str, CampaignState]:
        """Every campaign fed so far."""
        return {sid: b.freeze() for sid, b in self._builders.items()}


def replay_all(journal: Journal, after_seq: int = 0) -> dict[str, CampaignState]:
    """Every campaign in ``journal``, folded in one streaming pass (in order of drafting).

    ``JournalCorrupt`` naming the seq when an event cannot follow its campaign's earlier ones.
    """
    replay = Replay()
    fed = 0
    with gc_paused():
        try:
            for stream_id, event in journal.iter_events(after_seq):
                replay.feed(stream_id, event)
                fed += 1
        except IllegalEvent as exc:
            seq = next(itertools.islice(journal.read_all(after_seq), fed, None)).seq
            raise illegal_at(seq, exc) from exc
        return replay.states()


def illegal_at(seq: int, exc: IllegalEvent) -> JournalCorrupt:
    """An event the machine does not allow where it stands, as the journal problem it is."""
    return JournalCorrupt(
        f"seq {seq}: {exc}; the journal was changed or written by something else "
        "(`cxpreview audit verify` reports it whole)",
        seq,
    )


def first_illegal(campaign_id: str, stored: Sequence[StoredEvent]) -> int:
    """The index of the first event the fold refuses."""
    replay = Replay()
    for index, event in enumerate(stored):
        try:
            replay.feed(campaign_id, event.event)
        except IllegalEvent:
            return index
    raise AssertionError("the fold refused these events a moment ago")
