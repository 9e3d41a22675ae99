"""What an append hands back: the events as stored, made when read, behaving as the list of
``StoredEvent`` every earlier release returned (index, slice, length, equality, ``+``)."""

from __future__ import annotations

from events import CampaignDrafted, ValidationRequested
from journal import InMemoryJournal, StoredEvent


def test_an_append_hands_back_its_events_as_stored() -> None:
    journal = InMemoryJournal()
    events = [CampaignDrafted({"name": "x"}), ValidationRequested("a"), ValidationRequested("b")]
    stored = journal.append("c", events, 0)
    assert len(stored) == 3
    assert all(isinstance(s, StoredEvent) for s in stored)
    assert [s.event for s in stored] == events, "the caller's own event objects"
    assert [s.version for s in stored] == [1, 2, 3]
    assert stored[-1].seq == 3
    assert [s.version for s in stored[1:]] == [2, 3]
    assert stored == list(journal.read_all()), "equal to the rows read back"
    assert list(journal.read_all()) == stored
    more = journal.append("d", [CampaignDrafted({"name": "y"})], 0)
    both = stored + more
    assert isinstance(both, list)
    assert [s.stream_id for s in both] == ["c", "c", "c", "d"]
    assert [s.seq for s in list(more) + stored] == [4, 1, 2, 3]
    assert stored[1].prev_hash == stored[0].hash
