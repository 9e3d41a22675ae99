"""For auditors: who activated which CXone campaign, asked of the CLI, of the journal's SQL
views (what Datasette shows) and of the canned queries, all agreeing; the CSV audit log names
seq, actor and the CXone campaign."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from adapters.cli import cli
from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteCampaign, RemoteRejected, load_spec
from engine.audit import activations
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, for_campaign, make_contacts
from tests.unit.journal.test_golden import copy_of


def busy_journal(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """One campaign that conflicted, rebased and landed; one that failed; one that landed."""
    db = str(tmp_path / "audited.db")
    cxone = FakeCXoneGateway(
        campaigns=[RemoteCampaign(f"cmp-{n}", 4, "inactive", {}) for n in (1001, 1002, 1003)],
        contacts=make_contacts(40),
    )
    spec = load_spec(EXAMPLE_SPEC)
    ids = {}
    with SQLiteJournal(db) as journal:
        alice = Engine(journal, cxone, actor="alice@ops")
        c = alice.draft(spec).validate().filter()
        cxone.edit_remotely("cmp-1001", schedule="weekdays")
        c.activate().rebase().activate()
        ids["cmp-1001"] = c.id
        cxone.fail_next("put_preview_config", RemoteRejected("bad queue", 400))
        ids["cmp-1002"] = (
            Engine(journal, cxone, actor="bob@ops").draft(for_campaign(spec, "cmp-1002")).run().id
        )
        ids["cmp-1003"] = alice.draft(for_campaign(spec, "cmp-1003")).run().id
    return db, ids


def view_rows(db: str) -> list[dict[str, object]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM activations ORDER BY seq")]
    finally:
        conn.close()


def test_the_cli_and_the_view_tell_the_same_activations(tmp_path: Path) -> None:
    db, _ = busy_journal(tmp_path)
    out = CliRunner().invoke(cli, ["--db", db, "audit", "activations", "--json"])
    assert out.exit_code == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["cxone_campaign_id"], r["outcome"], r["actor"]) for r in rows] == [
        ("cmp-1001", "conflicted", "alice@ops"),
        ("cmp-1001", "succeeded", "alice@ops"),
        ("cmp-1002", "failed", "bob@ops"),
        ("cmp-1003", "succeeded", "alice@ops"),
    ]
    assert [(r["if_match"], r["new_version"]) for r in rows[:2]] == [(4, None), (5, 6)]
    viewed = view_rows(db)
    for row in viewed:
        row["reconciled"] = bool(row["reconciled"])
    assert viewed == rows
    only = CliRunner().invoke(cli, ["--db", db, "audit", "activations", "--campaign", "cmp-1001"])
    assert only.exit_code == 0
    assert only.stdout.count("cmp-1001") == 2
    assert "cmp-1002" not in only.stdout
    table = CliRunner().invoke(cli, ["--db", db, "audit", "activations", "--csv"]).stdout
    assert [r["outcome"] for r in csv.DictReader(io.StringIO(table))][-1] == "succeeded"
    later = CliRunner().invoke(
        cli, ["--db", db, "audit", "activations", "--since", "2999-01-01", "--json"]
    )
    assert json.loads(later.stdout) == []


def test_the_views_hold_on_a_journal_written_by_an_earlier_release(tmp_path: Path) -> None:
    db = copy_of("journal-v1.db", tmp_path)
    with SQLiteJournal(db) as journal:  # migrated to the schema that has the views
        expected = list(activations(journal))
    viewed = view_rows(str(db))
    assert len(viewed) == len(expected) > 0
    assert [r["outcome"] for r in viewed] == [a.outcome for a in expected]
    assert [r["if_match"] for r in viewed] == [a.if_match for a in expected]
    assert [r["cxone_campaign_id"] for r in viewed] == [a.cxone_campaign_id for a in expected]


def test_datasettes_canned_queries_run_against_the_journal(tmp_path: Path) -> None:
    db, _ = busy_journal(tmp_path)
    out = CliRunner().invoke(cli, ["--db", db, "audit", "datasette"])
    assert out.exit_code == 0, out.stderr
    metadata = json.loads(out.stdout)
    queries = metadata["databases"]["audited"]["queries"]
    params = {"cxone_campaign_id": "cmp-1001", "last_event": "webhook.registered"}
    params["campaign_id"] = "any-id"  # the query must run
    conn = sqlite3.connect(db)
    try:
        for name, query in queries.items():
            wanted = re.findall(r":(\w+)", query["sql"])
            rows = conn.execute(query["sql"], {k: params[k] for k in wanted}).fetchall()
            if name == "who_activated":
                assert len(rows) == 2
            if name == "campaigns_by_last_event":
                assert len(rows) == 1  # only the campaign that was run registered its webhook
    finally:
        conn.close()


def test_the_csv_audit_log_names_seq_actor_and_cxone_campaign(tmp_path: Path) -> None:
    db, ids = busy_journal(tmp_path)
    out = CliRunner().invoke(cli, ["--db", db, "audit", "export", "--format", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
    first = rows[0]
    assert (first["actor"], first["cxoneCampaignId"], first["campaignId"]) == (
        "alice@ops",
        "cmp-1001",
        ids["cmp-1001"],
    )
