"""The append-only event store: one generic ``Journal`` over a backend's ``Recorder`` (SQLite
on a file, PostgreSQL (journal/postgres.py, imported when a URL names it), or rows in
memory).

Imports events only.
"""

from events.clock import Clock, ManualClock, SystemClock, parse_utc_text, utc_text
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
    JournalReadOnly,
    JournalTooNew,
    JournalUnavailable,
    LeaseLost,
    NoJournal,
    NotAJournal,
)
from journal.heads import Head, HeadFields
from journal.journal import Journal
from journal.locate import open_journal
from journal.memory import InMemoryJournal, InMemoryRecorder
from journal.recorder import Recorder
from journal.records import Anchor, ChainReport, Lease, RawRow, StoredEvent, Visitor
from journal.sqlite import SQLiteJournal, SQLiteRecorder

__all__ = [
    "Anchor",
    "BlobNotFound",
    "ChainReport",
    "ClaimRefused",
    "Clock",
    "CommandConflict",
    "ConcurrencyError",
    "Head",
    "HeadFields",
    "InMemoryJournal",
    "InMemoryRecorder",
    "Journal",
    "JournalBehind",
    "JournalBusy",
    "JournalCorrupt",
    "JournalError",
    "JournalFull",
    "JournalReadOnly",
    "JournalTooNew",
    "JournalUnavailable",
    "Lease",
    "LeaseLost",
    "ManualClock",
    "NoJournal",
    "NotAJournal",
    "RawRow",
    "Recorder",
    "SQLiteJournal",
    "SQLiteRecorder",
    "StoredEvent",
    "SystemClock",
    "Visitor",
    "open_journal",
    "parse_utc_text",
    "utc_text",
]
