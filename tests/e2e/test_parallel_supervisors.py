"""Three supervisor processes on one journal finish fifty interrupted campaigns, each once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import attrs
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, load_spec, replay_all, verify
from engine.interruptions import POINTS, interrupt
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC

CXPREVIEW = str(Path(sys.executable).with_name("cxpreview"))
pytestmark = pytest.mark.slow


def test_three_supervisors_fifty_campaigns(tmp_path: Path) -> None:
    sim = Simulator(Dataset(seed=9, contacts=500, suppressions=50))
    db = tmp_path / "j.db"
    spec = load_spec(EXAMPLE_SPEC)
    with SimulatorServer(sim) as server:
        credentials = Credentials(server.base_url, "cxpreview", Secret("simulated-secret"))
        with HttpCXoneGateway(credentials) as gateway, SQLiteJournal(db) as journal:
            engine = Engine(journal, gateway, actor="crashed-run")
            for n in range(50):
                sim.add_campaign(f"cmp-p{n}", version=4)
                interrupt(
                    engine,
                    attrs.evolve(
                        spec,
                        campaign_id=f"cmp-p{n}",
                        webhook=attrs.evolve(spec.webhook, name=f"launch-{n}"),
                        constraints=attrs.evolve(spec.constraints, max_concurrent_previews=999),
                    ),
                    POINTS[n % len(POINTS)],
                )
        puts_before = {e["campaign"] for e in sim.applied_puts()}
        env = {
            **os.environ,
            "CXONE_BASE_URL": server.base_url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }
        supervisors = [
            subprocess.Popen(
                [CXPREVIEW, "--db", str(db), "supervise", "--once", "--owner", f"sup-{k}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for k in range(3)
        ]
        reports = [s.communicate(timeout=300) for s in supervisors]
    for s, (_, err) in zip(supervisors, reports, strict=True):
        assert s.returncode == 0, err
    finished = Counter(
        line.split()[0]
        for out, _ in reports
        for line in out.splitlines()
        if line.endswith("-> active  finished")
    )
    assert len(finished) == 50, "every campaign was finished"
    assert max(finished.values()) == 1, "and by one supervisor only"
    with SQLiteJournal(db) as journal:
        states = replay_all(journal)
        assert {s.state for s in states.values()} == {"active"}
        assert verify(journal).ok
        succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
    assert len(succeeded) == 50
    for n in range(50):
        assert len(sim.applied_puts(f"cmp-p{n}")) == 1, n
        assert sum(w["name"] == f"launch-{n}" for w in sim.webhooks.values()) == 1, n
    # Each PUT is attributable: to the crashed run (before it died), or to one lease holder.
    by_point = Counter(POINTS[n % len(POINTS)] for n in range(50))
    crashed_after_put = (
        "after-activation-response",
        "after-activation-outcome",
        "after-webhook-intent",
        "after-webhook-response",
    )
    assert len(puts_before) == sum(by_point[p] for p in crashed_after_put)
    owners = Counter(e.meta.get("lease_owner", "crashed-run") for e in succeeded)
    assert owners["crashed-run"] == len(puts_before) - by_point["after-activation-response"]
    reconciled = [e for e in succeeded if e.event.reconciled]  # type: ignore[attr-defined]
    assert len(reconciled) == by_point["after-activation-response"]
    under_lease = [e for e in succeeded if "lease_owner" in e.meta]
    assert {e.meta["lease_owner"] for e in under_lease} <= {"sup-0", "sup-1", "sup-2"}
    assert all(isinstance(e.meta["fence"], int) for e in under_lease)
    assert len(under_lease) == 50 - owners["crashed-run"]
    print("finished per supervisor:", Counter(e.meta["lease_owner"] for e in under_lease))


def test_three_supervisors_whose_puts_outlive_their_leases(tmp_path: Path) -> None:
    """Every PUT takes three times as long as a lease lives: the leases are kept alive while
    the PUTs are in flight, so no supervisor takes a campaign another is writing to."""
    sim = Simulator(Dataset(seed=9, contacts=200, suppressions=20))
    db = tmp_path / "j.db"
    spec = load_spec(EXAMPLE_SPEC)
    count = 12
    with SimulatorServer(sim) as server:
        credentials = Credentials(server.base_url, "cxpreview", Secret("simulated-secret"))
        with HttpCXoneGateway(credentials) as gateway, SQLiteJournal(db) as journal:
            engine = Engine(journal, gateway, actor="crashed-run")
            for n in range(count):
                sim.add_campaign(f"cmp-s{n}", version=4)
                interrupt(
                    engine,
                    attrs.evolve(
                        spec,
                        campaign_id=f"cmp-s{n}",
                        webhook=attrs.evolve(spec.webhook, name=f"slow-{n}"),
                        constraints=attrs.evolve(spec.constraints, max_concurrent_previews=999),
                    ),
                    "after-activation-intent",
                )
        sim.faults.add("put_campaign", "latency", seconds=1.5, times=10 * count)
        env = {
            **os.environ,
            "CXONE_BASE_URL": server.base_url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }
        supervisors = [
            subprocess.Popen(
                [
                    CXPREVIEW,
                    "--db",
                    str(db),
                    "supervise",
                    "--once",
                    "--owner",
                    f"sup-{k}",
                    "--lease-ttl",
                    "0.5",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for k in range(3)
        ]
        reports = [s.communicate(timeout=300) for s in supervisors]
    for s, (_, err) in zip(supervisors, reports, strict=True):
        assert s.returncode == 0, err
    finished = Counter(
        line.split()[0]
        for out, _ in reports
        for line in out.splitlines()
        if line.endswith("-> active  finished")
    )
    assert len(finished) == count
    assert max(finished.values()) == 1
    for n in range(count):
        assert len(sim.applied_puts(f"cmp-s{n}")) == 1, n
    with SQLiteJournal(db) as journal:
        assert verify(journal).ok
        succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
    assert len(succeeded) == count
    assert {e.event.how for e in succeeded} == {"put"}  # type: ignore[attr-defined]
