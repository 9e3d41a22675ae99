"""verify on a big journal replays its campaigns in worker processes side by side: the verdict
is the one a single process gives, a problem in any range is found and named by its seq."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine import Engine, audit, verify
from journal import SQLiteJournal
from journal import verify as journal_verify
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


@pytest.mark.parametrize("workers", [1, 2])
def test_verify_tells_how_far_each_pass_is(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)  # with 2 workers: side by side
    monkeypatch.setattr(audit, "PROGRESS_CAMPAIGNS", 1)
    monkeypatch.setattr(journal_verify, "PROGRESS_EVERY", 5)
    told: dict[str, list[int]] = {"chain": [], "campaigns": []}
    db = copy_of("journal-v3.db", tmp_path)
    with SQLiteJournal(db, read_only=True) as journal:
        report = verify(journal, workers=workers, progress=lambda part, n: told[part].append(n))
    assert report.ok
    assert told["chain"][:4] == [5, 10, 15, 20]
    assert told["chain"][-1] == 23
    assert told["campaigns"][-1] == 23, "every event replayed, in this process or the workers"
    assert told["campaigns"] == sorted(told["campaigns"]), "a count that only rises"
    if workers == 1:
        assert told["campaigns"] == [14, 21, 23, 23], "after each campaign (14, 7 and 2 events)"
