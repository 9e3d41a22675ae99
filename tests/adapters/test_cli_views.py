"""The CLI's views (status, history, replay as of a point), revise, and tamper detection."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner
from rich.console import Console

from adapters.cli import cli
from adapters.cli.views import detail, status_table, timeline, verifying
from adapters.simulator import FakeCXoneGateway
from engine import CampaignSpec, Contact, Engine, RemoteCampaign, load_spec
from events import FilterFailed, ValidationPassed
from journal import SQLiteJournal
from tests.adapters.test_cli import _journal_with_history
from tests.conftest import EXAMPLE_SPEC
from tests.hardening import report


def invoke(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def cells(line: str) -> list[str]:
    """A rendered table row's cells (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


def test_every_command_documents_the_exit_codes() -> None:
    commands = list(cli.commands.items())
    while commands:
        name, command = commands.pop()
        help_text = CliRunner().invoke(cli, [*name.split(), "--help"]).stdout
        assert "Exit codes: 0 done, 1 a campaign" in help_text, name
        commands += [(f"{name} {n}", c) for n, c in getattr(command, "commands", {}).items()]


def test_history_is_a_timeline_of_transitions(tmp_path: Path) -> None:
    db, campaign_id = _journal_with_history(tmp_path)
    code, out, _ = invoke(db, "history", campaign_id)
    assert code == 0
    lines = out.splitlines()
    assert cells(lines[0]) == ["seq", "time (UTC)", "event", "state", "latency", "actor", "detail"]
    rows = [cells(line) for line in lines[2:]]
    assert [r[0] for r in rows] == [str(n) for n in range(1, 11)]
    assert rows[0][2:] == ["campaign.drafted", "- -> draft", "cxpreview"]
    assert rows[3][2:4] == ["validation.passed", "draft -> validated"]
    assert rows[3][4].endswith(" ms")
    assert rows[7][2:4] == ["activation.succeeded", "activating -> active"]
    assert all("cxpreview" in r for r in rows)
    filtered = next(r for r in rows if r[2] == "filter.completed")
    assert filtered[-1].endswith("eligible")  # the detail column says what came of it


def test_history_and_replay_as_of_a_seq_or_a_time(tmp_path: Path) -> None:
    db, campaign_id = _journal_with_history(tmp_path)
    _, out, _ = invoke(db, "history", campaign_id, "--json")
    events = json.loads(out)
    assert [(e["state_before"], e["state_after"]) for e in events[:4]] == [
        (None, "draft"),
        ("draft", "draft"),
        ("draft", "draft"),
        ("draft", "validated"),
    ]
    _, out, _ = invoke(db, "history", campaign_id, "--as-of", "6", "--json")
    assert [e["seq"] for e in json.loads(out)] == [1, 2, 3, 4, 5, 6]
    at = events[4]["recorded_at"]
    _, out, _ = invoke(db, "history", campaign_id, "--as-of", at, "--json")
    assert [e["seq"] for e in json.loads(out)] == [
        e["seq"] for e in events if e["recorded_at"] <= at
    ]
    _, out, _ = invoke(db, "audit", "replay", campaign_id, "--as-of", "6", "--json")
    replayed = json.loads(out)
    filtered = events[5]["event"]
    assert (replayed["state"], replayed["version"], replayed["eligible"]) == (
        "filtered",
        6,
        filtered["eligible"],
    )
    with sqlite3.connect(db) as conn:
        (recorded,) = conn.execute("SELECT state_digest FROM events WHERE seq = 6").fetchone()
    assert replayed["digest"] == recorded
    code, _, err = invoke(db, "history", campaign_id, "--as-of", "last tuesday")
    assert code == 2
    assert "--as-of" in err
    assert "neither a seq nor a time" in err
    code, _, err = invoke(db, "audit", "replay", campaign_id, "--as-of", "1999-01-01T00:00:00Z")
    assert code == 2
    assert "did not exist yet" in err


def test_revise_makes_a_draft_again(tmp_path: Path) -> None:
    db = str(tmp_path / "j.db")
    _, campaign_id, _ = invoke(db, "draft", str(EXAMPLE_SPEC))
    campaign_id = campaign_id.strip()
    revised = tmp_path / "revised.toml"
    revised.write_text(EXAMPLE_SPEC.read_text().replace("Spring renewals", "Summer renewals"))
    code, out, _ = invoke(db, "revise", campaign_id, str(revised), "--reason", "summer")
    assert code == 0
    assert "'Summer renewals - west': draft (v2)" in out
    _, out, _ = invoke(db, "history", campaign_id, "--json")
    assert json.loads(out)[-1]["event"]["reason"] == "summer"
    invoke(db, "cancel", campaign_id)
    code, _, err = invoke(db, "revise", campaign_id, str(revised))
    assert code == 2  # a command the state does not allow is a usage error
    assert "is cancelled: cannot revise" in err


def _tamper(db: str, sql: str) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(sql)
    conn.close()


