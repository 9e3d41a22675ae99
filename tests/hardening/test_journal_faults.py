"""The journal failing under the engine: locked by another process, out of space, tampered with.
Each at every append of a run; after each, the journal verifies and, once the fault is gone,
the campaign resumes to active with nothing lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from engine import EngineError, verify
from journal import JournalBusy, JournalCorrupt, JournalError, JournalFull
from tests.hardening import report
from tests.hardening.harness import case, draft

APPENDS_IN_A_RUN = 8  # validation, filter, activation, webhook: an intent and an outcome each
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def _nth_append(n: int, action: object) -> object:
    count = 0

    def hook() -> None:
        nonlocal count
        count += 1
        if count == n:
            action()  # type: ignore[operator]

    return hook


@pytest.mark.parametrize("at", range(1, APPENDS_IN_A_RUN + 1))
def test_a_journal_locked_by_another_process(tmp_path: Path, at: int) -> None:
    with case(tmp_path, "locked") as c:
        campaign_id = draft(c)
        holder: subprocess.Popen[str] | None = None

        def lock() -> None:
            nonlocal holder
            holder = subprocess.Popen(
                [sys.executable, "-c", LOCKER, str(c.db)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"

        engine = c.engine.bound(_nth_append(at, lock))  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(JournalBusy) as caught:
            engine.run(campaign_id)
        waited = time.monotonic() - started
        c.errors.append(str(caught.value))
        assert holder is not None
        holder.communicate("go\n", timeout=30)
        assert holder.returncode == 0
        assert "locked past busy_timeout" in str(caught.value)
        assert waited >= 0.5, "it waited busy_timeout before giving up"
        assert verify(c.journal).ok
        final = c.finish(campaign_id)
        lost, leaked = c.lost(campaign_id), c.leaked()
    report.record(
        "journal locked by another process", handled=final == "active", lost=lost, leaked=leaked
    )
    assert (final, lost, leaked) == ("active", 0, 0)


@pytest.mark.parametrize("at", range(1, APPENDS_IN_A_RUN + 1))
def test_a_full_disk(tmp_path: Path, at: int) -> None:
    with case(tmp_path, "full") as c:
        campaign_id = draft(c)
        versions_before_failure: list[int] = []

        def fill() -> None:
            c.journal.limit_size(c.journal.size())  # no page more than now

        engine = c.engine.bound(_nth_append(at, fill))  # type: ignore[arg-type]
        try:
            engine.run(campaign_id)
            full = False
        except JournalFull as exc:
            full = True
            c.errors.append(str(exc))
            versions_before_failure.append(c.journal.stream_version(campaign_id))
        report_now = verify(c.journal)
        c.journal.limit_size(None)  # space returns
        final = c.finish(campaign_id)
        lost, leaked = c.lost(campaign_id), c.leaked()
    if full:
        report.record(
            "disk full during an append", handled=final == "active", lost=lost, leaked=leaked
        )
    assert report_now.ok, "the failed append left nothing half-written"
    assert (final, lost, leaked) == ("active", 0, 0)


def test_the_full_disk_cases_do_fail(tmp_path: Path) -> None:
    """The cap really stops an append (so the cases above test something)."""
    with case(tmp_path, "cap") as c:
        campaign_id = draft(c)
        c.journal.limit_size(c.journal.size())
        with pytest.raises(JournalFull, match="no space left; nothing was written"):
            c.engine.run(campaign_id)


TAMPERING = {
    "byte flip in the payload": "UPDATE events SET data = data || ' ' WHERE seq = {seq}",
    "byte flip in the meta": "UPDATE events SET meta = replace(meta, 'cxpreview', 'cxpreviex') "
    "WHERE seq = {seq}",
    "row deleted": "DELETE FROM events WHERE seq = {seq}",
    "timestamp rewritten": "UPDATE events SET recorded_at = '2020-01-01T00:00:00.000000Z' "
    "WHERE seq = {seq}",
}


@pytest.mark.parametrize("how", list(TAMPERING))
@pytest.mark.parametrize("seq", [1, 2, 4, 5])  # not the last: see the note below
def test_the_engine_refuses_a_tampered_campaign_naming_the_seq(
    tmp_path: Path, how: str, seq: int
) -> None:
    # The newest rows removed leave a shorter chain that is whole: no check of the journal
    # alone can tell (an auditor's anchor can, see test_cli_views); the engine then redoes the
    # step whose outcome went missing, which is what the shorter journal says to do.
    with case(tmp_path, "tampered") as c:
        campaign_id = draft(c)
        c.engine.validate(campaign_id)
        c.engine.filter(campaign_id)
        with closing(sqlite3.connect(c.db)) as conn, conn:
            original = conn.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone()
            conn.execute(TAMPERING[how].format(seq=seq))
        requests_before = len(c.simulator.log)
        with pytest.raises((JournalError, EngineError)) as caught:
            c.engine.run(campaign_id)
        c.errors.append(str(caught.value))
        # A deleted row is noticed at the row after it (the version or the chain jumps).
        named = seq + 1 if how == "row deleted" else seq
        assert f"seq {named}:" in str(caught.value)
        assert len(c.simulator.log) == requests_before, "nothing was sent to CXone"
        audit = verify(c.journal)
        assert not audit.ok
        assert audit.first_bad_seq == named
        with closing(sqlite3.connect(c.db)) as conn, conn:  # the damage repaired from a backup
            conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", original)
        final = c.finish(campaign_id)
        lost, leaked = c.lost(campaign_id), c.leaked()
    report.record(
        "broken chain (tampered row)", handled=final == "active", lost=lost, leaked=leaked
    )
    assert isinstance(caught.value, JournalCorrupt)
    assert (final, lost, leaked) == ("active", 0, 0)
