"""The step commands against the simulator on loopback: validate, filter, activate one at a
time; a conflict settled with rebase, one with resolve; --debug's traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.cli import cli
from adapters.simulator import Dataset, Simulator, SimulatorServer
from tests.conftest import EXAMPLE_SPEC

Cli = Callable[..., Result]


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(Dataset(contacts=1000))


@pytest.fixture
def cx(tmp_path: Path, simulator: Simulator) -> Iterator[Cli]:
    with SimulatorServer(simulator) as server:
        env = {
            "CXONE_BASE_URL": server.base_url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }

        def invoke(*args: str) -> Result:
            return CliRunner().invoke(cli, ["--db", str(tmp_path / "j.db"), *args], env=env)

        yield invoke


def test_one_step_at_a_time(cx: Cli) -> None:
    campaign_id = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    for command, state in [("validate", "validated"), ("filter", "filtered")]:
        done = cx(command, campaign_id)
        assert done.exit_code == 0, done.stderr
        assert f": {state} (v" in done.stdout
    again = cx("filter", campaign_id)
    assert again.exit_code == 2  # a command the state does not allow is a usage error
    assert "is filtered: cannot filter; allowed: activate, revise, cancel" in again.stderr
    assert cx("activate", campaign_id).exit_code == 0
    shown = json.loads(cx("show", campaign_id, "--json").stdout)
    assert (shown["state"], shown["active_version"], shown["webhook_id"]) == ("active", 5, None)


def test_a_conflict_rebased_by_hand(cx: Cli, simulator: Simulator) -> None:
    campaign_id = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    cx("validate", campaign_id)
    cx("filter", campaign_id)
    simulator.faults.add("put_campaign", "concurrent_edit", field="schedule")
    conflicted = cx("activate", campaign_id)
    assert conflicted.exit_code == 0
    assert ": conflicted (v" in conflicted.stdout
    rebased = cx("rebase", campaign_id)
    assert ": filtered (v" in rebased.stdout
    assert cx("activate", campaign_id).exit_code == 0
    assert simulator.campaigns["cmp-1001"]["schedule"] == "edited elsewhere"
    assert cx("audit", "verify").exit_code == 0


def test_a_conflict_no_merge_can_settle_is_resolved(cx: Cli, simulator: Simulator) -> None:
    simulator.faults.add("put_campaign", "concurrent_edit", field="name")
    ran = cx("run", str(EXAMPLE_SPEC))
    assert ran.exit_code == 1, ran.stdout
    assert "conflict at name" in ran.stdout
    assert "cxpreview resolve" in ran.stdout
    campaign_id = ran.stdout.split()[1]
    resolved = cx("resolve", campaign_id, "--take-theirs")
    assert resolved.exit_code == 0, resolved.stderr
    assert ": active (v" in resolved.stdout
    assert simulator.campaigns["cmp-1001"]["name"].endswith("(edited)")
    assert cx("resolve", campaign_id).exit_code == 2


def test_debug_shows_the_traceback(cx: Cli) -> None:
    cx("draft", str(EXAMPLE_SPEC))  # a journal, without the campaign asked for
    quiet = cx("show", "nope")
    assert quiet.exit_code == 2
    assert quiet.stderr.startswith("error: no campaign 'nope' in ")
    assert "SQLiteJournal(" not in quiet.stderr
    assert quiet.stderr.count("\n") == 1
    assert "Traceback" not in quiet.stderr
    loud = cx("--debug", "show", "nope")
    assert loud.exception is not None
    assert type(loud.exception).__name__ == "CampaignNotFound"


def test_plan_shows_what_an_activation_would_change_and_changes_nothing(
    cx: Cli, simulator: Simulator, tmp_path: Path
) -> None:
    planned = cx("plan", str(EXAMPLE_SPEC))
    assert planned.exit_code == 0, planned.stderr
    assert "CXone is at version 4; the PUT would send If-Match: 4" in planned.stdout
    assert "agentDirectives" in planned.stdout
    assert not (tmp_path / "j.db").exists(), "planning a spec opens no journal"
    as_json = json.loads(cx("plan", str(EXAMPLE_SPEC), "--json").stdout)
    assert (as_json["remote_version"], as_json["if_match"], as_json["empty"]) == (4, 4, False)
    assert {c["path"] for c in as_json["changes"]} >= {"name", "dialingRules.maxAttempts"}
    campaign_id = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    cx("validate", campaign_id)
    simulator.edit("cmp-1001", schedule="weekends")
    before = cx("history", campaign_id, "--json").stdout
    stale = json.loads(cx("plan", campaign_id, "--json").stdout)
    assert (stale["campaign_id"], stale["if_match"], stale["remote_version"]) == (campaign_id, 4, 5)
    assert stale["stale"] is True
    assert "would be answered 412" in cx("plan", campaign_id).stdout
    assert cx("history", campaign_id, "--json").stdout == before
    assert simulator.applied_puts() == []
    assert cx("run", campaign_id).exit_code == 0
    done = cx("plan", campaign_id)
    assert "no change: CXone holds this configuration already" in done.stdout


def test_an_activation_in_doubt_is_settled_by_recover(cx: Cli, simulator: Simulator) -> None:
    campaign_id = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    cx("validate", campaign_id)
    cx("filter", campaign_id)
    simulator.faults.add("put_campaign", "status", status=500, times=1)
    doubt = cx("activate", campaign_id)
    assert doubt.exit_code == 1
    assert "in doubt" in doubt.stderr
    assert json.loads(cx("show", campaign_id, "--json").stdout)["pending"] is not None
    settled = cx("recover", campaign_id)
    assert settled.exit_code == 0, settled.stderr
    assert ": active (v" in settled.stdout
    shown = json.loads(cx("show", campaign_id, "--json").stdout)
    assert (shown["state"], shown["pending"]) == ("active", None)
    assert len(simulator.applied_puts()) == 1
    nothing_open = cx("recover", campaign_id)
    assert nothing_open.exit_code == 0
    assert len(simulator.applied_puts()) == 1
