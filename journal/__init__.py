"""The append-only event store: SQLite on a file, or its in-memory twin.

Imports events only.
"""

from journal.clock import Clock, ManualClock, SystemClock, parse_utc_text, utc_text
from journal.crash import crash_point
from journal.errors import (
    BlobNotFound,
    ClaimRefused,
    CommandConflict,
    ConcurrencyError,
    JournalBehind,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFull,
    JournalTooNew,
    LeaseLost,
    NoJournal,
    NotAJournal,
)
from journal.memory import InMemoryJournal
from journal.records import Anchor, ChainReport, Journal, Lease, RawRow, StoredEvent, Visitor
from journal.sqlite import SQLiteJournal

__all__ = [
    "Anchor",
    "BlobNotFound",
    "ChainReport",
    "ClaimRefused",
    "Clock",
    "CommandConflict",
    "ConcurrencyError",
    "InMemoryJournal",
    "Journal",
    "JournalBehind",
    "JournalBusy",
    "JournalCorrupt",
    "JournalError",
    "JournalFull",
    "JournalTooNew",
    "Lease",
    "LeaseLost",
    "ManualClock",
    "NoJournal",
    "NotAJournal",
    "RawRow",
    "SQLiteJournal",
    "StoredEvent",
    "SystemClock",
    "Visitor",
    "crash_point",
    "parse_utc_text",
    "utc_text",
]
