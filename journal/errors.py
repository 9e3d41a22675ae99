"""The journal's errors::

CxpreviewError                          (events/errors.py)
└── JournalError                        anything wrong with the store
    ├── NotAJournal                     the file is not a cxpreview journal: nothing was changed
    ├── NoJournal                       no journal there, and the command may not create one
    ├── JournalTooNew                   written by a newer cxpreview: nothing was changed
    ├── JournalCorrupt                  a row, the chain or a blob is damaged (names the seq)
    │   └── JournalBehind               it ends before a seq this machine saw in it (lost events)
    ├── JournalBusy                     another process held the lock past busy_timeout
    ├── JournalFull                     the disk or page limit refused a write; nothing written
    ├── ConcurrencyError                the stream moved on since the expected version
    ├── CommandConflict (ValueError)    a command id reused with different events
    ├── LeaseLost                       the lease expired or was taken over (fence moved on)
    ├── ClaimRefused                    another stream holds (or superseded this one on) a claim
    └── BlobNotFound (KeyError)         no blob with that digest
"""

from __future__ import annotations

from events.errors import EXIT_HELD, EXIT_JOURNAL, CxpreviewError


class JournalError(CxpreviewError):
    """Base of the journal's errors."""

    exit_code = EXIT_JOURNAL


class NotAJournal(JournalError):
    """The file exists but is not a cxpreview journal (another SQLite file, or not SQLite)."""


class NoJournal(JournalError, FileNotFoundError):
    """There is no journal at the path, and the command only reads (it creates none)."""


class JournalReadOnly(JournalError):
    """A write to a journal opened read-only (by a command that only reads)."""


class JournalTooNew(JournalError):
    """The journal's schema is newer than this cxpreview understands."""


class JournalCorrupt(JournalError):
    """Stored data is damaged; ``seq`` names the first bad event where there is one."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class JournalBehind(JournalCorrupt):
    """The journal ends before a point this machine saw in it: events were lost (a deleted
    write-ahead log, a restored copy), so acting on it could repeat what was already done."""


class ClaimRefused(JournalError):
    """``name`` is held by the live stream ``holder``, or (``superseded``) was held by
    ``holder``, which began after this stream did: this stream must not write to it."""

    def __init__(self, name: str, holder: str, *, superseded: bool) -> None:
        self.name, self.holder, self.superseded = name, holder, superseded
        if superseded:
            message = f"{name} was taken over by the newer {holder}: this one is superseded"
        else:
            message = f"{name} is held by {holder}, which has not ended"
        super().__init__(message)


class JournalBusy(JournalError):
    """Another process kept the journal locked for longer than ``busy_timeout``."""


class JournalUnavailable(JournalBusy):
    """The journal's server could not be reached, or the connection to it broke: try again
    (nothing was written, or a commit's fate is settled by the next read)."""


class JournalFull(JournalError):
    """The disk (or the page limit) refused a write; the transaction was rolled back whole."""


class ConcurrencyError(JournalError):
    """An append expected a stream version the stream is no longer at."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "someone else appended first; reload it and decide again"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class CommandConflict(JournalError, ValueError):
    """A command id that was already applied came back with different events."""


class LeaseLost(JournalError):
    """The lease is no longer held by its owner at that fence (expired and taken, or released)."""

    exit_code = EXIT_HELD


class BlobNotFound(JournalError, KeyError):
    """No blob is stored under the digest."""
