"""A hostile CXone and crafted files: each broke a claim once; each gets a typed error now, and
a row in the hardening table."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.simulator import FakeCXoneGateway
from engine import (
    AuthError,
    BadResponse,
    Engine,
    RemoteCampaign,
    RemoteUnavailable,
    SpecError,
    Supervisor,
    parse_spec,
)
from events import CODEC
from journal import JournalCorrupt, SQLiteJournal
from journal.records import row_hash
from journal.transfer import read_jsonl
from tests.conftest import EXAMPLE_SPEC, for_campaign, make_contacts
from tests.drills import interrupt
from tests.hardening import report
from tests.hardening.hostile import SECRET, TOKEN, Reply, gateway_for, hostile, token_reply

CAMPAIGN = "/api/v2/outbound/campaigns/cmp-1001"


def campaign_body(**changes: Any) -> dict[str, Any]:
    return {"id": "cmp-1001", "version": 4, "status": "inactive", "name": "x", **changes}


def scripted(path: str, reply: Reply, *, token: Reply | None = None) -> Any:
    def script(method: str, requested: str, body: bytes) -> Reply:
        if requested.startswith("/api/v2/oauth/token"):
            return token or token_reply()
        if requested.split("?", maxsplit=1)[0] == path:
            return reply
        return Reply(status=404, body=b'{"message": "no such thing"}')

    return script


def test_a_slow_drip_is_cut_off_at_the_deadline() -> None:
    """Headers at once, then a byte every 0.3 s: the 1 s deadline bounds the whole call."""
    body = json.dumps(campaign_body()).encode()
    with hostile(scripted(CAMPAIGN, Reply(body=body, drip=0.3))) as (url, _):
        gateway = gateway_for(url, deadline=1.0, timeout=15.0)
        started = time.monotonic()
        with pytest.raises(RemoteUnavailable, match="deadline") as caught:
            gateway.read_campaign("cmp-1001")
        took = time.monotonic() - started
        gateway.close()
    report.record("slow drip (1 byte every 0.3 s, 1 s deadline)", handled=took < 2.0)
    assert took < 2.0, f"{took:.1f}s: {caught.value}"


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("200k-deep listing", b'{"entity": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"),
        ("40-deep config", json.dumps(campaign_body(x=json.loads("[" * 40 + "]" * 40))).encode()),
        ("NaN in a campaign", json.dumps(campaign_body()).replace("4", "NaN", 1).encode()),
        ("Infinity version", b'{"id": "cmp-1001", "version": 1e999, "name": "x"}'),
        ("version 10^30", b'{"id": "cmp-1001", "version": 1000000000000000000000000000000}'),
        ("negative version", b'{"id": "cmp-1001", "version": -3}'),
        ("another campaign's body", json.dumps(campaign_body(id="cmp-9999")).encode()),
    ],
)
def test_hostile_bodies_are_bad_responses(what: str, body: bytes) -> None:
    with hostile(scripted(CAMPAIGN, Reply(body=body))) as (url, _):
        gateway = gateway_for(url)
        with pytest.raises(BadResponse):
            gateway.read_campaign("cmp-1001")
        gateway.close()
    report.record("deep, non-finite or foreign reply bodies", handled=True)


@pytest.mark.parametrize("expires_in", ["NaN", "1e999", "-1", "0", "31536000000"])
def test_a_token_lifetime_that_is_not_one_is_refused(expires_in: str) -> None:
    token = Reply(body=f'{{"access_token": "t", "expires_in": {expires_in}}}'.encode())
    with hostile(scripted(CAMPAIGN, Reply(), token=token)) as (url, _):
        gateway = gateway_for(url)
        with pytest.raises(BadResponse):
            gateway.read_campaign("cmp-1001")
        gateway.close()
    report.record("deep, non-finite or foreign reply bodies", handled=True)


def test_a_put_reply_that_jumps_versions_leaves_the_activation_in_doubt() -> None:
    body = json.dumps(campaign_body(version=45)).encode()
    with hostile(scripted(CAMPAIGN, Reply(body=body))) as (url, _):
        gateway = gateway_for(url)
        with pytest.raises(BadResponse, match="not 5"):
            gateway.put_preview_config("cmp-1001", {"type": "preview"}, 4)
        gateway.close()
    report.record("deep, non-finite or foreign reply bodies", handled=True)


def test_endless_next_links_stop_at_the_listings_own_totals() -> None:
    def script(method: str, path: str, body: bytes) -> Reply:
        if path.startswith("/api/v2/oauth/token"):
            return token_reply()
        page = int(path.rsplit("=", 1)[1]) if "page=" in path else 1
        items = [{"id": f"c{page}", "phoneNumber": "+14155550100", "fields": {}}]
        return Reply(
            body=json.dumps(
                {"entity": items, "totalRecords": 3, "nextPageUri": f"/next?page={page + 1}"}
            ).encode()
        )

    with hostile(script) as (url, seen):
        gateway = gateway_for(url)
        with pytest.raises(BadResponse, match="more than its own totals"):
            list(gateway.iter_contacts("cl-2001"))
        gateway.close()
    assert len(seen) <= 6, "three items in pages of one: four pages at most, and a token"
    report.record("endless or repeating next links", handled=True)


class Exploding(FakeCXoneGateway):
    """A gateway with a bug: once armed, reading one campaign raises what no gateway should."""

    armed = False

    def read_campaign(self, campaign_id: str) -> RemoteCampaign:
        if self.armed and campaign_id == "cmp-1002":
            raise RecursionError("maximum recursion depth exceeded")
        return super().read_campaign(campaign_id)


def test_one_campaigns_failure_never_ends_a_supervisors_pass(tmp_path: Path) -> None:
    spec = parse_spec(EXAMPLE_SPEC.read_text())
    gateway = Exploding(
        campaigns=[RemoteCampaign(f"cmp-{n}", 4, "inactive", {}) for n in (1001, 1002, 1003)],
        contacts=make_contacts(50),
    )
    with SQLiteJournal(tmp_path / "j.db") as journal:
        engine = Engine(journal, gateway)
        ids = [
            interrupt(engine, for_campaign(spec, f"cmp-{n}"), "after-activation-intent")
            for n in (1001, 1002, 1003)
        ]
        gateway.armed = True
        decisions = Supervisor(engine, "sup").run_once()
    assert [d.campaign_id for d in decisions] == ids
    assert [d.after for d in decisions] == ["active", "activating", "active"]
    assert decisions[1].outcome.startswith("error: RecursionError")
    report.record("one campaign failing in a supervisor pass", handled=True)


def test_deep_files_are_typed_errors(tmp_path: Path) -> None:
    deep = "name = " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(SpecError, match="nested too deeply"):
        parse_spec(deep)
    line = json.dumps({"seq": 1}).replace("1", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(JournalCorrupt, match="line 1: nested too deeply"):
        list(read_jsonl([line]))
    row = {
        "seq": 1,
        "stream_id": "c",
        "version": 1,
        "type": "campaign.drafted",
        "schema": 1,
        "data": "{}",
        "meta": "{not json",
        "recorded_at": "2026-01-01T00:00:00.000000Z",
        "state_digest": None,
        "prev_hash": "0" * 64,
        "hash": "0" * 64,
    }
    with pytest.raises(JournalCorrupt, match="line 1: field 'meta' is not a JSON object"):
        list(read_jsonl([json.dumps(row)]))
    report.record("deep or malformed files (spec, import line)", handled=True)


def forge(db: Path, seq: int, **columns: Any) -> None:
    """Change a row and re-hash the chain from it on, as a forger who knows the scheme would."""
    conn = sqlite3.connect(db)
    for name, value in columns.items():
        conn.execute(f"UPDATE events SET {name} = ? WHERE seq = ?", (value, seq))  # noqa: S608
    rows = conn.execute(
        "SELECT seq, stream_id, version, type, schema, data, meta, recorded_at, state_digest "
        "FROM events WHERE seq >= ? ORDER BY seq",
        (seq,),
    ).fetchall()
    prev = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()
    prev_hash = prev[0] if prev else "0" * 64
    for row in rows:
        new = row_hash(prev_hash, *row)
        conn.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev_hash, new, row[0])
        )
        prev_hash = new
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("column", "value", "commands"),
    [
        (
            "data",
            '{"spec": ' + "[" * 50_000 + "]" * 50_000 + "}",
            ["verify", "show"],  # status, metrics read heads (tests/adapters/test_cli_views.py)
        ),
        ("meta", "not json at all", ["verify"]),
        ("meta", "[" * 50_000 + "]" * 50_000, ["verify"]),
    ],
)
def test_a_forged_row_is_named_by_every_command_not_a_traceback(
    tmp_path: Path, column: str, value: str, commands: list[str]
) -> None:
    db = tmp_path / "j.db"
    runner = CliRunner()
    drafted = runner.invoke(cli, ["--db", str(db), "draft", str(EXAMPLE_SPEC)])
    assert drafted.exit_code == 0
    campaign_id = drafted.stdout.strip()
    forge(db, 1, **{column: value})
    codes = {}
    every = {
        "status": ["status"],
        "verify": ["audit", "verify"],
        "metrics": ["metrics"],
        "show": ["show", campaign_id],
    }
    for args in (every[c] for c in commands):
        result = runner.invoke(cli, ["--db", str(db), *args])
        codes[args[-1]] = result.exit_code
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert "seq 1" in result.stdout + result.stderr, (args, result.stdout, result.stderr)
    assert set(codes.values()) == {3}, codes
    report.record("forged rows (deep data, meta not an object)", handled=True)


def test_a_server_echoing_the_secret_or_a_token_gets_neither_into_the_journal(
    tmp_path: Path,
) -> None:
    def script(method: str, path: str, body: bytes) -> Reply:
        if path.startswith("/api/v2/oauth/token"):
            if b"first" not in seen_forms:
                seen_forms.append(b"first")
                echoed = json.dumps({"message": f"bad form: {body.decode()}"}).encode()
                return Reply(status=401, body=echoed)
            return token_reply()
        if path.startswith("/api/v2/outbound/campaigns?"):
            return Reply(status=400, body=json.dumps({"message": f"token {TOKEN} ?"}).encode())
        return Reply(status=503, body=json.dumps({"message": f"Bearer {TOKEN} refused"}).encode())

    seen_forms: list[bytes] = []
    spec = parse_spec(EXAMPLE_SPEC.read_text())
    with hostile(script) as (url, _), SQLiteJournal(tmp_path / "j.db") as journal:
        gateway = gateway_for(url, deadline=0.5)
        with pytest.raises(AuthError) as refused:
            gateway.read_campaign("cmp-1001")
        assert SECRET not in str(refused.value)
        assert quote_plus(SECRET) not in str(refused.value)
        assert "[redacted]" in str(refused.value)
        engine = Engine(journal, gateway)
        state = engine.draft(spec).validate().snapshot
        gateway.close()
    assert state.last_error is not None
    assert "[redacted]" in state.last_error
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    leaked = sum(n.encode() in files for n in (SECRET, quote_plus(SECRET), TOKEN))
    report.record("echoed secrets and tokens", handled=leaked == 0, leaked=leaked)
    assert leaked == 0


def test_unbounded_values_are_refused() -> None:
    big = EXAMPLE_SPEC.read_text().replace(
        'skill_requirement = "renewals"', f'skill_requirement = "{"x" * 5_000_000}"'
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(big)
    assert [p.path for p in caught.value.problems] == ["agent_directives[0].skill_requirement"]
    page = {"entity": [{"id": "c1\t+14155550100\nforged", "phoneNumber": "+14155550100"}]}
    with hostile(
        scripted(
            "/api/v2/outbound/contactlists/cl-2001/contacts", Reply(body=json.dumps(page).encode())
        )
    ) as (url, _):
        gateway = gateway_for(url)
        with pytest.raises(BadResponse, match="control characters"):
            list(gateway.iter_contacts("cl-2001"))
        gateway.close()
    report.record("unbounded values (50 MB strings, TAB/LF in ids, huge versions)", handled=True)


def _filtered_journal(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "j.db"
    gateway = FakeCXoneGateway(
        campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})], contacts=make_contacts(40)
    )
    with SQLiteJournal(db) as journal:
        c = Engine(journal, gateway).draft(parse_spec(EXAMPLE_SPEC.read_text())).validate()
        digest = c.filter().eligible_digest
    assert digest is not None
    return db, digest


@pytest.mark.parametrize("damage", ["altered", "deleted"])
def test_a_damaged_eligible_set_fails_verify(tmp_path: Path, damage: str) -> None:
    db, digest = _filtered_journal(tmp_path)
    conn = sqlite3.connect(db)
    if damage == "altered":
        conn.execute("UPDATE blobs SET data = ? WHERE digest = ?", (b"forged\t+1\n", digest))
    else:
        conn.execute("DELETE FROM blobs WHERE digest = ?", (digest,))
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["--db", str(db), "audit", "verify"])
    assert result.exit_code == 3
    assert f"eligible set {digest}" in result.stdout
    report.record("damaged blobs and indexes", handled=True)


def test_deep_verify_reads_the_files_indexes(tmp_path: Path) -> None:
    db, _ = _filtered_journal(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA writable_schema = ON")
    # Point the unique (stream_id, version) index at rows it does not hold: pages disagree.
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
    ).fetchone()
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    start = (root - 1) * page
    data[start + 12 : start + page] = bytes(page - 12)  # the index page's cells, wiped
    db.write_bytes(bytes(data))
    shallow = CliRunner().invoke(cli, ["--db", str(db), "audit", "verify"])
    deep = CliRunner().invoke(cli, ["--db", str(db), "audit", "verify", "--deep"])
    assert deep.exit_code == 3, (shallow.stdout, deep.stdout)
    assert "integrity_check" in deep.stdout or "malformed" in deep.stdout + deep.stderr
    report.record("damaged blobs and indexes", handled=True)


def test_an_export_carries_blobs_is_private_and_an_import_checks_as_verify(
    tmp_path: Path,
) -> None:
    db, digest = _filtered_journal(tmp_path)
    runner = CliRunner()
    out = tmp_path / "export.jsonl"
    assert runner.invoke(cli, ["--db", str(db), "audit", "export", "-o", str(out)]).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o600
    copy = tmp_path / "copy.db"
    done = runner.invoke(cli, ["--db", str(copy), "audit", "import", str(out)])
    assert done.exit_code == 0, done.stderr
    assert runner.invoke(cli, ["--db", str(copy), "audit", "verify"]).exit_code == 0
    with SQLiteJournal(copy) as journal:
        assert journal.get_blob(digest)
    # An export whose chain is whole but whose history is not: a filter result with no filter
    # intent before it. Verify would refuse it, so the import does too, and writes nothing.
    rows = [json.loads(line) for line in out.read_text().splitlines() if '"seq"' in line]
    drafted, filtered = rows[0], next(r for r in rows if r["type"] == "filter.completed")
    forged_db = tmp_path / "forged-src.db"
    with SQLiteJournal(forged_db, head_mark=False) as journal:
        for version, r in enumerate((drafted, filtered)):
            event = CODEC.decode(r["type"], r["schema"], r["data"])
            journal.append(r["stream_id"], [event], version)
    forged = tmp_path / "forged.jsonl"
    runner.invoke(cli, ["--db", str(forged_db), "audit", "export", "-o", str(forged)])
    target = tmp_path / "target.db"
    refused = runner.invoke(cli, ["--db", str(target), "audit", "import", str(forged)])
    assert refused.exit_code == 3, refused.stdout
    assert "seq 2: illegal transition" in refused.stderr
    with SQLiteJournal(target) as journal:
        assert journal.last_seq() == 0, "nothing was imported"
    report.record("hostile imports", handled=True)
