"""Auditing a journal: the chain, and a replay of every stream against its recorded digests.

``verify(journal)`` walks the hash chain and, in the same pass, folds every event into its
campaign: an event the state machine does not allow, or a state whose digest differs from the
``state_digest`` written beside the event, is reported at its seq. That catches tampering the
chain cannot (a whole log rewritten with fresh hashes still has to fold legally) and a code
change that would fold old events differently.
"""

from __future__ import annotations

from engine.errors import IllegalEvent
from engine.replay import Replay, gc_paused
from events import ContactsFiltered
from journal import Anchor, BlobNotFound, ChainReport, Journal, JournalCorrupt, StoredEvent, Visitor


def replay_visitor(journal: Journal) -> Visitor:
    """What verify (and an import) checks of each event beyond the chain: that it may follow
    its campaign's earlier events, that the recorded state digest is the fold's, and that the
    blob it refers to (the eligible set) is there with its digest."""
    replay = Replay()

    def visit(stored: StoredEvent) -> str | None:
        try:
            replay.feed(stored.stream_id, stored.event)
        except IllegalEvent as exc:
            return f"illegal transition: {exc}"
        if stored.state_digest is not None:
            folded = replay.state(stored.stream_id).digest()
            if folded != stored.state_digest:
                return (
                    f"campaign {stored.stream_id} v{stored.version} folds to {folded}, "
                    f"but {stored.state_digest} was recorded: the fold has changed"
                )
        if isinstance(stored.event, ContactsFiltered):
            try:
                journal.get_blob(stored.event.eligible_digest)
            except BlobNotFound:
                return f"the eligible set {stored.event.eligible_digest} it names is missing"
            except JournalCorrupt:
                return f"the eligible set {stored.event.eligible_digest} it names was altered"
        return None

    return visit


def verify(journal: Journal, anchor: Anchor | None = None) -> ChainReport:
    """The chain and the replay, checked together; the report names the first bad seq.

    ``anchor``: a ``(seq, hash)`` noted from an earlier report, which must still be on the chain.
    """
    with gc_paused():
        return journal.verify(replay_visitor(journal), anchor)
