"""The journal file's schema, how a file is recognised as a journal, and its migrations.

A journal is marked by ``PRAGMA application_id`` and versioned by ``PRAGMA user_version``.
Opening refuses, before writing a byte, a file that is not SQLite, an SQLite file that is not a
journal, and a journal from a newer cxpreview. An older journal is migrated one step at a time,
each step in its own transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from journal.errors import JournalError, JournalTooNew, NotAJournal

if TYPE_CHECKING:
    import sqlite_utils

APPLICATION_ID = 0x63787076  # "cxpv"
SCHEMA_VERSION = 5
CLAIMS_SINCE = 2
"""The schema that added the claims table (``_claims_v2``)."""
VIEWS_SINCE = 3
"""The schema that added the auditors' views (``_views_v3``)."""
HEADS_SINCE = 4
"""The schema that added heads, the census and ``derived`` (``_heads_v4``)."""

EVENT_COLUMNS = (
    "seq, stream_id, version, type, schema, data, meta, recorded_at, state_digest, prev_hash, hash"
)


def _create_v1(db: sqlite_utils.Database) -> None:
    db.table("events").create(
        {
            "seq": int,
            "stream_id": str,
            "version": int,
            "type": str,
            "schema": int,
            "data": str,
            "meta": str,
            "recorded_at": str,
            "state_digest": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null={
            "stream_id",
            "version",
            "type",
            "schema",
            "data",
            "meta",
            "recorded_at",
            "prev_hash",
            "hash",
        },
        strict=True,
    )
    # The optimistic lock: two writers cannot both take version N of a stream.
    db.table("events").create_index(["stream_id", "version"], unique=True)
    db.table("commands").create(
        {
            "command_id": str,
            "stream_id": str,
            "first_seq": int,
            "last_seq": int,
            "fingerprint": str,
        },
        pk="command_id",
        not_null={"stream_id", "first_seq", "last_seq", "fingerprint"},
        strict=True,
    )
    db.table("leases").create(
        {"name": str, "owner": str, "fence": int, "expires_at": str},
        pk="name",
        not_null={"fence", "expires_at"},
        strict=True,
    )
    db.table("blobs").create(
        {"digest": str, "size": int, "data": bytes, "created_at": str},
        pk="digest",
        not_null={"size", "data", "created_at"},
        strict=True,
    )


def _claims_v2(db: sqlite_utils.Database) -> None:
    """Schema 2: claims (journal/claims.py). Existing campaigns take theirs at their next append."""
    db.table("claims").create(
        {"name": str, "stream_id": str, "since_seq": int, "held": int},
        pk="name",
        not_null={"stream_id", "since_seq", "held"},
        strict=True,
    )


OUTCOMES = ("activation.succeeded", "activation.conflicted", "activation.failed")
"""The activation outcomes' event types (the views, the outcome index and metrics share them)."""
OUTCOME_TYPES = ", ".join(f"'{name}'" for name in OUTCOMES)
"""``OUTCOMES`` as an SQL list."""
IS_OUTCOME = "(" + " OR ".join(f"type = '{name}'" for name in OUTCOMES) + ")"
"""``OUTCOMES`` as an SQL condition on ``type``: what the outcome index covers since schema 5,
and what a query names for SQLite to use it. (As ``type IN (…)`` the index's condition cost
every insert of every event ~2 µs: SQLite evaluated the list anew for each row.)"""

_SPEC_AT = (
    "(SELECT json_extract(s.data, '$.spec.campaign_id') FROM events s "
    "WHERE s.stream_id = {e}.stream_id AND s.seq <= {e}.seq "
    "AND s.type IN ('campaign.drafted', 'campaign.revised') ORDER BY s.seq DESC LIMIT 1)"
)

ACTIVATIONS_VIEW = f"""
SELECT o.seq, o.recorded_at,
       json_extract(o.meta, '$.actor') AS actor,
       o.stream_id AS campaign_id,
       {_SPEC_AT.format(e="o")} AS cxone_campaign_id,
       (SELECT json_extract(i.data, '$.expected_version') FROM events i
         WHERE i.stream_id = o.stream_id AND i.seq < o.seq AND i.type = 'activation.requested'
         ORDER BY i.seq DESC LIMIT 1) AS if_match,
       json_extract(o.data, '$.new_version') AS new_version,
       substr(o.type, 12) AS outcome,
       coalesce(json_extract(o.data, '$.reconciled'), 0) AS reconciled,
       json_extract(o.data, '$.how') AS how,
       json_extract(o.data, '$.latency_ms') AS latency_ms
  FROM events o
 WHERE o.type IN ({OUTCOME_TYPES})
"""  # noqa: S608 - made of constants only, never of input
"""Who activated which CXone campaign, when, against which version: one row per outcome."""

CAMPAIGNS_VIEW = f"""
SELECT e.stream_id AS campaign_id,
       (SELECT json_extract(s.data, '$.spec.name') FROM events s
         WHERE s.stream_id = e.stream_id AND s.type IN ('campaign.drafted', 'campaign.revised')
         ORDER BY s.seq DESC LIMIT 1) AS name,
       {_SPEC_AT.format(e="e")} AS cxone_campaign_id,
       e.version AS events,
       e.type AS last_event,
       e.recorded_at AS last_event_at,
       (SELECT f.recorded_at FROM events f
         WHERE f.stream_id = e.stream_id AND f.version = 1) AS drafted_at
  FROM events e
 WHERE e.version = (SELECT max(version) FROM events m WHERE m.stream_id = e.stream_id)
"""  # noqa: S608 - made of constants only, never of input
"""One row per campaign: its name and CXone campaign, how many events, its last event."""


def _views_v3(db: sqlite_utils.Database) -> None:
    """Schema 3: SQL views for auditors and Datasette (derived; they store nothing)."""
    db.create_view("activations", ACTIVATIONS_VIEW)
    db.create_view("campaigns", CAMPAIGNS_VIEW)


CENSUS_TRIGGERS = """
CREATE TRIGGER heads_census_insert AFTER INSERT ON heads BEGIN
    INSERT INTO census VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER heads_census_update AFTER UPDATE OF state ON heads
WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE census SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO census VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER heads_census_delete AFTER DELETE ON heads BEGIN
    UPDATE census SET n = n - 1 WHERE state = OLD.state;
END;
"""


def _heads_v4(db: sqlite_utils.Database) -> None:
    """Schema 4: stream heads (journal/heads.py), written with every append, and ``derived``
    (which derived tables are complete). A journal with events has no heads yet: until they
    are built from its events (``cxpreview audit rebuild-heads``, or the first command that
    opens it to write), ``derived`` has no ``heads`` row and readers fold the events."""
    db.table("heads").create(
        {
            "stream_id": str,
            "first_seq": int,
            "version": int,
            "state": str,
            "name": str,
            "remote_id": str,
            "open_step": str,
            "unfinished": int,
            "last_error": str,
            "last_seq": int,
            "last_type": str,
            "last_at": str,
        },
        pk="stream_id",
        not_null={"first_seq", "version", "state", "name", "unfinished", "last_seq"},
        strict=True,
    )
    db.table("heads").create_index(["first_seq"])  # status, a keyset page at a time
    db.table("heads").create_index(["state", "first_seq"])
    db.table("heads").create_index(["last_at"])
    # The supervisor's question: the few unfinished campaigns, oldest first.
    db.execute("CREATE INDEX idx_heads_unfinished ON heads (first_seq) WHERE unfinished = 1")
    # Campaigns by state, kept by the heads' own triggers in the same transaction: the
    # supervisor's census per pass reads a handful of rows, not every head.
    db.table("census").create({"state": str, "n": int}, pk="state", not_null={"n"}, strict=True)
    db.executescript(CENSUS_TRIGGERS)
    # Activation outcomes, a few in every campaign's events: what metrics reads, not the rest.
    db.execute(f"CREATE INDEX idx_events_outcomes ON events (type) WHERE type IN ({OUTCOME_TYPES})")
    db.table("derived").create(
        {"name": str, "state": str}, pk="name", not_null={"state"}, strict=True
    )
    if db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None:
        db.execute("INSERT INTO derived VALUES ('heads', 'built')")


def _outcome_index_v5(db: sqlite_utils.Database) -> None:
    """Schema 5: the outcome index's condition as comparisons (``IS_OUTCOME``), the same rows
    at a fraction of the cost to every insert; no event changes."""
    db.execute("DROP INDEX IF EXISTS idx_events_outcomes")
    db.execute(f"CREATE INDEX idx_events_outcomes ON events (type) WHERE {IS_OUTCOME}")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_v1,
    _claims_v2,
    _views_v3,
    _heads_v4,
    _outcome_index_v5,
]
"""``MIGRATIONS[n]`` takes a journal from ``user_version`` n to n + 1."""