@pytest.mark.parametrize(
    ("damage", "first_bad", "problem"),
    [
        # One byte of one event's payload changed, in place.
        (
            "UPDATE events SET data = replace(data, '\"Spring', '\"Sprang') WHERE seq = 1",
            1,
            "hash does not match",
        ),
        # A row deleted from the middle.
        ("DELETE FROM events WHERE seq = 4", 5, ""),
        # Two rows' contents swapped (each keeps its seq).
        (
            """
            CREATE TEMP TABLE a AS SELECT * FROM events WHERE seq = 5;
            CREATE TEMP TABLE b AS SELECT * FROM events WHERE seq = 6;
            DELETE FROM events WHERE seq IN (5, 6);
            INSERT INTO events SELECT 5, stream_id, version, type, schema, data, meta,
                recorded_at, state_digest, prev_hash, hash FROM b;
            INSERT INTO events SELECT 6, stream_id, version, type, schema, data, meta,
                recorded_at, state_digest, prev_hash, hash FROM a;
            """,
            5,
            "",
        ),
        # The last rows cut off: only an anchor noted earlier can tell.
        ("DELETE FROM events WHERE seq > 8", 9, "anchor"),
    ],
    ids=["byte-flip", "deleted-row", "swapped-rows", "truncated-tail"],
)
def test_tampering_is_caught_by_audit_verify_naming_the_seq(
    tmp_path: Path, damage: str, first_bad: int, problem: str
) -> None:
    db, _ = _journal_with_history(tmp_path)
    code, out, _ = invoke(db, "audit", "verify", "--json")
    assert code == 0
    anchor = json.loads(out)["anchor"]
    _tamper(db, damage)
    code, out, _ = invoke(db, "audit", "verify", "--anchor", anchor, "--json")
    verdict = json.loads(out)
    assert code == 3
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == first_bad
    assert problem in verdict["problem"]
    code, out, _ = invoke(db, "audit", "verify", "--anchor", anchor)
    assert out.startswith(f"seq {first_bad}: ")


def test_control_characters_and_markup_in_a_name_are_shown_not_obeyed(tmp_path: Path) -> None:
    hostile_name = "ok\\u001b[2J\\rFAKE active\\n[red]x[/red]"
    spec = tmp_path / "hostile.toml"
    spec.write_text(
        EXAMPLE_SPEC.read_text().replace(
            'name = "Spring renewals - west"', f'name = "{hostile_name}"', 1
        )
    )
    db = str(tmp_path / "j.db")
    runner = CliRunner()
    drafted = runner.invoke(cli, ["--db", db, "draft", str(spec)])
    assert drafted.exit_code == 0, drafted.stderr
    campaign_id = drafted.stdout.strip()
    for args in (["status"], ["show", campaign_id], ["history", campaign_id]):
        out = runner.invoke(cli, ["--db", db, *args], terminal_width=200).stdout
        assert "\x1b" not in out, args
        assert "\r" not in out, args
        if args == ["status"]:
            rows = [line for line in out.splitlines() if campaign_id in line]
            assert len(rows) == 1
            assert "\\x1b[2J\\rFAKE active\\n[red]x[/red]" in rows[0]
    report.record("control characters and markup in names", handled=True)


def test_every_view_names_an_edited_row_instead_of_showing_it(tmp_path: Path) -> None:
    db = str(tmp_path / "j.db")
    runner = CliRunner()
    campaign_id = runner.invoke(cli, ["--db", db, "draft", str(EXAMPLE_SPEC)]).stdout.strip()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET data = replace(data, 'Spring', 'FORGED') WHERE seq = 1")
    conn.commit()
    conn.close()
    for args in (
        ["show", campaign_id],
        ["history", campaign_id],
        ["audit", "replay", campaign_id],
        ["audit", "replay", campaign_id, "--as-of", "1"],
        ["audit", "verify"],
    ):
        result = runner.invoke(cli, ["--db", db, *args])
        assert result.exit_code == 3, (args, result.stdout)
        assert "seq 1" in result.stderr + result.stdout, args
        assert "FORGED" not in result.stdout + result.stderr, args
    # status and metrics read the campaigns' heads (and metrics the activation outcomes),
    # written with the events and checked by audit verify, not every row: they show what
    # was written, never the forged text.
    for args in (["status"], ["status", "--json"], ["metrics", "--json"]):
        result = runner.invoke(cli, ["--db", db, *args])
        assert result.exit_code == 0, (args, result.stdout)
        assert "FORGED" not in result.stdout + result.stderr, args
    assert "Spring renewals - west" in runner.invoke(cli, ["--db", db, "status"]).stdout
    report.record("forged rows (deep data, meta not an object)", handled=True)


