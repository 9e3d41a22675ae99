"""A supervisor with many campaigns in flight: killed with SIGKILL, stopped with SIGTERM,
and ``run`` with several targets, all against the simulator over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import replay_all, verify
from journal import SQLiteJournal
from tests.conftest import spec_file_for
from tests.e2e.test_parallel_supervisors import CXPREVIEW, interrupted

pytestmark = pytest.mark.slow


def env_for(base_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CXONE_BASE_URL": base_url,
        "CXONE_CLIENT_ID": "cxpreview",
        "CXONE_CLIENT_SECRET": "simulated-secret",
    }
    env.pop("CXPREVIEW_CRASH_AT", None)
    return env


def until(condition: object, seconds: float = 60.0) -> bool:
    """Wait (bounded) until ``condition()`` holds; whether it did."""
    done = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():  # type: ignore[operator]
            return True
        done.wait(0.02)
    return False


def supervise(db: Path, base_url: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CXPREVIEW, "--db", str(db), "supervise", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(base_url),
    )


def test_sigkill_with_32_activations_in_flight_then_a_restart(tmp_path: Path) -> None:
    """32 PUTs in flight at once when the supervisor dies: each lands in CXone all the same;
    the next supervisor finds every one landed (by reading), PUTs nothing again, and
    registers each webhook once."""
    sim = Simulator(Dataset(seed=9, contacts=200, suppressions=20))
    db = tmp_path / "j.db"
    count = 32
    with SimulatorServer(sim) as server:
        interrupted(
            sim, server.base_url, db, count, tag="k", point=lambda n: "after-activation-intent"
        )
        sim.faults.add("put_campaign", "latency", seconds=3.0, times=count)
        first = supervise(db, server.base_url, "--once", "--workers", "32")
        in_flight = until(lambda: sim.in_flight["put_campaign"] == count)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
        assert in_flight, f"only {sim.most_in_flight['put_campaign']} PUTs were ever in flight"
        assert until(lambda: sim.in_flight["put_campaign"] == 0)  # they land without a client
        with SQLiteJournal(db) as journal:
            states = replay_all(journal)
            assert {s.state for s in states.values()} == {"activating"}  # each one in doubt
        second = supervise(db, server.base_url, "--once", "--workers", "32")
        out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert out.count("-> active  finished") == count
    with SQLiteJournal(db) as journal:
        assert {s.state for s in replay_all(journal).values()} == {"active"}
        assert verify(journal).ok
        succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
    assert len(succeeded) == count
    assert {e.event.how for e in succeeded} == {"recovered"}  # type: ignore[attr-defined]
    for n in range(count):
        assert len(sim.applied_puts(f"cmp-k{n}")) == 1, n
        assert sum(w["name"] == f"k-{n}" for w in sim.webhooks.values()) == 1, n


def test_sigterm_lets_every_step_in_flight_end_and_releases_every_lease(tmp_path: Path) -> None:
    sim = Simulator(Dataset(seed=9, contacts=200, suppressions=20))
    db = tmp_path / "j.db"
    count = 16
    with SimulatorServer(sim) as server:
        interrupted(
            sim, server.base_url, db, count, tag="t", point=lambda n: "after-activation-intent"
        )
        sim.faults.add("put_campaign", "latency", seconds=1.0, times=count)
        running = supervise(db, server.base_url, "--workers", "8", "--interval", "30")
        assert until(lambda: sim.in_flight["put_campaign"] == 8)
        running.send_signal(signal.SIGTERM)
        _, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert "every lease released" in err
    with SQLiteJournal(db) as journal:
        states = replay_all(journal)
        for lease in (journal.current_lease(f"campaign:{cid}") for cid in states):
            assert lease is None
        assert verify(journal).ok
        done = [s for s in states.values() if s.state == "active"]
        left = [s for s in states.values() if s.state != "active"]
    # The eight in flight ended, each journaled; the others were never started.
    assert len(done) >= 8
    assert all(s.state == "activating" for s in left)
    assert len(sim.applied_puts()) == len(done)


def test_run_several_specs_from_a_folder(tmp_path: Path) -> None:
    sim = Simulator(Dataset(seed=3, contacts=300, suppressions=30))
    folder = tmp_path / "specs"
    folder.mkdir()
    for n in (1001, 1002, 1003, 1004):
        spec_file_for(folder, f"cmp-{n}")
    db = tmp_path / "j.db"
    with SimulatorServer(sim) as server:
        env = env_for(server.base_url)
        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "broken.toml").write_text('name = "x"\n')
        refused = subprocess.run(
            [CXPREVIEW, "--db", str(db), "run", str(folder), str(bad)],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert refused.returncode == 2, refused.stderr
        assert "broken.toml" in refused.stderr
        assert not db.exists()  # nothing drafted, no journal made
        ran = subprocess.run(
            [CXPREVIEW, "--db", str(db), "run", str(folder), "--workers", "4", "--json"],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert ran.returncode in (0, 1), ran.stderr
    ended = json.loads(ran.stdout)
    assert sorted(e["remote"] for e in ended) == ["cmp-1001", "cmp-1002", "cmp-1003", "cmp-1004"]
    # Two previews are active in the simulator already and the example's limit is five:
    # three of four fit, and no more, though all four were validated side by side.
    assert sorted(e["state"] for e in ended) == ["active", "active", "active", "draft"]
    assert ran.returncode == 1
    full = next(e for e in ended if e["state"] == "draft")
    assert "max_concurrent_previews" in full["note"]
    lines = [line for line in ran.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 4  # one line per campaign as it ended
    assert len(sim.applied_puts()) == 3
