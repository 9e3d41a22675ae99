"""The CLI as a user runs it: the simulator served by one process, cxpreview run in another."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, EngineError, load_spec
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC

CXPREVIEW = str(Path(sys.executable).with_name("cxpreview"))
pytestmark = pytest.mark.slow


def test_simulator_and_run_as_separate_processes(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [CXPREVIEW, "simulator", "--port", "0", "--contacts", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        env = {
            **os.environ,
            "CXONE_BASE_URL": url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }
        db = str(tmp_path / "j.db")
        done = subprocess.run(
            [CXPREVIEW, "--db", db, "run", str(EXAMPLE_SPEC)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert ": active (v10)" in done.stdout
        assert re.search(r"filtering contacts: 3,000 judged, [\d,]+/s", done.stderr)
        assert "validating: asking CXone" in done.stderr
        assert "0/0" not in done.stderr
        campaign_id = done.stdout.split()[1]
        history = subprocess.run(
            [CXPREVIEW, "--db", db, "history", campaign_id],
            capture_output=True,
            text=True,
            check=True,
        )
        assert re.search(r"activation\.succeeded +activating -> active", history.stdout)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0, "SIGTERM stops the simulator cleanly"


def test_run_without_settings_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    done = subprocess.run(
        [CXPREVIEW, "--db", str(tmp_path / "j.db"), "run", str(EXAMPLE_SPEC)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert "CXONE_BASE_URL, CXONE_CLIENT_ID, CXONE_CLIENT_SECRET" in done.stderr


def test_the_demo(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    result = CliRunner().invoke(cli, ["--db", db, "demo", "--contacts", "3000"])
    assert result.exit_code == 0, result.output
    assert re.search(r"webhook\.registered +active +[\d.]+ ms +demo", result.output)
    assert re.search(r"activation\.conflicted +activating -> conflicted", result.output)
    assert re.search(r"filtering contacts: 3,000 judged", result.output)
    assert "rebasing: reading CXone's campaign to merge" in result.output
    assert "chain intact" in result.output
    assert f"cxpreview --db {db} status" in result.output


def test_no_secret_or_token_reaches_the_journal_logs_or_errors(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = "s3cr3t-Zq81-never-to-be-seen"
    caplog.set_level(logging.DEBUG)
    sim = Simulator(Dataset(contacts=2000), client_secret=secret)
    sim.faults.add("contacts", "expire_tokens", after=3).add("campaign", "rate_limit")
    errors: list[str] = []
    db = tmp_path / "j.db"
    with SimulatorServer(sim) as server:
        credentials = Credentials(server.base_url, "cxpreview", Secret(secret))
        with HttpCXoneGateway(credentials) as gateway, SQLiteJournal(db) as journal:
            engine = Engine(journal, gateway)
            campaign = engine.draft(load_spec(EXAMPLE_SPEC)).run()
            assert campaign.state == "active"
            errors += [
                repr(gateway),
                repr(gateway.credentials),
                repr(gateway.tokens),
                str(gateway.credentials),
                repr(campaign),
            ]
            wrong = HttpCXoneGateway(
                Credentials(server.base_url, "cxpreview", Secret(secret + "x"))
            )
            with pytest.raises(EngineError) as caught:
                wrong.read_campaign("cmp-1001")
            errors.append(str(caught.value))
            wrong.close()
    assert len(sim.issued_tokens) >= 2, "the revoked token was replaced"
    out, err = capfd.readouterr()
    haystacks = {
        "journal": b"".join(p.read_bytes() for p in tmp_path.iterdir()),
        "logs": "\n".join(r.getMessage() for r in caplog.records).encode(),
        "output": (out + err).encode(),
        "errors and reprs": "\n".join(errors).encode(),
    }
    for name, haystack in haystacks.items():
        for needle in [secret, *sim.issued_tokens]:
            assert needle.encode() not in haystack, f"{name} holds a secret or a token"


def test_log_json_is_one_object_per_line_and_holds_no_secret(tmp_path: Path) -> None:
    secret = "Kx-91-json-logs-never-see-this"
    simulator = Simulator(Dataset(contacts=2000), client_secret=secret)
    simulator.faults.add("campaign", "rate_limit", times=2, retry_after="none")
    simulator.faults.add("contacts", "expire_tokens", after=2)
    db = str(tmp_path / "j.db")
    with SimulatorServer(simulator) as server:
        result = CliRunner().invoke(
            cli,
            ["--db", db, "--log-json", "run", str(EXAMPLE_SPEC)],
            env={
                "CXONE_BASE_URL": server.base_url,
                "CXONE_CLIENT_ID": "cxpreview",
                "CXONE_CLIENT_SECRET": secret,
            },
        )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    campaign_id = result.stdout.split()[1]
    outcomes = [line for line in lines if "latency_ms" in line]
    assert [(o["step"], o["decision"]) for o in outcomes] == [
        ("validation", "passed"),
        ("filter", "completed"),
        ("activation", "succeeded"),
        ("webhook", "registered"),
    ]
    assert all(o["campaign_id"] == campaign_id for o in outcomes)
    assert all(isinstance(o["latency_ms"], float) for o in outcomes)
    moves = [(line.get("state_before"), line["state_after"]) for line in lines if "event" in line]
    assert ("activating", "active") in moves
    retries = [line for line in lines if line.get("decision") == "retry"]
    assert len(retries) == 2
    assert all("429" in r["message"] for r in retries)
    everything = result.stderr + result.stdout
    for needle in [secret, *simulator.issued_tokens]:
        assert needle not in everything


@contextmanager
def serving(*flags: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``cxpreview simulator FLAGS`` in a process of its own, and the base URL it printed;
    SIGTERM at the end."""
    server = subprocess.Popen(
        [CXPREVIEW, "simulator", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield server, server.stdout.readline().strip()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def cxpreview(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``cxpreview ARGS`` as a process with ``env``, its output captured."""
    return subprocess.run(
        [CXPREVIEW, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_acd_dialect_as_separate_processes(tmp_path: Path) -> None:
    """`cxpreview simulator --dialect cxone` in one process, `cxpreview run examples/acd.toml`
    in another, reaching it by the settings its banner prints: an access key, discovery."""
    with serving("--dialect", "cxone", "--contacts", "2000") as (server, url):
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(4)]
        try_line = banner[3].strip().removeprefix("try: ")
        settings = dict(p.split("=", 1) for p in try_line.split() if "=" in p)
        assert settings["CXONE_AUTH_URL"] == url
        env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
        db = str(tmp_path / "acd.db")
        spec = str(EXAMPLE_SPEC.parent / "acd.toml")
        # plan reads the skill, changes nothing anywhere
        plan = cxpreview(
            {**env, **settings}, "--db", str(tmp_path / "plan.db"), "plan", spec, "--json"
        )
        assert plan.returncode == 0, plan.stderr
        planned = json.loads(plan.stdout)
        assert planned["remote_id"] == "1001"
        assert [c["path"] for c in planned["changes"]] == ["retrySettings.maximumAttempts"]
        assert not (tmp_path / "plan.db").exists(), "a command that only reads creates nothing"
        done = cxpreview({**env, **settings}, "--db", db, "run", spec)
        assert done.returncode == 0, done.stderr
        assert ": active" in done.stdout
        assert settings["CXONE_ACCESS_KEY_SECRET"] not in done.stdout + done.stderr
        # no access key: said before anything is written
        missing = cxpreview(env, "--db", str(tmp_path / "none.db"), "run", spec)
        assert missing.returncode == 2
        assert "CXONE_ACCESS_KEY_ID" in missing.stderr
        assert not (tmp_path / "none.db").exists() or _no_campaigns(tmp_path / "none.db")


def _no_campaigns(path: Path) -> bool:
    with SQLiteJournal(path) as journal:
        return not list(journal.streams())
