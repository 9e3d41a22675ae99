"""What only a PostgreSQL journal has to get right: recognising its schema, two processes
creating it at once, a statement that runs too long, a connection that breaks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from events import CampaignDrafted, ValidationRequested
from journal import (
    JournalBusy,
    JournalTooNew,
    JournalUnavailable,
    NoJournal,
    NotAJournal,
)
from journal.postgres import PostgresJournal, redacted
from tests.postgres import fresh_schema

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        yield fresh


def _sql(url: str, query: str) -> list[tuple[object, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query)
        return list(cur.fetchall()) if cur.description else []


def test_a_journal_from_a_newer_cxpreview_is_refused_untouched(url: str) -> None:
    PostgresJournal(url).close()
    _sql(url, "UPDATE cxpreview_journal SET version = 99")
    with pytest.raises(JournalTooNew, match="schema 99"):
        PostgresJournal(url)
    assert _sql(url, "SELECT version FROM cxpreview_journal") == [(99,)]


def test_a_schema_holding_other_tables_is_not_a_journal(url: str) -> None:
    _sql(url, "CREATE TABLE invoices (id int)")
    with pytest.raises(NotAJournal, match="no cxpreview journal"):
        PostgresJournal(url)
    assert _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()") == [
        ("invoices",)
    ]


def test_opening_to_read_creates_nothing(url: str) -> None:
    with pytest.raises(NoJournal):
        PostgresJournal(url, create=False)
    assert _sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") == [(0,)]


def test_four_processes_creating_one_journal_at_once(url: str) -> None:
    code = (
        "import sys; from journal.postgres import PostgresJournal; "
        "j = PostgresJournal(sys.argv[1]); print(j.recorder.schema); j.close()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(4)
    ]
    for process in started:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
    assert _sql(url, "SELECT mark, version FROM cxpreview_journal") == [("cxpreview-journal", 1)]
    assert _sql(url, "SELECT seq FROM chain") == [(0,)]


def test_a_statement_past_the_timeout_is_busy_and_writes_nothing(url: str) -> None:
    import psycopg  # noqa: PLC0415

    journal = PostgresJournal(url, statement_timeout=0.5)
    journal.append("c1", [CampaignDrafted({"name": "x"})], 0)
    blocker = psycopg.connect(url)
    blocker.execute("SELECT seq FROM chain FOR UPDATE")  # another host's append, stuck
    try:
        with pytest.raises(JournalBusy, match="statement timeout"):
            journal.append("c1", [ValidationRequested("s1")], 1)
    finally:
        blocker.rollback()
        blocker.close()
    assert journal.stream_version("c1") == 1
    journal.append("c1", [ValidationRequested("s1")], 1)  # and once it is free, it goes
    assert journal.verify().ok
    journal.close()


def test_a_connection_killed_by_the_server_is_unavailable_then_reconnected(url: str) -> None:
    journal = PostgresJournal(url)
    journal.append("c1", [CampaignDrafted({"name": "x"})], 0)
    assert journal.read_stream("c1")
    _sql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND application_name = '' AND backend_type = 'client backend'",
    )
    with pytest.raises(JournalUnavailable, match="connection to the server was lost"):
        journal.append("c1", [ValidationRequested("s1")], 1)
    version = journal.stream_version("c1")  # a read reconnects on its own
    assert version == 1  # the append never reached its commit: nothing of it is there
    journal.append("c1", [ValidationRequested("s2")], version)
    assert journal.verify().ok
    journal.close()


def test_appends_from_many_threads_form_one_chain(url: str) -> None:
    journal = PostgresJournal(url)
    start = threading.Barrier(8)

    def work(k: int) -> None:
        start.wait()
        for version in range(20):
            journal.append(f"c{k}", [ValidationRequested(f"s{version}")], version)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    report = journal.verify()
    assert report.ok
    assert report.events == 160
    assert journal.recorder._group.groups < 160  # several appends shared a commit
    journal.close()


def test_a_password_never_reaches_a_message() -> None:
    assert redacted("postgresql://app:s3cr3t@db:5432/j") == "postgresql://app:***@db:5432/j"
    with pytest.raises(JournalUnavailable) as caught:
        PostgresJournal("postgresql://app:s3cr3t@127.0.0.1:1/j")
    assert "s3cr3t" not in str(caught.value)


def _waiting_on_a_lock(url: str) -> bool:
    return bool(
        _sql(
            url,
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()",
        )
    )


def behind_their_lock(
    url: str,
    theirs: PostgresJournal,
    event: list[ValidationRequested],
    prep: Any,
    *,
    command: str | None,
    ours: Callable[[], object],
) -> list[object]:
    """Their append of ``event`` to stream ``c`` at version 1 takes the chain's lock and holds
    it while ``ours`` runs into it; once ours waits on the lock, theirs commits. What ours
    returned, or the ``ConcurrencyError`` it raised."""
    from journal.errors import ConcurrencyError  # noqa: PLC0415
    from journal.records import chain  # noqa: PLC0415

    holding, go = threading.Event(), threading.Event()

    def their_rows(seq: int, version: int, prev: str) -> list[tuple[object, ...]]:
        holding.set()  # their transaction holds the chain's lock from here to its commit
        assert go.wait(10)
        return chain("c", event, prep, (seq, version, prev), "2026-12-04T00:00:00.000000Z")[0]

    command_arg = None if command is None else (command, prep.fingerprint)
    them = threading.Thread(
        target=theirs.recorder.append,
        args=("c", 1, their_rows),
        kwargs={"command": command_arg, "claims": None},
    )
    them.start()
    assert holding.wait(10)
    outcome: list[object] = []

    def append_ours() -> None:
        try:
            outcome.append(ours())
        except ConcurrencyError as exc:
            outcome.append(exc)

    us = threading.Thread(target=append_ours)
    us.start()
    while not _waiting_on_a_lock(url):  # ours is in its first statement, behind their lock
        threading.Event().wait(0.005)
    go.set()
    them.join(10)
    us.join(10)
    return outcome


@pytest.mark.parametrize("same_command", [False, True])
def test_an_append_that_read_before_another_hosts_commit_goes_again_after_it(
    url: str, same_command: bool
) -> None:
    """A lone append reads the version and the command id in the statement that waits for the
    chain's lock: when another host's append commits meanwhile, what it read is old, its insert
    breaks UNIQUE, and it goes again the long way: a clean ConcurrencyError (or the other
    host's events for the same command), never a journal error, and one chain."""
    from journal.errors import ConcurrencyError  # noqa: PLC0415
    from journal.records import prepare_append  # noqa: PLC0415

    ours, theirs = PostgresJournal(url), PostgresJournal(url)  # two hosts
    ours.append("c", [CampaignDrafted({"name": "x"})], 0)
    event = [ValidationRequested("theirs")]
    command = "validate-1" if same_command else None
    prep = prepare_append("c", event, 1, None, None, command_id=command)
    outcome = behind_their_lock(
        url,
        theirs,
        event,
        prep,
        command=command,
        ours=lambda: ours.append("c", event, 1, command_id=command),
    )
    if same_command:
        stored = outcome[0]
        assert isinstance(stored, list)
        assert [e.version for e in stored] == [2], "their events, for the same command"
    else:
        assert isinstance(outcome[0], ConcurrencyError)
        assert "version 2, not the expected 1" in str(outcome[0])
    assert ours.stream_version("c") == 2
    assert ours.verify().ok
    ours.close()
    theirs.close()
