"""Every command that reports a result says it as JSON too; errors join --log-json's stream;
cancel keeps its reason; status filters by state; the journal names who did it; a supervisor
logs its start, its passes and its stop."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.cli import cli
from adapters.cli.bootstrap import default_actor
from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, Supervisor, load_spec
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, spec_file_for

Cli = Callable[..., Result]


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(Dataset(contacts=300))


@pytest.fixture
def server(simulator: Simulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(simulator) as served:
        yield served


@pytest.fixture
def cx(tmp_path: Path, server: SimulatorServer) -> Cli:
    env = {
        "CXONE_BASE_URL": server.base_url,
        "CXONE_CLIENT_ID": "cxpreview",
        "CXONE_CLIENT_SECRET": "simulated-secret",
        "CXPREVIEW_ACTOR": None,
    }

    def invoke(*args: str, **extra: str) -> Result:
        return CliRunner().invoke(
            cli, ["--db", str(tmp_path / "j.db"), *args], env={**env, **extra}
        )

    return invoke


def test_every_result_can_be_json(cx: Cli, tmp_path: Path) -> None:
    drafted = json.loads(cx("draft", str(EXAMPLE_SPEC), "--json").stdout)
    assert drafted["state"] == "draft"
    cid = drafted["id"]
    assert json.loads(cx("validate", cid, "--json").stdout)["state"] == "validated"
    assert json.loads(cx("filter", cid, "--json").stdout)["eligible"] > 0
    revised = json.loads(cx("revise", cid, str(EXAMPLE_SPEC), "--json").stdout)
    assert revised["state"] == "draft"
    ran = cx("run", cid, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["state"] == "active"
    other = spec_file_for(tmp_path, "cmp-1002")
    ran = cx("run", str(other), "--json")
    assert json.loads(ran.stdout)["state"] == "active"
    assert "campaign " in ran.stderr  # the id line, kept off the JSON
    supervised = cx("supervise", "--once", "--json")
    assert supervised.exit_code == 0, supervised.stderr
    assert json.loads(supervised.stdout) == []
    exported = cx("audit", "export")
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported.stdout)
    imported = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "copy.db"), "audit", "import", str(dump), "--json"]
    )
    assert json.loads(imported.stdout)["imported"] > 10


def test_cancel_keeps_its_reason_and_status_filters_by_state(cx: Cli, tmp_path: Path) -> None:
    first = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    second = cx("draft", str(spec_file_for(tmp_path, "cmp-1002"))).stdout.strip()
    cancelled = json.loads(cx("cancel", first, "--reason", "replaced", "--json").stdout)
    assert cancelled["state"] == "cancelled"
    history = json.loads(cx("history", first, "--json").stdout)
    assert history[-1]["event"]["reason"] == "replaced"
    drafts = json.loads(cx("status", "--json", "--state", "draft").stdout)
    assert [row["id"] for row in drafts] == [second]
    both = json.loads(cx("status", "--json", "--state", "draft", "--state", "cancelled").stdout)
    assert {row["id"] for row in both} == {first, second}
    assert "no active campaigns" in cx("status", "--state", "active").stdout


def test_errors_join_the_json_log_stream(cx: Cli) -> None:
    cx("draft", str(EXAMPLE_SPEC))
    failed = cx("--log-json", "show", "nothing-here")
    assert failed.exit_code == 2
    lines = [json.loads(line) for line in failed.stderr.splitlines()]
    assert lines[-1]["error"] == "CampaignNotFound"
    assert lines[-1]["exit_code"] == 2
    assert "nothing-here" in lines[-1]["message"]


def test_the_journal_names_who_did_it(cx: Cli, tmp_path: Path) -> None:
    cid = cx("draft", str(EXAMPLE_SPEC)).stdout.strip()
    meta = json.loads(cx("history", cid, "--json").stdout)[0]["meta"]
    assert meta["actor"] == default_actor()
    assert "@" in meta["actor"]
    other = str(spec_file_for(tmp_path, "cmp-1003"))
    cid = cx("draft", other, CXPREVIEW_ACTOR="ops-team").stdout
    assert json.loads(cx("history", cid.strip(), "--json").stdout)[0]["meta"]["actor"] == "ops-team"
    by_flag = cx("--actor", "alice", "cancel", cid.strip())
    assert by_flag.exit_code == 0
    assert json.loads(cx("history", cid.strip(), "--json").stdout)[-1]["meta"]["actor"] == "alice"


def test_a_supervisor_logs_its_start_its_passes_and_its_stop(
    tmp_path: Path, server: SimulatorServer, simulator: Simulator
) -> None:
    records: list[logging.LogRecord] = []
    credentials = Credentials(server.base_url, simulator.client_id, Secret("simulated-secret"))
    with SQLiteJournal(tmp_path / "s.db") as journal, HttpCXoneGateway(credentials) as gateway:
        engine = Engine(journal, gateway)
        engine.draft(load_spec(EXAMPLE_SPEC), run=True)
        supervisor = Supervisor(engine, "sup-1")

        class Watch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)
                if getattr(record, "decision", None) == "pass":
                    supervisor.stop.set()  # one pass that did something is enough

        watch = Watch()
        log = logging.getLogger("cxpreview.supervisor")
        log.addHandler(watch)
        log.setLevel(logging.INFO)
        try:
            runner = threading.Thread(target=supervisor.run_forever, args=(0.05,))
            runner.start()
            runner.join(timeout=60)
        finally:
            log.removeHandler(watch)
        assert not runner.is_alive()
    decisions = [getattr(r, "decision", None) for r in records]
    assert decisions[0] == "start"
    assert "pass" in decisions
    assert decisions[-1] == "stop"
    assert "1 finished" in next(r.getMessage() for r in records if r.decision == "pass")  # type: ignore[attr-defined]


def test_a_run_shows_what_it_is_waiting_for(cx: Cli, simulator: Simulator) -> None:
    simulator.faults.add("token", "rate_limit", times=1)  # CXone says wait, before anything
    ran = cx("run", str(EXAMPLE_SPEC))
    assert ran.exit_code == 0, ran.stderr
    assert re.search(
        r"waiting on CXone: token: .*429.*retrying in [\d.]+s \(attempt 2\)", ran.stderr
    )
    assert "filtering contacts: 300 judged" in ran.stderr
    assert "0/0" not in ran.stderr
    order = [
        ran.stderr.index(s) for s in ("waiting on CXone", "validating", "filtering", "activating")
    ]
    assert order == sorted(order)
