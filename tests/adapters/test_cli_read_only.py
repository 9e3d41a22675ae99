"""A command that only reads changes nothing: a journal written by an earlier release is read
at its own schema (not migrated, not given heads), so an auditor's copy keeps its bytes; the
next command that writes migrates it. A write through a journal opened read-only is refused,
by the journal and by SQLite itself."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from adapters.cli import cli
from engine import audit, verify
from events import RunRequested
from journal import JournalReadOnly, NoJournal, SQLiteJournal, open_journal
from journal.schema import SCHEMA_VERSION
from tests.conftest import EXAMPLE_SPEC
from tests.postgres import fresh_schema
from tests.unit.journal.test_golden import copy_of

GOLDEN = ("journal-v1.db", "journal-v3.db", "journal-v4.db")

READING = [
    ("status", "--json"),
    ("status", "--limit", "2"),
    ("show", "gold1", "--json"),
    ("history", "gold1"),
    ("metrics", "--json"),
    ("diagram",),
    ("audit", "verify"),
    ("audit", "replay", "gold1"),
    ("audit", "export", "--format", "jsonl"),
    ("audit", "export", "--format", "csv"),
    ("audit", "activations", "--json"),
]


def golden(name: str, folder: Path) -> Path:
    """A copy of the golden journal ``name`` in ``folder`` (made if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    return copy_of(name, folder)


def invoke(db: Path | str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with the digest of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def schema_of(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()  # the last connection to close removes the write-ahead log's files
    return version


@pytest.mark.parametrize("name", GOLDEN)
def test_reading_commands_leave_a_journal_of_an_earlier_release_as_it_was(
    name: str, tmp_path: Path
) -> None:
    db = copy_of(name, tmp_path)
    before, schema = snapshot(tmp_path), schema_of(db)
    assert schema < SCHEMA_VERSION
    for args in READING:
        code, out, err = invoke(db, *args)
        assert code == 0, (args, err)
        assert out, args
        assert "built the heads" not in err, args
        assert snapshot(tmp_path) == before, f"{' '.join(args)} changed {name}"
    assert schema_of(db) == schema


def test_what_a_reading_command_shows_of_an_old_journal_is_what_it_shows_once_migrated(
    tmp_path: Path,
) -> None:
    old = golden("journal-v3.db", tmp_path / "old")
    migrated = golden("journal-v3.db", tmp_path / "migrated")
    assert invoke(migrated, "audit", "rebuild-heads")[0] == 0
    assert schema_of(migrated) == SCHEMA_VERSION
    for args in [("status", "--json"), ("show", "gold21", "--json"), ("metrics", "--json")]:
        assert invoke(old, *args)[1] == invoke(migrated, *args)[1], args
    assert schema_of(old) == 3


def test_the_next_command_that_writes_migrates_it_and_builds_its_heads(tmp_path: Path) -> None:
    db = copy_of("journal-v1.db", tmp_path)
    assert invoke(db, "status")[0] == 0
    assert schema_of(db) == 1
    code, _, err = invoke(db, "draft", str(EXAMPLE_SPEC))
    assert code == 0, err
    assert "built the heads of 3 campaigns" in err
    assert schema_of(db) == SCHEMA_VERSION
    assert invoke(db, "audit", "verify")[0] == 0


def test_audit_copy_only_reads_its_source(tmp_path: Path) -> None:
    db = golden("journal-v1.db", tmp_path / "source")
    before = snapshot(tmp_path / "source")
    code, out, err = invoke(db, "audit", "copy", str(db), str(tmp_path / "copy.db"), "--json")
    assert code == 0, err
    assert json.loads(out)["copied"] == 23
    assert snapshot(tmp_path / "source") == before


def test_datasette_metadata_names_the_schema_without_the_views_instead_of_migrating(
    tmp_path: Path,
) -> None:
    db = copy_of("journal-v1.db", tmp_path)
    before = snapshot(tmp_path)
    code, _, err = invoke(db, "audit", "datasette")
    assert code == 3
    assert "journal schema 1" in err
    assert "audit rebuild-heads" in err
    assert snapshot(tmp_path) == before
    assert invoke(golden("journal-v3.db", tmp_path / "v3"), "audit", "datasette")[0] == 0


def test_a_journal_opened_read_only_refuses_writes_and_sqlite_does_too(tmp_path: Path) -> None:
    db = copy_of("journal-v4.db", tmp_path)
    before = snapshot(tmp_path)
    with SQLiteJournal(db, read_only=True) as journal:
        assert journal.read_only
        assert journal.heads_ready(), "its release kept heads (schema 4), read as they are"
        with pytest.raises(JournalReadOnly, match="opened read-only"):
            journal.append("gold15", [RunRequested("again")], journal.stream_version("gold15"))
        with pytest.raises(JournalReadOnly):
            journal.put_blob(b"c1\t+14155550101\n")
        with pytest.raises(JournalReadOnly):
            journal.acquire_lease("campaign:gold15", "me", 30)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            journal.recorder.connection.execute("DELETE FROM events")
        assert verify(journal).ok
    assert snapshot(tmp_path) == before


def test_a_missing_journal_opened_read_only_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(NoJournal):
        SQLiteJournal(tmp_path / "nothing.db", read_only=True)
    with pytest.raises(NoJournal):
        open_journal(str(tmp_path / "nothing.db"), create=True, read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_verify_side_by_side_reads_an_old_journal_without_migrating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)  # the workers open the file themselves
    db = copy_of("journal-v3.db", tmp_path)
    before = snapshot(tmp_path)
    with SQLiteJournal(db, read_only=True) as journal:
        report = verify(journal, workers=2)
    assert report.ok, report.problem
    assert report.events == 23
    assert snapshot(tmp_path) == before


def test_a_postgres_journal_opened_read_only_refuses_writes_and_creates_nothing() -> None:
    with fresh_schema() as url:
        with pytest.raises(NoJournal):
            open_journal(url, create=True, read_only=True)
        with open_journal(url, create=True) as journal:
            journal.append("c1", [RunRequested("go")], 0)
        with open_journal(url, read_only=True) as journal:
            assert journal.read_only
            with pytest.raises(JournalReadOnly):
                journal.append("c1", [RunRequested("again")], 1)
            assert journal.stream_version("c1") == 1
            assert journal.verify_links().ok
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                journal.recorder._read_conn().execute("DELETE FROM events")  # the server too
