"""Real processes on one journal file: concurrent writers, and writers killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import open_journal
from tests.postgres import fresh_schema

CHILD = Path(__file__).with_name("_child.py")
ROOT = CHILD.parent.parent.parent
pytestmark = pytest.mark.slow


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One test's journal: an SQLite file, or a fresh PostgreSQL schema (the server rolls back
    the transaction of a writer killed inside it)."""
    if request.param == "postgresql":
        with fresh_schema() as url:
            yield url
    else:
        yield str(tmp_path / "j.db")


def test_two_processes_appending_to_one_stream_lose_nothing(db: str) -> None:
    open_journal(db, create=True).close()
    n = 300
    writers = [spawn("append-loop", db, "shared", str(n), tag) for tag in ("p1", "p2")]
    for w in writers:
        assert w.stdout is not None
        assert w.stdout.readline() == "ready\n"
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    for w in writers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert out.strip() == "done"
    with open_journal(db) as journal:
        events = journal.read_stream("shared")
        assert [e.version for e in events] == list(range(1, 2 * n + 1))
        tags = Counter(e.event.step_id.split("-")[0] for e in events)  # type: ignore[attr-defined]
        assert tags == {"p1": n, "p2": n}
        assert len({e.event.step_id for e in events}) == 2 * n  # type: ignore[attr-defined]
        assert journal.verify().ok


def test_a_process_killed_inside_an_append_leaves_none_of_it(db: str) -> None:
    child = spawn("batches", db, "s", "40", "1", env={"CXPREVIEW_CRASH_AT": "journal-mid-append"})
    out, _ = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert out == "", "it died before committing"
    with open_journal(db) as journal:
        assert journal.last_seq() == 0
        assert journal.verify().ok
    survivor = spawn("arm-then-batch", db, "s", "25")
    out, _ = survivor.communicate(timeout=60)
    assert survivor.returncode == -signal.SIGKILL
    assert out.splitlines() == ["committed 1"]
    with open_journal(db) as journal:
        assert journal.stream_version("s") == 25, "the first batch whole, the second not at all"
        assert journal.verify().ok


def test_sigkill_at_an_arbitrary_moment_leaves_whole_batches(db: str) -> None:
    open_journal(db, create=True).close()
    size = 7
    child = spawn("batches", db, "s", str(size), "100000")
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    committed = 0
    while committed < 20 and time.monotonic() < deadline:
        line = child.stdout.readline()
        assert line, "the writer stopped early"
        committed = int(line.split()[1])
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with open_journal(db) as journal:
        total = journal.stream_version("s")
        assert total >= 20 * size
        assert total % size == 0, f"{total} events: a batch was cut in half"
        assert journal.verify().ok


def test_a_process_killed_inside_a_group_commit_leaves_each_caller_whole_or_not_at_all(
    db: str,
) -> None:
    child = spawn("threads", db, "s", "7", "8")
    _, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err
    with open_journal(db) as journal:
        assert journal.verify().ok
        versions = dict(journal.streams())
    assert len(versions) == 8
    assert all(v >= 14 and v % 7 == 0 for v in versions.values()), versions
