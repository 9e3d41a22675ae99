"""verify on a big journal replays its campaigns in worker processes side by side: the verdict
is the one a single process gives, a problem in any range is found and named by its seq."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine import Engine, audit, verify
from journal import SQLiteJournal
from tests.unit.journal.test_golden import copy_of

pytestmark = pytest.mark.slow


def test_workers_give_the_single_process_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = copy_of("journal-v3.db", tmp_path)
    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)  # 23 events: side by side all the same
    with SQLiteJournal(db) as journal:
        Engine(journal).rebuild_heads()
        assert journal.stream_bounds(3) == ["gold21"], "gold1 holds 14 of the 23 events"
        assert journal.stream_bounds(12) == ["gold21", "gold32"]
        alone, together = verify(journal, workers=1), verify(journal, workers=3)
    assert alone.ok
    assert together == alone
    # A head changed by hand in the last range: found by the worker that replays it.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE heads SET name = 'forged' WHERE stream_id = 'gold32'")
    conn.close()
    with SQLiteJournal(db) as journal:
        alone, together = verify(journal, workers=1), verify(journal, workers=3)
    assert (together.ok, together.first_bad_seq) == (False, 23)
    assert "campaign gold32's head says name 'forged'" in str(together.problem)
    assert together == alone
