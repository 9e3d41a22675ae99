"""A supervisor on a PostgreSQL journal wakes when a run is asked for, not at its next poll."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import replay_all
from journal import open_journal
from tests.e2e.test_crash_recovery import cli, env_for, spec_for
from tests.e2e.test_parallel_supervisors import CXPREVIEW
from tests.e2e.test_worker_pool import until
from tests.postgres import fresh_schema

pytestmark = pytest.mark.slow


def test_a_run_that_dies_is_finished_long_before_the_next_poll(tmp_path: Path) -> None:
    sim = Simulator(Dataset(seed=4, contacts=200, suppressions=20))
    with fresh_schema() as url, SimulatorServer(sim) as server:
        open_journal(url, create=True).close()
        supervisor = subprocess.Popen(
            [CXPREVIEW, "--db", url, "supervise", "--interval", "600", "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(server.base_url),
        )
        try:
            assert supervisor.stderr is not None
            seen: list[str] = []
            reader = threading.Thread(target=lambda: seen.extend(supervisor.stderr), daemon=True)
            reader.start()  # its log, line by line: it listens before it says it supervises
            assert until(lambda: any("supervising" in line for line in seen), 30)
            spec = spec_for(tmp_path, sim, "wake")
            died = cli(
                url,
                env_for(server.base_url, "after-activation-intent"),
                "run",
                str(spec),
                "--lease-ttl",
                "3",
            )
            assert died.returncode == -signal.SIGKILL, died.stderr

            def active() -> bool:
                with open_journal(url) as journal:
                    return {s.state for s in replay_all(journal).values()} == {"active"}

            finished = until(active, seconds=60)  # the poll would come after 600 s
        finally:
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(timeout=60)
            reader.join(timeout=30)
            supervisor.stderr.close()
    err = "".join(seen)
    assert finished, err
    assert supervisor.returncode == 0, err
    assert "woken: another process asked for work" in err
    assert len(sim.applied_puts("cmp-wake")) == 1
