"""Opening a journal by its location: a file path (SQLite, the default) or a
``postgresql://`` URL (``Journal.location`` gives one back, so another process, a verify
worker, reads the same store)."""

from __future__ import annotations

from journal.journal import Journal
from journal.sqlite import SQLiteJournal

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL journal."""
    return location.startswith(POSTGRES_SCHEMES)


def open_journal(location: str, *, create: bool = False, read_only: bool = False) -> Journal:
    """The journal at ``location``: a ``postgresql://`` URL, else an SQLite file's path;
    ``create`` it if there is none (else ``NoJournal``). ``read_only``: for a command that
    only reads: nothing is created, migrated or written (a write raises ``JournalReadOnly``);
    a journal of an earlier release is read at its own schema."""
    if is_postgres(location):
        from journal.postgres import PostgresJournal  # noqa: PLC0415 - psycopg, when asked

        return PostgresJournal(location, create=create, read_only=read_only)
    return SQLiteJournal(location, create=create, read_only=read_only)
