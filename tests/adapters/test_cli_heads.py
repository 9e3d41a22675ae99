"""The campaigns' heads at the command line: built once on a journal from before them, read
by status (with --state, --since, --limit), checked by audit verify, rebuilt on demand."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.cli.kit import stream_json
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC
from tests.unit.journal.test_golden import copy_of


def invoke(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_journal_from_before_heads_gets_them_once_and_status_reads_them(
    tmp_path: Path,
) -> None:
    db = copy_of("journal-v3.db", tmp_path)
    code, out, err = invoke(db, "status", "--json")
    assert code == 0, err
    assert "built" not in err, "status only reads: it folds the events of a journal without heads"
    assert "no campaign heads yet" in err, "and says so, and what makes them"
    assert "rebuild-heads" in err
    by_folding = json.loads(out)
    assert [(c["id"], c["state"], c["unfinished"]) for c in by_folding] == [
        ("gold1", "active", False),
        ("gold21", "activating", True),
        ("gold32", "cancelled", False),
    ]
    code, out, err = invoke(db, "draft", str(EXAMPLE_SPEC), "--json")  # the first write
    assert code == 0, err
    assert "built the heads of 3 campaigns" in err
    new = json.loads(out)["id"]
    code, out, err = invoke(db, "status", "--json")
    assert "built" not in err, "once"
    assert "no campaign heads" not in err, "read from the heads now"
    assert json.loads(out)[:3] == by_folding, "read from the heads, the same"
    _, out, _ = invoke(db, "status", "--json", "--state", "cancelled", "--state", "active")
    assert [c["id"] for c in json.loads(out)] == ["gold1", "gold32"]
    _, out, _ = invoke(db, "status", "--json", "--limit", "2")
    assert [c["id"] for c in json.loads(out)] == ["gold32", new], "the last two drafted"
    _, out, _ = invoke(db, "status", "--json", "--since", "2026-01-01T00:02:00Z")
    assert [c["id"] for c in json.loads(out)] == ["gold32", new]
    _, out, _ = invoke(db, "status", "--json", "--since", "2026-01-01T01:02:00+01:00")
    assert [c["id"] for c in json.loads(out)] == ["gold32", new], "an instant, in any zone"
    code, _, err = invoke(db, "status", "--since", "yesterday")
    assert code == 2
    assert "--since" in err
    assert "'yesterday' is not an ISO-8601 time" in err


def test_a_head_changed_by_hand_is_named_by_verify_and_rebuilt(tmp_path: Path) -> None:
    db = copy_of("journal-v1.db", tmp_path)
    code, out, err = invoke(db, "audit", "rebuild-heads", "--json")
    assert code == 0, err
    assert json.loads(out) == {"campaigns": 3}
    assert invoke(db, "audit", "verify")[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE heads SET state = 'active', unfinished = 0 WHERE stream_id = 'gold21'")
    conn.close()
    code, out, err = invoke(db, "audit", "verify")
    assert code == 3
    said = out + err
    assert "seq 21" in said
    assert "campaign gold21's head says state 'active', its events give 'activating'" in said
    assert "cxpreview audit rebuild-heads" in said
    assert invoke(db, "audit", "rebuild-heads")[0] == 0
    assert invoke(db, "audit", "verify")[0] == 0
    with SQLiteJournal(db) as journal:
        assert [h.stream_id for h in journal.heads(unfinished=True)] == ["gold21"]


def test_the_count_of_campaigns_by_state_follows_the_heads(tmp_path: Path) -> None:
    db = copy_of("journal-v3.db", tmp_path)
    assert invoke(db, "audit", "rebuild-heads")[0] == 0
    with SQLiteJournal(db) as journal:
        assert journal.census() == {"active": 1, "activating": 1, "cancelled": 1}
    code, out, err = invoke(db, "draft", str(EXAMPLE_SPEC))
    assert code == 0, err
    with SQLiteJournal(db) as journal:
        assert journal.census() == {"active": 1, "activating": 1, "cancelled": 1, "draft": 1}
    assert invoke(db, "cancel", out.strip(), "--reason", "not needed")[0] == 0
    with SQLiteJournal(db) as journal:
        assert journal.census() == {"active": 1, "activating": 1, "cancelled": 2}
    assert invoke(db, "audit", "verify")[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE census SET n = 5 WHERE state = 'active'")
    conn.close()
    code, out, _ = invoke(db, "audit", "verify")
    assert code == 3
    assert "the count of campaigns by state says" in out


def test_a_streamed_json_array_is_the_whole_one_item_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for items in ([], [{"b": 1, "a": [1, 2]}], [{"x": "y"}, {"z": None}, {"n": {"m": 1}}]):
        stream_json(iter(items))
        text = capsys.readouterr().out
        assert json.loads(text) == items
        assert len(text.splitlines()) == (1 if not items else len(items) + 2)
