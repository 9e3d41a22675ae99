"""Journals written by earlier releases stay readable, verifiable and workable: kept forever.

``tests/fixtures/golden/journal-v1.db`` was written by cxpreview 0.1.0 at journal schema 1
(``activation.requested`` and ``activation.succeeded`` at event schema 1),
``journal-v3.db`` by the release at journal schema 3 (plans, claims, the SQL views; outcome
events without their retries). Neither is ever regenerated. Every release must open them
(migrating a copy), verify them with the state digests their release recorded, decode their
events through the upcasters, finish their interrupted activation and export them.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.simulator import Dataset, Simulator
from adapters.simulator.inprocess import InProcessTransport
from engine import Engine, Supervisor, fold, verify
from engine.audit import replay_visitor
from journal import SQLiteJournal
from journal.schema import SCHEMA_VERSION
from journal.transfer import read_jsonl, write_jsonl

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
V1_HEAD = (23, "6987be04e1135101b8369668624b65b96eb3bd6e5b14b3ead164970750b25244")
V3_HEAD = (23, "47fe4268f493295ecf595f8194f34e7de4fe6992160ebff4c8e84a543b9575f5")
GOLDENS = {"journal-v1.db": (1, V1_HEAD), "journal-v3.db": (3, V3_HEAD)}
"""Each golden journal: its journal schema and its head (seq, hash)."""
each_golden = pytest.mark.parametrize("name", sorted(GOLDENS))


def copy_of(name: str, tmp_path: Path) -> Path:
    path = tmp_path / "golden.db"
    shutil.copyfile(GOLDEN / name, path)
    return path


@each_golden
def test_the_golden_journals_are_as_committed(name: str) -> None:
    conn = sqlite3.connect(f"file:{GOLDEN / name}?mode=ro", uri=True)
    try:
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        head = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    assert (schema, tuple(head)) == GOLDENS[name]


@each_golden
def test_a_golden_journal_opens_migrates_and_verifies(name: str, tmp_path: Path) -> None:
    path = copy_of(name, tmp_path)
    with SQLiteJournal(path) as journal:
        report = verify(journal)
        assert report.ok, report
        assert report.head == GOLDENS[name][1], "migrating changed no event"
        events = {(h.stream_id, h.version): h.event for h in journal.read_all()}
        # Written before heads existed: built once from the events, then checked by verify.
        assert not journal.heads_ready()
        assert Engine(journal).rebuild_heads() == 3
        assert journal.heads_ready()
        assert verify(journal).ok
        heads = {h.stream_id: h for h in journal.heads()}
        assert [(h.state, h.open_step, h.unfinished) for h in heads.values()] == [
            ("active", None, False),
            ("activating", "activation", True),
            ("cancelled", None, False),
        ]
        assert (heads["gold21"].remote_id, heads["gold21"].version) == ("cmp-1002", 7)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    claims = conn.execute("SELECT count(*) FROM claims").fetchone()[0]
    conn.close()
    # Claims were first written at schema 2: the live campaigns hold theirs, v1 had none.
    assert claims == (0 if name == "journal-v1.db" else 2)
    # Outcomes written before retries were counted say so, rather than claim none.
    outcomes = [e for e in events.values() if hasattr(e, "retries")]
    assert len(outcomes) == 8
    assert {e.retries for e in outcomes} == {None}  # type: ignore[attr-defined]
    assert events[("gold1", 6)].fields_seen is None  # type: ignore[attr-defined]
    # The one success of gold1 was the PUT's reply.
    assert events[("gold1", 12)].how == "put"  # type: ignore[attr-defined]
    assert events[("gold1", 12)].reconciled is False  # type: ignore[attr-defined]
    if name == "journal-v1.db":  # schema 1 intents, upcast: no plan was recorded then
        assert events[("gold1", 7)].plan is None  # type: ignore[attr-defined]
    else:
        assert [c.path for c in events[("gold1", 7)].plan][-1] == "name"  # type: ignore[attr-defined]


@each_golden
def test_a_golden_journal_is_resumed_to_active_and_exported(name: str, tmp_path: Path) -> None:
    path = copy_of(name, tmp_path)
    head = GOLDENS[name][1]
    sim = Simulator(Dataset(seed=11, contacts=2600, suppressions=400))  # as the make_v*.py had it
    policy = RetryPolicy(deadline=5.0, sleep=lambda _: None, jitter=lambda: 0.5)
    client = httpx.Client(transport=InProcessTransport(sim.app))
    credentials = Credentials("https://cxone.test", "cxpreview", Secret("simulated-secret"))
    with (
        HttpCXoneGateway(credentials, client=client, policy=policy) as gateway,
        SQLiteJournal(path) as journal,
    ):
        engine = Engine(journal, gateway)
        assert [c.id for c in engine.campaigns() if c.pending] == ["gold21"]
        decisions = Supervisor(engine, "sup").run_once()
        assert [(d.campaign_id, d.after) for d in decisions] == [("gold21", "active")]
        assert [p["campaign"] for p in sim.applied_puts()] == ["cmp-1002"], "one re-PUT"
        assert journal.claim_holder("cxone-campaign:cmp-1002") == ("gold21", False)
        assert verify(journal).ok
        assert [c.state for c in engine.campaigns()] == ["active", "active", "cancelled"]
        out = io.StringIO()
        written = write_jsonl(journal.raw_rows(), out, journal.blobs())
    client.close()
    records = list(read_jsonl(out.getvalue().splitlines()))
    rows = [r for r in records if not isinstance(r, bytes)]
    assert len(rows) == written
    assert len(records) - len(rows) == 1, "the eligible set (both campaigns share it) travels too"
    assert (rows[head[0] - 1].seq, rows[head[0] - 1].hash) == head
    with SQLiteJournal(tmp_path / "imported.db") as copy:
        copy.import_rows(records, replay_visitor(copy))
        assert verify(copy).ok
        gold21 = fold("gold21", copy.read_events("gold21"))
    assert (gold21.state, gold21.active_version) == ("active", 5)
