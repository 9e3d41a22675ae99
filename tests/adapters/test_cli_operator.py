"""What an operator types, taken as meant: an id's start or the CXone campaign id for a
campaign id, the global options after the command, a spec file that is not there, and a race
between two runs said in the operator's terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.simulator import FakeCXoneGateway
from engine import CampaignMoved, CampaignNotFound, CampaignSpec, Engine, load_spec
from events import RunRequested
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, for_campaign


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def journal(tmp_path: Path) -> str:
    db = str(tmp_path / "j.db")
    spec = load_spec(EXAMPLE_SPEC)
    with SQLiteJournal(db) as j:
        engine = Engine(j, ids=iter(["abcd1111", "c1", "abcd2222", "c2"]).__next__)
        engine.draft(spec)
        engine.draft(for_campaign(spec, "cmp-1002"))
    return db


def test_a_campaign_is_named_by_its_id_its_start_or_its_cxone_campaign(journal: str) -> None:
    for ref in ("abcd1111", "abcd1", "cmp-1001"):
        code, out, err = invoke("--db", journal, "show", ref, "--json")
        assert code == 0, err
        assert json.loads(out)["id"] == "abcd1111"
    assert json.loads(invoke("--db", journal, "show", "cmp-1002", "--json")[1])["id"] == "abcd2222"


def test_an_ambiguous_or_unknown_reference_names_what_it_found(journal: str) -> None:
    code, _, err = invoke("--db", journal, "show", "abcd")
    assert code == 2
    assert "'abcd' starts 2 campaign ids" in err
    assert "abcd1111" in err
    assert "give more of it" in err
    code, _, err = invoke("--db", journal, "history", "zzzz")
    assert code == 2
    assert "no campaign 'zzzz' in " in err
    assert "SQLiteJournal(" not in err
    assert "stream" not in err


def test_global_options_are_taken_after_the_command_too(journal: str) -> None:
    before = invoke("--db", journal, "status", "--json")
    after = invoke("status", "--json", "--db", journal)
    assert before[0] == after[0] == 0
    assert json.loads(before[1]) == json.loads(after[1])
    assert invoke("show", "abcd1", f"--db={journal}", "--debug")[0] == 0


def test_a_spec_file_that_is_not_there_is_said_so(tmp_path: Path) -> None:
    code, _, err = invoke("--db", str(tmp_path / "j.db"), "run", "nofile.toml")
    assert code == 2
    assert "nofile.toml" in err
    assert "no such file" in err
    assert "no campaign" not in err


def test_two_writers_racing_are_told_in_the_operators_terms(
    tmp_path: Path, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    with SQLiteJournal(tmp_path / "j.db") as j:
        first, second = Engine(j, gateway), Engine(j, gateway)
        cid = first.draft(spec).id
        stale = second.steps.read(cid)
        first.validate(cid)
        with pytest.raises(CampaignMoved, match="changed by another process") as caught:
            second.steps.append(stale, [RunRequested()], "c")
        assert caught.value.exit_code == 4
        assert "stream" not in str(caught.value)


def test_find_refuses_a_prefix_shorter_than_four(tmp_path: Path, spec: CampaignSpec) -> None:
    with SQLiteJournal(tmp_path / "j.db") as j:
        engine = Engine(j, ids=iter(["abcdef", "x1", "x2"]).__next__)
        engine.draft(spec)
        assert engine.find("abcd") == "abcdef"
        with pytest.raises(CampaignNotFound, match="4 characters at least"):
            engine.find("abc")
