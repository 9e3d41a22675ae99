"""The journal of the release before this one stays readable, verifiable and workable.

``tests/fixtures/golden/journal-v4.db`` was written by the release at journal schema 4 and
state digest scheme 2 (``make_v4.py``): an ACD skill active and dialing, an ACD skill left
filtered with a run asked for, and a tutorial campaign interrupted after its activation
intent. Never regenerated. This release migrates it (schema 5: the outcome index's condition),
verifies its scheme-2 digests, and finishes both campaigns, the filtered skill by uploading
its calling list first, writing scheme-3 digests beside the old ones.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import httpx

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.cxone.acd import AccessKey, AcdGateway, AcdSettings
from adapters.simulator import Dataset, Simulator
from adapters.simulator.acd import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from adapters.simulator.inprocess import InProcessTransport
from engine import Engine, Supervisor, verify
from engine.audit import replay_visitor
from engine.ports import DialectGateways
from journal import SQLiteJournal
from journal.schema import SCHEMA_VERSION
from journal.transfer import read_jsonl, write_jsonl

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden" / "journal-v4.db"
HEAD = (23, "88f7c93d8b14d305ca75ec0fbd7c0910b47b17c33c5048b4b28159b71dc1b87f")
HOST = "https://cxone.test"


def copy_of(tmp_path: Path) -> Path:
    path = tmp_path / "golden.db"
    shutil.copyfile(GOLDEN, path)
    return path


def test_the_golden_journal_is_as_committed() -> None:
    conn = sqlite3.connect(f"file:{GOLDEN}?mode=ro", uri=True)
    try:
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        head = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        schemes = {d[:3] for (d,) in conn.execute("SELECT state_digest FROM events")}
    finally:
        conn.close()
    assert (schema, tuple(head)) == (4, HEAD)
    assert schemes == {"d2:"}, "every digest of that release is scheme 2"


def test_it_migrates_and_its_scheme_two_digests_verify(tmp_path: Path) -> None:
    path = copy_of(tmp_path)
    with SQLiteJournal(path) as journal:
        report = verify(journal)
        assert report.ok, report
        assert report.head == HEAD, "migrating changed no event"
        assert journal.heads_ready(), "schema 4 kept heads: nothing to rebuild"
        heads = {h.stream_id: h for h in journal.heads()}
        assert [(h.state, h.open_step) for h in heads.values()] == [
            ("active", None),
            ("filtered", None),
            ("activating", "activation"),
        ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    (index,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'idx_events_outcomes'"
    ).fetchone()
    conn.close()
    assert " OR type = " in index, "schema 5's outcome index"
    assert " IN " not in index


def test_it_is_finished_the_filtered_skill_uploading_its_list_first(tmp_path: Path) -> None:
    path = copy_of(tmp_path)
    sim = Simulator(Dataset(seed=11, contacts=2600, suppressions=400))  # as make_v4.py had it
    policy = RetryPolicy(deadline=5.0, sleep=lambda _: None, jitter=lambda: 0.5)
    client = httpx.Client(transport=InProcessTransport(sim.app))
    tutorial = HttpCXoneGateway(
        Credentials(HOST, "cxpreview", Secret("simulated-secret")), client=client, policy=policy
    )
    acd = AcdGateway(
        AccessKey(ACCESS_KEY_ID, Secret(ACCESS_KEY_SECRET)),
        AcdSettings(auth_url=HOST, discovery_url=HOST),
        client=client,
        policy=policy,
    )
    gateways = DialectGateways({"tutorial": lambda: tutorial, "cxone": lambda: acd})
    with SQLiteJournal(path) as journal:
        engine = Engine(journal, gateways)
        decisions = Supervisor(engine, "sup").run_once()
        assert sorted((d.campaign_id, d.after) for d in decisions) == [
            ("gold15", "active"),
            ("gold23", "active"),
        ]
        types = [h.type for h in engine.history("gold15")]
        assert types[types.index("filter.completed") + 1 :] == [
            "upload.requested",
            "contacts.uploaded",
            "activation.requested",
            "activation.succeeded",
            "dialing.requested",
            "dialing.started",
        ]
        assert len(sim.acd.uploads(1002)) == 1
        assert not sim.acd.uploads(1001), "an active skill of the release before owes no list"
        assert [p["campaign"] for p in sim.applied_puts()] == ["cmp-1001"], "one re-PUT"
        report = verify(journal)
        assert report.ok, report
        schemes = {h.state_digest[:3] for h in journal.read_all() if h.state_digest}
        assert schemes == {"d2:", "d3:"}, "the old digests kept, the new ones scheme 3"
        out = io.StringIO()
        written = write_jsonl(journal.raw_rows(), out, journal.blobs())
    client.close()
    records = list(read_jsonl(out.getvalue().splitlines()))
    assert sum(1 for r in records if not isinstance(r, bytes)) == written
    with SQLiteJournal(tmp_path / "imported.db") as copy:
        copy.import_rows(records, replay_visitor(copy))
        assert verify(copy).ok
