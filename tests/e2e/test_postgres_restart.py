"""The PostgreSQL server restarted under a supervisor with activations in flight: the steps
that lost their connection are settled by the next pass, nothing is lost or written twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import replay_all, verify
from journal import JournalError, open_journal
from tests.e2e.test_parallel_supervisors import CXPREVIEW, interrupted
from tests.e2e.test_worker_pool import env_for, until
from tests.postgres import fresh_schema

pytestmark = pytest.mark.slow


def restart_server() -> None:
    """Restart this machine's PostgreSQL cluster (as ``.ci/run`` starts it)."""
    tool = shutil.which("pg_ctlcluster")
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if tool is None or not versions:
        reason = "no pg_ctlcluster here to restart the server with"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run(
        [tool, "--skip-systemctl-redirect", versions[-1], "main", "restart"],
        check=True,
        timeout=120,
        capture_output=True,
    )


def states(url: str) -> set[str] | None:
    """The campaigns' states, or None while the server is not there."""
    try:
        with open_journal(url) as journal:
            return {s.state for s in replay_all(journal).values()}
    except JournalError:
        return None


def test_a_server_restart_mid_run_loses_nothing_and_puts_nothing_twice() -> None:
    sim = Simulator(Dataset(seed=9, contacts=200, suppressions=20))
    count = 12
    with fresh_schema() as url, SimulatorServer(sim) as server:
        interrupted(
            sim, server.base_url, url, count, tag="r", point=lambda n: "after-activation-intent"
        )
        sim.faults.add("put_campaign", "latency", seconds=1.0, times=count)
        running = subprocess.Popen(
            [
                CXPREVIEW,
                "--db",
                url,
                "supervise",
                "--workers",
                "4",
                "--interval",
                "0.5",
                "--lease-ttl",
                "4",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(server.base_url),
        )
        try:
            assert until(lambda: sim.in_flight["put_campaign"] >= 1)
            restart_server()  # the PUTs in flight land; their outcomes cannot be written
            done = until(lambda: states(url) == {"active"}, seconds=120)
        finally:
            running.send_signal(signal.SIGTERM)
            _, err = running.communicate(timeout=120)
        assert done, err
        assert running.returncode == 0, err
        assert "connection to the server was lost" in err or "cannot reach" in err, err
        with open_journal(url) as journal:
            assert verify(journal).ok
            succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
        assert len(succeeded) == count
        assert any(e.event.how == "recovered" for e in succeeded), (
            "an outcome was lost to the restart"
        )  # type: ignore[attr-defined]
        for n in range(count):
            assert len(sim.applied_puts(f"cmp-r{n}")) == 1, n
