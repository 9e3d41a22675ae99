"""Three supervisor processes on one journal finish fifty interrupted campaigns, each once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, load_spec, replay_all, verify
from journal import open_journal
from tests.conftest import EXAMPLE_SPEC
from tests.drills import POINTS, interrupt
from tests.postgres import fresh_schema

CXPREVIEW = str(Path(sys.executable).with_name("cxpreview"))
pytestmark = pytest.mark.slow


def interrupted(
    sim: Simulator,
    base_url: str,
    db: Path | str,
    count: int,
    *,
    tag: str,
    point: Callable[[int], str],
) -> None:
    """``count`` campaigns, each on a CXone campaign and webhook of its own, left as a crash at
    ``point(n)`` would leave them."""
    spec = load_spec(EXAMPLE_SPEC)
    credentials = Credentials(base_url, "cxpreview", Secret("simulated-secret"))
    with HttpCXoneGateway(credentials) as gateway, open_journal(str(db), create=True) as journal:
        engine = Engine(journal, gateway, actor="crashed-run")
        for n in range(count):
            sim.add_campaign(f"cmp-{tag}{n}", version=4)
            interrupt(
                engine,
                attrs.evolve(
                    spec,
                    campaign_id=f"cmp-{tag}{n}",
                    webhook=attrs.evolve(spec.webhook, name=f"{tag}-{n}"),
                    constraints=attrs.evolve(spec.constraints, max_concurrent_previews=999),
                ),
                point(n),
            )


def supervisors(db: Path | str, base_url: str, *extra: str) -> list[tuple[int, str, str]]:
    """Three ``supervise --once`` processes at once; each one's exit code, stdout, stderr."""
    env = {
        **os.environ,
        "CXONE_BASE_URL": base_url,
        "CXONE_CLIENT_ID": "cxpreview",
        "CXONE_CLIENT_SECRET": "simulated-secret",
    }
    started = [
        subprocess.Popen(
            [CXPREVIEW, "--db", str(db), "supervise", "--once", "--owner", f"sup-{k}", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for k in range(3)
    ]
    reports = [s.communicate(timeout=300) for s in started]
    return [(s.returncode, out, err) for s, (out, err) in zip(started, reports, strict=True)]


def finished_once(ran: list[tuple[int, str, str]], count: int) -> None:
    """Every supervisor exited 0, and each of ``count`` campaigns was finished by one of them."""
    for code, _, err in ran:
        assert code == 0, err
    finished = Counter(
        line.split()[0]
        for _, out, _ in ran
        for line in out.splitlines()
        if line.endswith("-> active  finished")
    )
    assert len(finished) == count, "every campaign was finished"
    assert max(finished.values()) == 1, "and by one supervisor only"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The shared journal: an SQLite file, or a fresh PostgreSQL schema (the processes stand
    in for hosts)."""
    if request.param == "postgresql":
        with fresh_schema() as url:
            yield url
    else:
        yield str(tmp_path / "j.db")


def test_three_supervisors_fifty_campaigns(db: str) -> None:
    sim = Simulator(Dataset(seed=9, contacts=500, suppressions=50))
    with SimulatorServer(sim) as server:
        interrupted(sim, server.base_url, db, 50, tag="p", point=lambda n: POINTS[n % len(POINTS)])
        puts_before = {e["campaign"] for e in sim.applied_puts()}
        ran = supervisors(db, server.base_url)
    finished_once(ran, 50)
    with open_journal(db) as journal:
        states = replay_all(journal)
        assert {s.state for s in states.values()} == {"active"}
        assert verify(journal).ok
        succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
    assert len(succeeded) == 50
    for n in range(50):
        assert len(sim.applied_puts(f"cmp-p{n}")) == 1, n
        assert sum(w["name"] == f"p-{n}" for w in sim.webhooks.values()) == 1, n
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


def test_three_supervisors_whose_puts_outlive_their_leases(db: str) -> None:
    """Every PUT takes three times as long as a lease lives: the leases are kept alive while
    the PUTs are in flight, so no supervisor takes a campaign another is writing to."""
    sim = Simulator(Dataset(seed=9, contacts=200, suppressions=20))
    count = 12
    with SimulatorServer(sim) as server:
        interrupted(
            sim, server.base_url, db, count, tag="s", point=lambda n: "after-activation-intent"
        )
        sim.faults.add("put_campaign", "latency", seconds=1.5, times=10 * count)
        ran = supervisors(db, server.base_url, "--lease-ttl", "0.5")
    finished_once(ran, count)
    for n in range(count):
        assert len(sim.applied_puts(f"cmp-s{n}")) == 1, n
    with open_journal(db) as journal:
        assert verify(journal).ok
        succeeded = [e for e in journal.read_all() if e.type == "activation.succeeded"]
    assert len(succeeded) == count
    assert {e.event.how for e in succeeded} == {"put"}  # type: ignore[attr-defined]
