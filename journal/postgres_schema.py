"""A PostgreSQL journal's schema, how a database is recognised as holding one, and its
migrations.

The journal lives in the connection's current schema (``search_path``: ``public`` unless the
URL says otherwise, so one database can hold several journals). It is marked and versioned by
one row of ``cxpreview_journal`` (the counterpart of SQLite's ``application_id`` and
``user_version``), created and migrated by cxpreview itself under a transaction-scoped advisory
lock, so two processes starting at once do not race: the second waits, then finds the schema
current. A journal from a newer cxpreview is refused before anything is written.

The tables mirror the SQLite journal's (journal/schema.py) column for column and type for type
(``data`` and ``meta`` are ``text``, never ``jsonb``: the hash chain covers their exact bytes),
plus ``chain``, one row holding the chain's head: every append locks it first, which is what
makes appends from several hosts one total order.
"""

from __future__ import annotations

from typing import Any

from journal.errors import JournalError, JournalTooNew, NotAJournal
from journal.records import GENESIS
from journal.schema import OUTCOME_TYPES

MARK = "cxpreview-journal"
SCHEMA_VERSION = 1
LOCK_KEY = 0x63787076  # "cxpv": the advisory lock creation and migrations take

_V1 = f"""
CREATE TABLE events (
    seq bigint PRIMARY KEY,
    stream_id text NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    schema integer NOT NULL,
    data text NOT NULL,
    meta text NOT NULL,
    recorded_at text NOT NULL,
    state_digest text,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX idx_events_outcomes ON events (type) WHERE type IN ({OUTCOME_TYPES});
CREATE TABLE chain (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO chain VALUES (true, 0, '{GENESIS}');
CREATE TABLE commands (
    command_id text PRIMARY KEY,
    stream_id text NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    fingerprint text NOT NULL
);
CREATE TABLE leases (
    name text PRIMARY KEY,
    owner text,
    fence bigint NOT NULL,
    expires_at text NOT NULL
);
CREATE TABLE blobs (
    digest text PRIMARY KEY,
    size bigint NOT NULL,
    data bytea NOT NULL,
    created_at text NOT NULL
);
CREATE TABLE claims (
    name text PRIMARY KEY,
    stream_id text NOT NULL,
    since_seq bigint NOT NULL,
    held integer NOT NULL
);
CREATE TABLE heads (
    stream_id text PRIMARY KEY,
    first_seq bigint NOT NULL,
    version integer NOT NULL,
    state text NOT NULL,
    name text NOT NULL,
    remote_id text,
    open_step text,
    unfinished integer NOT NULL,
    last_error text,
    last_seq bigint NOT NULL,
    last_type text,
    last_at text
);
CREATE INDEX idx_heads_first_seq ON heads (first_seq);
CREATE INDEX idx_heads_state ON heads (state, first_seq);
CREATE INDEX idx_heads_last_at ON heads (last_at);
CREATE INDEX idx_heads_unfinished ON heads (first_seq) WHERE unfinished = 1;
CREATE TABLE derived (name text PRIMARY KEY, state text NOT NULL);
INSERT INTO derived VALUES ('heads', 'built');
"""  # noqa: S608 - made of constants only

MIGRATIONS: list[str] = [_V1]
"""``MIGRATIONS[n]`` takes a journal from schema n to n + 1 (0: an empty schema)."""


def check_and_migrate(conn: Any, where: str, *, create: bool, migrate: bool = True) -> bool:
    """Recognise the current schema of ``conn`` as a journal (or as empty, and create one when
    ``create``) and migrate it (unless not to ``migrate``: a reader that changes nothing),
    under the advisory lock; whether it holds a journal now."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        found = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()[0]
        marked = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename = 'cxpreview_journal'"
        ).fetchone()
        if marked is None:
            if found:
                raise NotAJournal(
                    f"{where}: schema holds {found} table(s) but no cxpreview journal; "
                    "choose another database or schema"
                )
            if not create:
                return False
            conn.execute(
                "CREATE TABLE cxpreview_journal (mark text NOT NULL, version int NOT NULL)"
            )
            conn.execute("INSERT INTO cxpreview_journal VALUES (%s, 0)", (MARK,))
        mark, version = conn.execute("SELECT mark, version FROM cxpreview_journal").fetchone()
        if mark != MARK:
            raise NotAJournal(f"{where}: cxpreview_journal says {mark!r}, not a journal")
        if version > SCHEMA_VERSION:
            raise JournalTooNew(
                f"{where} has PostgreSQL journal schema {version}; this cxpreview reads up "
                f"to {SCHEMA_VERSION}: upgrade cxpreview to open it"
            )
        if version < SCHEMA_VERSION and not migrate:
            raise JournalError(
                f"{where} has PostgreSQL journal schema {version}, older than this "
                f"cxpreview's {SCHEMA_VERSION}; a command that only reads does not migrate it "
                "(any command that writes does)"
            )
        while version < SCHEMA_VERSION:
            conn.execute(MIGRATIONS[version])
            version += 1
            conn.execute("UPDATE cxpreview_journal SET version = %s", (version,))
    return True