def check_schema(conn: sqlite3.Connection, where: str) -> int:
    """Recognise the file behind ``conn`` as a journal (or an empty file): its schema version
    (0: empty), changing nothing."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith("SQLITE_NOTADB"):
            raise NotAJournal(
                f"{where} is not a cxpreview journal: not an SQLite database"
            ) from exc
        hint = ""
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")):
            hint = " (a journal needs its file and folder writable: a read-only mount or file?)"
        raise JournalError(
            f"{where} cannot be opened: {exc} ({name or 'no error code'}){hint}"
        ) from exc
    fresh = app_id == 0 and version == 0 and tables == 0
    if not fresh and app_id != APPLICATION_ID:
        raise NotAJournal(
            f"{where} is an SQLite database but not a cxpreview journal "
            f"(application_id {app_id:#x}, {tables} schema objects); choose another --db path"
        )
    if version > SCHEMA_VERSION:
        raise JournalTooNew(
            f"{where} has journal schema {version}; this cxpreview reads up to "
            f"{SCHEMA_VERSION}: upgrade cxpreview to open it"
        )
    return version


def check_and_migrate(conn: sqlite3.Connection, where: str) -> None:
    """Recognise the file behind ``conn`` as a journal (or an empty file) and migrate it."""
    version = check_schema(conn, where)
    if version == SCHEMA_VERSION:
        return
    import sqlite_utils  # noqa: PLC0415 - only a migration needs it (and it costs start-up)

    db = sqlite_utils.Database(conn)
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                MIGRATIONS[version](db)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {version + 1}")
                version += 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def datasette_metadata(path: str) -> dict[str, object]:
    """Datasette metadata (``datasette JOURNAL -m metadata.json``) for the journal at
    ``path``: what its tables and views hold, and the canned queries auditors ask."""
    name = Path(path).stem
    return {
        "title": f"cxpreview journal {name}",
        "description": "Append-only, hash-chained events of NICE CXone preview campaigns.",
        "databases": {
            name: {
                "tables": {
                    "events": {"description": "Every event, in order (seq), hash-chained."},
                    "activations": {"description": "One row per activation outcome."},
                    "campaigns": {"description": "One row per campaign, with its last event."},
                    "heads": {
                        "description": "One row per campaign as of its last event: state, "
                        "open step, whether it needs finishing (derived; audit verify checks it)."
                    },
                },
                "queries": {
                    "who_activated": {
                        "title": "Who activated a CXone campaign, when, against which version",
                        "sql": "SELECT seq, recorded_at, actor, campaign_id, if_match, "
                        "new_version, outcome, reconciled, how, latency_ms FROM activations "
                        "WHERE cxone_campaign_id = :cxone_campaign_id ORDER BY seq",
                    },
                    "reconciled_activations": {
                        "title": "Activations settled by reading CXone (a 412 or a recovery)",
                        "sql": "SELECT * FROM activations WHERE reconciled ORDER BY seq",
                    },
                    "campaigns_by_last_event": {
                        "title": "Campaigns whose last event is of a kind",
                        "sql": "SELECT * FROM campaigns WHERE last_event = :last_event "
                        "ORDER BY last_event_at DESC",
                    },
                    "events_of_campaign": {
                        "title": "A campaign's events",
                        "sql": "SELECT seq, version, type, recorded_at, json_extract(meta, "
                        "'$.actor') AS actor, data FROM events WHERE stream_id = :campaign_id "
                        "ORDER BY version",
                    },
                },
            }
        },
    }
