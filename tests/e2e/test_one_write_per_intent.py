"""Exactly one applied PUT per activation, whatever the processes, the leases and CXone's
latency do: each case of the report that found two, with real `cxpreview` processes against the
simulator on loopback, counted from the simulator's own request log.

1. a PUT outlives its lease (its holder frozen with SIGSTOP, or only slow);
2. `run` and a looping `supervise` on one journal;
3. one process, a CXone that applies the PUT after the client gave up on it;
4. the same spec run twice, one after the other and both at once;
5. Ctrl-C, then the same spec run again (and a changed spec refused);
6. a lost write-ahead log.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import fold, verify
from journal import SQLiteJournal
from tests.e2e.test_crash_recovery import CXPREVIEW, cli, env_for, spec_for

pytestmark = pytest.mark.slow
LEASE = "1"  # seconds: every PUT below takes longer than a lease lives


@pytest.fixture
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(Dataset(seed=5, contacts=600, suppressions=60))
    with SimulatorServer(sim) as server:
        yield sim, server.base_url


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(timeout=30)


def start(db: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [CXPREVIEW, "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    STARTED.append(process)
    return process


def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    """Poll ``condition()`` (bounded) until it holds: a state to reach, never a time to pass."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stop_unlocked(process: subprocess.Popen[str], db: Path) -> None:
    """SIGSTOP ``process`` at a moment it holds no SQLite lock: a writer frozen inside a
    transaction blocks every other writer of the file (SQLite's nature, not a lease's), which
    is not the case under test. Bounded: a few tries."""
    for _ in range(50):
        process.send_signal(signal.SIGSTOP)
        probe = sqlite3.connect(db, timeout=0.5, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            process.send_signal(signal.SIGCONT)
        finally:
            probe.close()
    raise AssertionError("the process always held the journal's lock")


def lease_free(db: Path, campaign_id: str) -> bool:
    with SQLiteJournal(db) as journal:
        return journal.current_lease(f"campaign:{campaign_id}") is None


def only_campaign(db: Path) -> str:
    with SQLiteJournal(db) as journal:
        ((campaign_id, _),) = list(journal.streams())
    return campaign_id


def landed(db: Path, campaign_id: str) -> list[str]:
    """How each of the campaign's activations landed (``activation.succeeded``'s ``how``)."""
    with SQLiteJournal(db) as journal:
        assert verify(journal).ok
        history = journal.read_stream(campaign_id)
        assert fold(campaign_id, [h.event for h in history]).state == "active"
        return [h.event.how for h in history if h.type == "activation.succeeded"]  # type: ignore[attr-defined]


def slow_put(sim: Simulator, seconds: float = 2.5) -> Any:
    """The next PUT CXone receives takes ``seconds`` (longer than a lease lives); the fault,
    whose ``fired`` says when that PUT has arrived."""
    return sim.faults.add("put_campaign", "latency", seconds=seconds, times=1).faults[-1]


def killed_after_intent(db: Path, sim: Simulator, base_url: str, tag: str) -> str:
    """A run SIGKILLed right after its activation intent; the campaign's id."""
    died = cli(
        db, env_for(base_url, "after-activation-intent"), "run", str(spec_for(db.parent, sim, tag))
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    return only_campaign(db)


@pytest.mark.parametrize("freeze", [True, False], ids=["frozen-holder", "slow-put"])
def test_a_put_that_outlives_its_lease_is_applied_once(
    served: tuple[Simulator, str], tmp_path: Path, freeze: bool
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    campaign_id = killed_after_intent(db, sim, base_url, "outlive")
    slow = slow_put(sim)
    first = start(
        db, env_for(base_url), "supervise", "--once", "--owner", "sup-a", "--lease-ttl", LEASE
    )
    wait_for(lambda: slow.fired == 1, "the first supervisor's PUT to reach CXone")
    if freeze:
        stop_unlocked(first, db)
        wait_for(lambda: lease_free(db, campaign_id), "the frozen holder's lease to run out")
        second = cli(
            db, env_for(base_url), "supervise", "--once", "--owner", "sup-b", "--lease-ttl", LEASE
        )
        assert second.returncode == 0, second.stderr
        assert "-> active  finished" in second.stdout
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        assert "no longer held by 'sup-a'" in out, "woken, it wrote nothing more"
    else:
        # A second supervisor looping beside it never gets the campaign: the lease is kept
        # alive while the PUT is in flight.
        second_p = start(
            db,
            env_for(base_url),
            "supervise",
            "--interval",
            "0.1",
            "--owner",
            "sup-b",
            "--lease-ttl",
            LEASE,
        )
        out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        assert "-> active  finished" in out
        second_p.send_signal(signal.SIGTERM)
        _, err_b = second_p.communicate(timeout=60)
        assert second_p.returncode == 0
        assert "resuming campaign" not in err_b
    assert len(sim.applied_puts("cmp-outlive")) == 1
    assert len(landed(db, campaign_id)) == 1


@pytest.mark.parametrize("pause", [False, True], ids=["alive", "paused-past-its-lease"])
def test_a_run_and_a_looping_supervisor_write_once(
    served: tuple[Simulator, str], tmp_path: Path, pause: bool
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    spec = spec_for(tmp_path, sim, "beside")
    SQLiteJournal(db).close()  # the supervisor starts first, and creates no journal
    slow = slow_put(sim)
    supervisor = start(
        db,
        env_for(base_url),
        "supervise",
        "--interval",
        "0.1",
        "--owner",
        "sup",
        "--lease-ttl",
        LEASE,
    )
    run = start(db, env_for(base_url), "run", str(spec), "--lease-ttl", LEASE)
    wait_for(lambda: slow.fired == 1, "the run's PUT to reach CXone")
    if pause:
        stop_unlocked(run, db)
        campaign_id = only_campaign(db)
        wait_for(lambda: lease_free(db, campaign_id), "the paused run's lease to run out")
        wait_for(lambda: "active" in landed_state(db, campaign_id), "the supervisor to finish it")
        run.send_signal(signal.SIGCONT)
    out, err = run.communicate(timeout=60)
    supervisor.send_signal(signal.SIGTERM)
    _, sup_err = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, sup_err
    campaign_id = only_campaign(db)
    if pause:
        assert run.returncode == 4, (out, err)  # it lost the campaign to the supervisor
        assert "no longer held" in err
    else:
        assert run.returncode == 0, err
        assert "resuming campaign" not in sup_err
    assert len(sim.applied_puts("cmp-beside")) == 1
    assert len(landed(db, campaign_id)) == 1


def landed_state(db: Path, campaign_id: str) -> str:
    with SQLiteJournal(db) as journal:
        return fold(campaign_id, journal.read_events(campaign_id)).state


def test_a_put_applied_after_the_client_gave_up_is_recognised(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    spec = spec_for(tmp_path, sim, "late")
    # CXone applies the run's PUT 3 s after it arrived, long after the client's 0.5 s timeout;
    # the supervisor's re-PUT (sent before it was applied, against the same version) waits too.
    sim.faults.add("put_campaign", "latency", seconds=3.0, times=2)
    run = cli(db, {**env_for(base_url), "CXONE_TIMEOUT": "0.5"}, "run", str(spec))
    assert run.returncode == 1, run.stderr
    assert "in doubt" in run.stderr
    campaign_id = only_campaign(db)
    done = cli(db, env_for(base_url), "supervise", "--once", "--owner", "sup")
    assert done.returncode == 0, done.stderr
    assert "-> active  finished" in done.stdout
    assert len(sim.applied_puts("cmp-late")) == 1
    (how,) = landed(db, campaign_id)
    assert how in ("read-after-412", "recovered")  # its 412 (or its read) found ours there


def test_the_same_spec_run_twice_puts_once(served: tuple[Simulator, str], tmp_path: Path) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    spec = spec_for(tmp_path, sim, "twice")
    for _ in range(2):  # one after the other: the second's plan is empty
        done = cli(db, env_for(base_url), "run", str(spec))
        assert done.returncode == 0, done.stderr
    assert len(sim.applied_puts("cmp-twice")) == 1
    with SQLiteJournal(db) as journal:
        second = list(journal.streams())[-1][0]
    assert landed(db, second) == ["unchanged"]
    # Both at once, on another CXone campaign: one drafts, the other finds it claimed.
    spec = spec_for(tmp_path, sim, "together")
    sim.faults.add("put_campaign", "latency", seconds=1.0, times=1)
    runs = [start(db, env_for(base_url), "run", str(spec)) for _ in range(2)]
    results = [(r.communicate(timeout=60), r.returncode) for r in runs]
    codes = sorted(code for _, code in results)
    assert codes in ([0, 0], [0, 4]), results
    if codes == [0, 4]:
        (_, err), _ = next(r for r in results if r[1] == 4)
        assert "is being worked on by run:" in err
    assert len(sim.applied_puts("cmp-together")) == 1


def test_ctrl_c_then_run_again_carries_the_campaign_on(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    spec = spec_for(tmp_path, sim, "ctrlc")
    slow = sim.faults.add("contacts", "latency", seconds=5.0, times=1).faults[-1]
    run = start(db, env_for(base_url), "run", str(spec))
    assert run.stdout is not None
    first_line = run.stdout.readline()  # printed before anything is sent to CXone
    assert first_line.startswith("campaign ")
    assert " drafted for CXone campaign cmp-ctrlc" in first_line
    campaign_id = first_line.split()[1]
    wait_for(lambda: slow.fired == 1, "the run to be filtering")
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    assert run.returncode != 0
    assert lease_free(db, campaign_id), "Ctrl-C gave the lease back"
    changed = tmp_path / "changed.toml"
    changed.write_text(spec.read_text().replace("max_attempts = 3", "max_attempts = 4"))
    refused = cli(db, env_for(base_url), "run", str(changed))
    assert refused.returncode == 4, refused.stderr
    assert f"claimed by campaign {campaign_id}" in refused.stderr
    assert f"cxpreview cancel {campaign_id}" in refused.stderr
    again = cli(db, env_for(base_url), "run", str(spec))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"campaign {campaign_id} carried on (")
    after = cli(db, env_for(base_url), "supervise", "--once", "--owner", "sup")
    assert after.stdout == "", "nothing left for a supervisor"
    assert len(sim.applied_puts("cmp-ctrlc")) == 1
    with SQLiteJournal(db) as journal:
        assert [s for s, _ in journal.streams()] == [campaign_id]
    assert landed(db, campaign_id) == ["put"]


def test_a_lost_write_ahead_log_is_refused_not_acted_on(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    spec = spec_for(tmp_path, sim, "wal")
    died = cli(db, env_for(base_url, "after-activation-intent"), "run", str(spec))
    assert died.returncode == -signal.SIGKILL
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 0, "the dead run's events are in the write-ahead log"
    wal.unlink()
    Path(f"{db}-shm").unlink(missing_ok=True)
    again = cli(db, env_for(base_url), "run", str(spec))
    assert again.returncode == 3, again.stderr
    assert "its newest events were lost" in again.stderr
    checked = cli(db, env_for(base_url), "audit", "verify")
    assert checked.returncode == 3
    assert "its newest events were lost" in checked.stdout
    supervised = cli(db, env_for(base_url), "supervise", "--once")
    assert supervised.returncode == 3
    assert sim.applied_puts("cmp-wal") == [], "nothing was sent on a journal that went back"
    empty = tmp_path / "empty.db"
    empty.touch()
    refused = cli(empty, env_for(base_url), "status")
    assert refused.returncode == 3
    assert "empty file (0 bytes)" in refused.stderr