def test_in_80_columns_nothing_that_identifies_is_cut(tmp_path: Path) -> None:
    db, campaign_id = _journal_with_history(tmp_path)
    with SQLiteJournal(db) as journal:
        engine = Engine(journal)
        spec = load_spec(EXAMPLE_SPEC)
        name = ("A spring renewals campaign for the whole west coast " * 2)[:200]
        long = CampaignSpec.from_dict({**spec.to_dict(), "name": name, "campaign_id": "cmp-1002"})
        other = engine.draft(long).id
        rows = engine.heads()
        history = engine.history(campaign_id)
        now = engine.clock.now()
    out = Console(width=80, record=True, file=io.StringIO())
    out.print(status_table(rows, now))
    out.print(timeline(history))
    screen = out.export_text()
    assert max(len(line) for line in screen.splitlines()) <= 80
    for whole in (campaign_id, other, "webhook.registered", "draft", "active"):
        assert whole in screen, whole
    for event in {e.type for e in history}:
        assert event in screen, event
    assert "…" not in screen


def test_show_says_why_contacts_were_left_out_and_history_says_what_happened(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "told.db")
    contacts = [
        Contact("c1", "+14155550101", {"region": "west", "age": 30}),
        Contact("c2", "+14155550102", {"region": "east", "age": 30}),
        Contact("c3", None, {"region": "west", "age": 30}),
        Contact("c4", "+14155550104", {"region": "west", "age": 30}),
    ]
    cxone = FakeCXoneGateway(
        campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})],
        contacts=contacts,
        suppressed=["+1 415 555 0104"],
    )
    example = load_spec(EXAMPLE_SPEC).to_dict()
    spec = CampaignSpec.from_dict(
        {**example, "constraints": {**example["constraints"], "min_eligible": 1}}
    )
    with SQLiteJournal(db) as journal:
        c = Engine(journal, cxone).draft(spec).validate().filter()
        cxone.edit_remotely("cmp-1001", schedule="weekdays")
        c.activate().rebase().activate()
        assert c.state == "active"
        cid = c.id
    code, out, _ = invoke(db, "show", cid)
    assert code == 0
    assert "left out: filter 1, phone_missing 1, suppressed 1" in out
    code, out, _ = invoke(db, "show", cid, "--json")
    assert json.loads(out)["excluded"] == {"filter": 1, "phone_missing": 1, "suppressed": 1}
    code, out, _ = invoke(db, "history", cid)
    assert "1 of 4 eligible" in out
    assert "CXone at v5, expected v4" in out
    assert "merged onto CXone v5" in out


def test_show_warns_of_a_filter_field_no_contact_has_and_history_counts_retries(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "absent.db")
    no_age = [Contact(f"c{i}", f"+1415555010{i}", {"region": "west"}) for i in range(3)]
    cxone = FakeCXoneGateway(
        campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})], contacts=no_age
    )
    example = load_spec(EXAMPLE_SPEC).to_dict()
    spec = CampaignSpec.from_dict(
        {**example, "constraints": {**example["constraints"], "min_eligible": 0}}
    )
    with SQLiteJournal(db) as journal:
        cid = Engine(journal, cxone).draft(spec).validate().filter().id
    code, out, _ = invoke(db, "show", cid)
    assert code == 0
    assert "no contact has the field 'age' a filter rule names" in out
    assert "'region'" not in out
    code, out, _ = invoke(db, "show", cid, "--json")
    assert json.loads(out)["fields_absent"] == ["age"]
    # Retries are the gateway's to count: the outcome's detail says how many there were.
    passed = ValidationPassed("s1", 0, 4, {}, 12.0, retries=2)
    assert detail(passed) == "2 retries"
    assert detail(attrs.evolve(passed, retries=1)) == "1 retry"
    assert detail(attrs.evolve(passed, retries=None)) == detail(attrs.evolve(passed, retries=0))
    failed = FilterFailed("s2", "CXone answered 503", True, 30.0, retries=4)
    assert detail(failed) == "CXone answered 503 (4 retries)"


def test_metrics_names_an_activation_outcome_that_is_not_json(tmp_path: Path) -> None:
    db, _ = _journal_with_history(tmp_path)
    conn = sqlite3.connect(db)
    (seq,) = conn.execute("SELECT seq FROM events WHERE type = 'activation.succeeded'").fetchone()
    conn.execute("UPDATE events SET data = '{\"latency_ms\": ' WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    code, out, err = invoke(db, "metrics", "--json")
    assert code == 3, out
    assert f"seq {seq}: the activation outcome's payload is not JSON" in err
    assert invoke(db, "audit", "verify")[0] == 3


def test_verify_shows_both_passes_on_a_terminal_and_nothing_elsewhere() -> None:
    screen = io.StringIO()
    with verifying(Console(file=screen, force_terminal=True, width=100), 23) as progress:
        assert progress is not None
        progress("chain", 23)
        progress("campaigns", 14)
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue())
    assert "hash chain walked" in shown
    assert "23/23 events" in shown
    assert "campaigns replayed" in shown
    assert "14/23 events" in shown
    piped = io.StringIO()
    with verifying(Console(file=piped, force_terminal=False), 23) as progress:
        assert progress is None, "a pipe or a file gets the verdict alone"
    assert piped.getvalue() == ""
