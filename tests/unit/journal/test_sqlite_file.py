"""What only the SQLite file shows: opening the wrong file, tampering, locks, a full disk."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from events import CampaignDrafted, ValidationRequested
from journal import (
    JournalBehind,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalFull,
    JournalTooNew,
    ManualClock,
    NotAJournal,
    SQLiteJournal,
)
from journal.schema import SCHEMA_VERSION
from journal.sqlite_file import create_whole
from tests.hardening import report as hardening


def fill(journal: SQLiteJournal, campaigns: int = 3) -> None:
    for i in range(campaigns):
        journal.append(f"c{i}", [CampaignDrafted({"name": f"n{i}"}), ValidationRequested("s")], 0)


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_a_new_journal_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    SQLiteJournal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x63787076
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "leases", "blobs", "commands"} <= tables


def test_data_survives_reopening(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        fill(journal)
    with SQLiteJournal(tmp_path / "j.db") as journal:
        assert journal.last_seq() == 6
        assert journal.verify().ok
        journal.append("c0", [ValidationRequested("t")], 2)


def test_synchronous_is_configurable_and_checked(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db", synchronous="NORMAL") as journal:
        assert journal.recorder.connection.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteJournal(tmp_path / "k.db", synchronous="SOMETIMES")  # type: ignore[arg-type]


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(NotAJournal, match="not an SQLite database"):
        SQLiteJournal(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "notes.db-wal").exists()


def test_another_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = raw(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotAJournal, match="SQLite database but not a cxpreview journal"):
        SQLiteJournal(path)
    assert path.read_bytes() == before


def test_a_journal_from_a_newer_cxpreview_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    SQLiteJournal(path).close()
    conn = raw(path)
    conn.execute("PRAGMA user_version = 99")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalTooNew, match=r"schema 99.*upgrade cxpreview"):
        SQLiteJournal(path)
    assert path.read_bytes() == before


def test_a_directory_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(NotAJournal, match="directory"):
        SQLiteJournal(tmp_path)


# --- tampering ------------------------------------------------------------------------------


@pytest.fixture
def tampered(tmp_path: Path) -> tuple[Path, sqlite3.Connection]:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        fill(journal)  # seqs 1..6
    return path, raw(path)


def verify(path: Path) -> tuple[bool, int | None, str | None]:
    with SQLiteJournal(path) as journal:
        report = journal.verify()
    return report.ok, report.first_bad_seq, report.problem


def test_a_changed_byte_in_data_is_named(tampered: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = tampered
    conn.execute("UPDATE events SET data = replace(data, 'n1', 'm1') WHERE seq = 3")
    ok, seq, problem = verify(path)
    assert (ok, seq) == (False, 3)
    assert problem is not None
    assert "changed after it was written" in problem


def test_a_deleted_row_is_named(tampered: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = tampered
    conn.execute("DELETE FROM events WHERE seq = 4")
    assert verify(path)[:2] == (False, 5)


def test_swapped_rows_are_named(tampered: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = tampered
    conn.execute("UPDATE events SET seq = -1 WHERE seq = 2")
    conn.execute("UPDATE events SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE events SET seq = 3 WHERE seq = -1")
    assert verify(path)[:2] == (False, 2)


def test_removing_the_newest_events_is_caught_by_an_anchor(
    tampered: tuple[Path, sqlite3.Connection],
) -> None:
    path, conn = tampered
    with SQLiteJournal(path) as journal:
        anchor = journal.verify().head  # what an auditor notes down
    assert anchor[0] == 6
    conn.execute("DELETE FROM events WHERE seq >= 5")
    with SQLiteJournal(path, head_mark=False) as journal:  # as on a machine that never saw it
        assert journal.verify().ok, "a shorter chain is still a chain"
        report = journal.verify(anchor=anchor)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert report.problem is not None
    assert "removed from the end" in report.problem


def test_a_rewritten_history_is_caught_by_an_anchor(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        fill(journal, 2)
        anchor = journal.verify().head
    path = tmp_path / "j.db"
    path.unlink()
    with SQLiteJournal(path) as journal:  # the same campaigns, written again, differently
        for i in range(2):
            journal.append(
                f"c{i}", [CampaignDrafted({"name": "forged"}), ValidationRequested("s")], 0
            )
        assert journal.verify().ok
        report = journal.verify(anchor=anchor)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem is not None
    assert "rewritten" in report.problem


def test_a_row_that_does_not_decode_is_named_when_read(
    tampered: tuple[Path, sqlite3.Connection],
) -> None:
    path, conn = tampered
    conn.execute("""UPDATE events SET data = '{"spec": 5}' WHERE seq = 3""")
    with SQLiteJournal(path) as journal:
        with pytest.raises(JournalCorrupt, match=r"seq 3 .*field 'spec': expected an object") as e:
            journal.read_stream("c1")
        assert e.value.seq == 3
        assert not journal.verify().ok


def test_a_tampered_blob_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        digest = journal.put_blob(b"c1\t+14155550100\n")
    raw(path).execute("UPDATE blobs SET data = X'00'")
    with SQLiteJournal(path) as journal, pytest.raises(JournalCorrupt, match="does not match"):
        journal.get_blob(digest)


# --- contention and space ----------------------------------------------------------------------


def test_a_writer_waits_then_reports_a_busy_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = SQLiteJournal(path, busy_timeout=0.2)
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(JournalBusy, match="locked past busy_timeout"):
            journal.append("c1", [CampaignDrafted({})], 0)
    finally:
        other.execute("ROLLBACK")
    journal.append("c1", [CampaignDrafted({})], 0)
    assert journal.verify().ok
    journal.close()


def test_a_full_disk_fails_the_append_whole(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = SQLiteJournal(path, clock=ManualClock())
    fill(journal, 2)
    pages = journal.recorder.connection.execute("PRAGMA page_count").fetchone()[0]
    journal.recorder.connection.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = CampaignDrafted({"name": "x" * 200_000})
    with pytest.raises(JournalFull, match="nothing was written"):
        journal.append("big", [big], 0)
    assert journal.last_seq() == 4
    assert journal.verify().ok
    journal.recorder.connection.execute("PRAGMA max_page_count = 1073741823")
    journal.append("big", [big], 0)
    assert journal.verify().ok
    journal.close()


def test_two_journals_on_one_file_see_each_others_appends(tmp_path: Path) -> None:
    a, b = SQLiteJournal(tmp_path / "j.db"), SQLiteJournal(tmp_path / "j.db")
    a.append("c1", [CampaignDrafted({})], 0)
    b.append("c1", [ValidationRequested("s")], 1)
    assert [s.hash for s in a.read_all()] == [s.hash for s in b.read_all()]
    assert a.verify().ok
    a.close()
    b.close()
    assert os.path.exists(tmp_path / "j.db")


# --- a journal that went backwards --------------------------------------------------------


def test_a_journal_behind_what_this_machine_saw_is_refused_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        fill(journal, 1)
    older = path.read_bytes()  # a copy taken here, restored later
    with SQLiteJournal(path) as journal:
        fill_more = journal.append("c9", [CampaignDrafted({"name": "n9"})], 0)
    path.write_bytes(older)
    marks = Path(os.environ["CXPREVIEW_STATE_DIR"]) / "marks"
    assert list(marks.glob("*.head")), "the mark lives in the state folder, not by the journal"
    with SQLiteJournal(path) as journal:
        assert journal.behind is not None
        assert f"saw seq {fill_more[0].seq}" in journal.behind
        assert journal.read_stream("c0"), "reading still works"
        report = journal.verify()
        assert not report.ok
        assert report.problem is not None
        assert "its newest events were lost" in report.problem
        with pytest.raises(JournalBehind):
            journal.append("c9", [CampaignDrafted({"name": "again"})], 0)
        with pytest.raises(JournalBehind):
            journal.acquire_lease("campaign:c0", "me", 10)
        with pytest.raises(JournalBehind):
            journal.hold_claim("x", "c0")
        assert journal.last_seq() == 2, "nothing was written"
    hardening.record("missing, odd or backwards journals", handled=True)
    with SQLiteJournal(path, head_mark=False) as journal:  # a machine that never saw it
        assert journal.verify().ok


def test_a_journal_created_anew_at_a_path_forgets_the_old_mark(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        fill(journal, 2)
    path.unlink()
    with SQLiteJournal(path) as journal:
        assert journal.behind is None
        fill(journal, 1)
        assert journal.verify().ok


def test_an_empty_file_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    path.touch()
    with pytest.raises(NotAJournal, match="empty file"):
        SQLiteJournal(path)
    assert path.stat().st_size == 0, "and it is left as it was"


def test_journals_created_at_once_by_two_openers_are_one_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    opened: list[SQLiteJournal] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(SQLiteJournal(path))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    opened[0].append("c", [CampaignDrafted({"name": "n"})], 0)
    assert all(j.stream_version("c") == 1 for j in opened)
    for j in opened:
        j.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".new")] == []


def test_a_new_journal_is_born_in_wal_mode(tmp_path: Path) -> None:
    # Openers racing to a new journal must not each switch it to WAL: that switch takes a lock
    # no busy timeout waits for, and one of eight openers now and then failed with
    # JournalBusy. The file is made in WAL mode before it is linked into place.
    path = tmp_path / "j.db"
    assert create_whole(str(path))
    header = path.read_bytes()[:20]
    assert (header[18], header[19]) == (2, 2), "the file format's WAL read and write versions"
    assert not (tmp_path / "j.db-wal").exists(), "its log was checkpointed and removed"


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """``paths`` made immutable (chattr +i): what a read-only mount or an archive does to a
    journal, and root cannot write past it; skipped where the file system has no such flag."""
    names = [str(p) for p in paths]
    if subprocess.run(["chattr", "+i", *names], check=False).returncode:
        pytest.skip("this file system does not support immutable files (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *names], check=True)


def test_a_journal_on_storage_nothing_can_write_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "archive" / "j.db"
    path.parent.mkdir()
    with SQLiteJournal(path) as journal:
        fill(journal, 3)
        head = journal.verify_links().head
    with immutable(path, path.parent):
        with SQLiteJournal(path, read_only=True) as journal:  # what every reading command opens
            assert journal.verify_links().head == head
            assert [s for s, _ in journal.streams()] == ["c0", "c1", "c2"]
        with pytest.raises(JournalError, match="read-only mount or file"):
            SQLiteJournal(path)  # a writer is told why it cannot
        assert sorted(p.name for p in path.parent.iterdir()) == ["j.db"], "nothing made there"


def test_a_log_left_on_storage_nothing_can_write_is_named_not_skipped(tmp_path: Path) -> None:
    # A copy taken while a writer had the journal open: its newest events are in the -wal
    # file. Read as immutable, SQLite would not look there: the journal would seem shorter.
    live, copy = tmp_path / "live.db", tmp_path / "archive" / "j.db"
    copy.parent.mkdir()
    with SQLiteJournal(live) as journal:
        fill(journal, 2)
        shutil.copyfile(live, copy)
        shutil.copyfile(tmp_path / "live.db-wal", tmp_path / "archive" / "j.db-wal")
    assert (tmp_path / "archive" / "j.db-wal").stat().st_size > 0
    with (
        immutable(copy, copy.with_name("j.db-wal"), copy.parent),
        pytest.raises(JournalError, match=r"write-ahead log .* holds events not yet in"),
    ):
        SQLiteJournal(copy, read_only=True)


def test_a_journal_that_cannot_be_written_names_the_real_cause(tmp_path: Path) -> None:
    path = tmp_path / "ro" / "j.db"
    path.parent.mkdir()
    with SQLiteJournal(path) as journal:
        fill(journal, 1)
    with immutable(path, path.parent):
        with pytest.raises(JournalError, match="read-only mount or file") as caught:
            SQLiteJournal(path)
        assert not isinstance(caught.value, NotAJournal), "it is a journal, only unwritable"
    hardening.record("missing, odd or backwards journals", handled=True)
