"""Opening a journal by the location its recorder gives (``Journal.location``): how another
process (a verify worker) reads the same store."""

from __future__ import annotations

from journal.journal import Journal
from journal.sqlite import SQLiteJournal


def open_journal(location: str) -> Journal:
    """The existing journal at ``location`` (an SQLite file's path)."""
    return SQLiteJournal(location, create=False)
