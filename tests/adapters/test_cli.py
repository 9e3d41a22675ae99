"""The CLI, through click's runner and once as a real console script."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteCampaign, load_spec
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, make_contacts, spec_file_for
from tests.hardening import report

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    db = str(tmp_path / "j.db")

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["--db", db, *args])
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_every_command_has_help_with_an_example() -> None:
    commands = list(cli.commands.items())
    while commands:
        name, command = commands.pop()
        assert command.help, name
        assert "Example: cxpreview" in command.help, name
        commands += [(f"{name} {n}", c) for n, c in getattr(command, "commands", {}).items()]


def test_check_draft_status_verify(run: Run) -> None:
    code, out, _ = run("check", str(EXAMPLE_SPEC))
    assert (code, out) == (0, f"{EXAMPLE_SPEC}: ok ('Spring renewals - west', 2 filter rules)\n")
    code, campaign_id, _ = run("draft", str(EXAMPLE_SPEC))
    assert code == 0
    code, out, _ = run("status")
    assert code == 0
    header, _, row = out.splitlines()
    assert header.split() == ["id", "name", "state", "version", "last", "event", "age", "note"]
    assert row.split() == [
        campaign_id.strip(),
        "Spring",
        "renewals",
        "-",
        "west",
        "draft",
        "1",
        "campaign.drafted",
        "0s",
    ]
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert out.startswith("ok: 1 events, chain intact")


def test_a_bad_spec_exits_2_listing_every_problem(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE_SPEC.read_text()
        .replace("max_attempts = 3", "max_attempts = 0")
        .replace("agent_count = 5", "agent_count = -1")
    )
    code, out, err = run("check", str(bad))
    assert code == 2
    assert out == ""
    assert "2 problems" in err
    assert "dialing_rules.max_attempts" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_journal_exits_3(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    result = CliRunner().invoke(cli, ["--db", str(notes), "status"])
    assert result.exit_code == 3
    assert "is not a cxpreview journal" in result.stderr


def test_a_damaged_journal_fails_verify_naming_the_seq(run: Run, tmp_path: Path) -> None:
    run("draft", str(EXAMPLE_SPEC))
    run("draft", str(spec_file_for(tmp_path, "cmp-1002")))
    conn = sqlite3.connect(tmp_path / "j.db")
    conn.execute("UPDATE events SET data = replace(data, 'Spring', 'Autumn') WHERE seq = 2")
    conn.commit()
    conn.close()
    code, out, _ = run("audit", "verify")
    assert code == 3
    assert out.startswith("seq 2: hash does not match")


def test_diagram_prints_mermaid(run: Run) -> None:
    code, out, _ = run("diagram")
    assert code == 0
    assert "stateDiagram-v2" in out
    assert "activating --> conflicted: conflict" in out


def test_the_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("cxpreview")
    drafted = subprocess.run(
        [str(script), "--db", str(tmp_path / "j.db"), "draft", str(EXAMPLE_SPEC)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert drafted.returncode == 0, drafted.stderr
    done = subprocess.run(
        [str(script), "--db", str(tmp_path / "j.db"), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, done.stdout)
    assert done.stdout.startswith("ok: 1 events")


READING = [
    ["status"],
    ["status", "--json"],
    ["show", "abc"],
    ["history", "abc"],
    ["metrics"],
    ["diagram", "--counts"],
    ["audit", "verify"],
    ["audit", "replay", "abc"],
    ["audit", "export"],
    ["supervise", "--once"],
    ["validate", "abc"],
    ["cancel", "abc"],
]


@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_command_that_only_reads_never_creates_a_journal(
    run: Run, tmp_path: Path, args: list[str]
) -> None:
    code, _, err = run(*args)
    assert code == 3, err
    assert "no journal at" in err
    assert err.count("\n") == 1, "one line"
    assert not (tmp_path / "j.db").exists()
    report.record("missing, odd or backwards journals", handled=True)


def test_a_fifo_or_a_dangling_link_is_refused_with_one_line(run: Run, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "j.db")
    code, _, err = run("status")
    assert (code, err.count("\n")) == (3, 1)
    assert "not a regular file" in err
    (tmp_path / "j.db").unlink()
    (tmp_path / "j.db").symlink_to(tmp_path / "nowhere.db")
    code, _, err = run("draft", str(EXAMPLE_SPEC))
    assert (code, err.count("\n")) == (3, 1)
    assert "symbolic link to nothing" in err
    assert not (tmp_path / "nowhere.db").exists()
    report.record("missing, odd or backwards journals", handled=True)


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "1e300", "soon"])
def test_a_bad_number_of_seconds_is_a_usage_error(run: Run, value: str) -> None:
    code, _, err = run("supervise", "--once", "--lease-ttl", value)
    assert code == 2
    assert "--lease-ttl" in err
    assert "Traceback" not in err


def test_resolve_takes_one_side(run: Run) -> None:
    code, _, err = run("resolve", "abc", "--take-ours", "--take-theirs")
    assert code == 2
    assert "choose one of --take-ours or --take-theirs" in err


def _journal_with_history(tmp_path: Path) -> tuple[str, str]:
    db = str(tmp_path / "full.db")
    with SQLiteJournal(db) as journal:
        engine = Engine(
            journal,
            FakeCXoneGateway(
                campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})],
                contacts=make_contacts(60),
            ),
        )
        campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
        assert campaign.state == "active"
    return db, campaign.id


def test_export_and_import_verify_identically(tmp_path: Path) -> None:
    db, _ = _journal_with_history(tmp_path)
    runner = CliRunner()
    exported = runner.invoke(cli, ["--db", db, "audit", "export"])
    assert exported.exit_code == 0
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported.stdout)
    copy = str(tmp_path / "copy.db")
    imported = runner.invoke(cli, ["--db", copy, "audit", "import", str(dump)])
    assert (imported.exit_code, imported.stdout) == (0, "imported 10 events\n")
    a = runner.invoke(cli, ["--db", db, "audit", "verify"]).stdout
    b = runner.invoke(cli, ["--db", copy, "audit", "verify"]).stdout
    assert a == b
    assert "anchor: 10:" in a
    anchor = a.split("anchor: ")[1].strip()
    assert runner.invoke(cli, ["--db", copy, "audit", "verify", "--anchor", anchor]).exit_code == 0
    dump.write_text(exported.stdout.replace("Spring", "Autumn", 1))
    bad = runner.invoke(cli, ["--db", str(tmp_path / "bad.db"), "audit", "import", str(dump)])
    assert bad.exit_code == 3
    assert "seq 1: hash does not match" in bad.stderr


def test_csv_metrics_replay_and_counts(tmp_path: Path) -> None:
    db, campaign_id = _journal_with_history(tmp_path)
    runner = CliRunner()
    rows = list(
        csv.DictReader(
            io.StringIO(
                runner.invoke(cli, ["--db", db, "audit", "export", "--format", "csv"]).stdout
            )
        )
    )
    assert rows[0]["action"] == "campaign.drafted"
    assert [r["successRate"] for r in rows if r["action"] == "activation.succeeded"] == ["1.0"]
    metrics = json.loads(runner.invoke(cli, ["--db", db, "metrics", "--json"]).stdout)
    assert (metrics["succeeded"], metrics["success_rate"], metrics["by_state"]) == (
        1,
        1.0,
        {"active": 1},
    )
    shown = runner.invoke(cli, ["--db", db, "metrics"]).stdout
    assert re.search(r"success rate per attempt +100.0%", shown)
    assert re.search(r"success rate per campaign \(1 tried\) +100.0%", shown)
    replayed = runner.invoke(cli, ["--db", db, "audit", "replay", campaign_id, "--as-of", "4"])
    assert ": validated (v4)" in replayed.stdout
    assert (
        "draft --> validated: validate (1)"
        in runner.invoke(cli, ["--db", db, "diagram", "--counts"]).stdout
    )
    late = runner.invoke(cli, ["--db", db, "audit", "replay", campaign_id, "--as-of", "later"])
    assert late.exit_code == 2


def test_reading_commands_speak_json(tmp_path: Path) -> None:
    db, campaign_id = _journal_with_history(tmp_path)
    runner = CliRunner()
    status = json.loads(runner.invoke(cli, ["--db", db, "status", "--json"]).stdout)
    assert status == [
        {
            "id": campaign_id,
            "name": "Spring renewals - west",
            "state": "active",
            "version": 10,
            "cxone_campaign_id": "cmp-1001",
            "pending": None,
            "unfinished": False,
            "last_error": None,
            "last_event": "webhook.registered",
            "last_event_at": status[0]["last_event_at"],
        }
    ]
    assert status[0]["last_event_at"].endswith("Z")
    history = json.loads(runner.invoke(cli, ["--db", db, "history", campaign_id, "--json"]).stdout)
    assert [h["type"] for h in history][:2] == ["campaign.drafted", "run.requested"]
    shown = json.loads(runner.invoke(cli, ["--db", db, "show", campaign_id, "--json"]).stdout)
    assert (shown["state"], shown["active_version"]) == ("active", 5)


def test_step_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "j.db")
    runner = CliRunner()
    campaign_id = runner.invoke(cli, ["--db", db, "draft", str(EXAMPLE_SPEC)]).stdout.strip()
    refused = runner.invoke(
        cli,
        ["--db", db, "activate", campaign_id],
        env={
            "CXONE_BASE_URL": "http://127.0.0.1:9",
            "CXONE_CLIENT_ID": "x",
            "CXONE_CLIENT_SECRET": "y",
        },
    )
    assert refused.exit_code == 2  # a command the state does not allow is a usage error
    assert "is draft: cannot activate; allowed: validate" in refused.stderr
    cancelled = runner.invoke(cli, ["--db", db, "cancel", campaign_id])
    assert ": cancelled" in cancelled.stdout


def test_gateway_settings_from_flags_and_their_safety(tmp_path: Path) -> None:
    db = str(tmp_path / "j.db")
    SQLiteJournal(db).close()
    runner = CliRunner()
    env = {"CXONE_BASE_URL": None, "CXONE_CLIENT_ID": None, "CXONE_CLIENT_SECRET": "s"}
    remote = ["--base-url", "http://cxone.example.com", "--client-id", "x"]
    refused = runner.invoke(cli, ["--db", db, *remote, "validate", "nope"], env=env)
    assert refused.exit_code == 2
    assert "refusing http://cxone.example.com" in refused.stderr
    allowed = runner.invoke(cli, ["--db", db, *remote, "--insecure", "validate", "nope"], env=env)
    assert allowed.exit_code == 2
    assert "no campaign 'nope'" in allowed.stderr
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    secret_file.chmod(0o640)
    loose = runner.invoke(
        cli,
        ["--db", db, "--client-secret-file", str(secret_file), *remote, "validate", "nope"],
        env=env,
    )
    assert loose.exit_code == 2
    assert "readable by group or others (mode 640); chmod 600" in loose.stderr
    assert "from-a-file" not in loose.stderr


def test_check_speaks_json(run: Run, tmp_path: Path) -> None:
    code, out, _ = run("check", str(EXAMPLE_SPEC), "--json")
    assert (code, json.loads(out)) == (
        0,
        {"ok": True, "name": "Spring renewals - west", "filter_rules": 2},
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE_SPEC.read_text().replace("max_attempts = 3", "max_attempts = 0"))
    code, out, _ = run("check", str(bad), "--json")
    verdict = json.loads(out)
    assert code == 2
    assert verdict["ok"] is False
    assert [(p["path"], p["line"]) for p in verdict["problems"]] == [
        ("dialing_rules.max_attempts", 24)
    ]


def test_draft_with_a_command_id_is_idempotent(run: Run) -> None:
    first = run("draft", str(EXAMPLE_SPEC), "--command-id", "ticket-1")
    again = run("draft", str(EXAMPLE_SPEC), "--command-id", "ticket-1")
    assert first[0] == again[0] == 0
    assert first[1] == again[1]
