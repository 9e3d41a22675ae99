"""bench/concurrency.py: many campaigns in flight, against the simulator at CXone's latency.

- recovering interrupted activations with 100 ms on every call: a supervisor with 32 workers
  vs one with 1 (campaigns/s; the baseline recovers a quarter as many, its rate is per
  campaign either way), the GET+PUT requests per recovered activation, and PUTs applied twice;
- 32 threads appending single events to 32 campaigns (group commit: one transaction and one
  fsync for every append waiting) vs one thread appending alone, both ``synchronous=FULL``;
- filtering 100k contacts at 50 ms a page (contact pages several at once, suppressions beside
  them) vs the same filter reading one page at a time, suppressions first.

    python -m bench.concurrency [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import attrs
import httpx

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from bench.common import Figure, simulator_process, table
from bench.journal import HEAD
from engine import CXoneGateway, Engine, Supervisor, load_spec
from engine.contacts import filter_contacts
from events import ValidationRequested
from journal import SQLiteJournal
from journal.sqlite import Synchronous
from tests.drills import interrupt

EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "examples" / "preview.toml"


def appends(path: Path, threads: int, each: int, synchronous: Synchronous = "FULL") -> float:
    """Events per second, ``threads`` threads appending ``each`` single events apiece."""
    event = [ValidationRequested("step-0001")]
    with SQLiteJournal(path, synchronous=synchronous) as journal:
        start = threading.Barrier(threads + 1)

        def work(k: int) -> None:
            start.wait()
            for version in range(each):
                journal.append(f"c{k}", event, version, head=HEAD)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        began = time.perf_counter()
        for w in workers:
            w.join()
        return threads * each / (time.perf_counter() - began)


def _latency(base_url: str, route: str, seconds: float) -> None:
    """Every call of ``route`` ("*": every route) answered ``seconds`` late from now on."""
    fault = {"route": route, "kind": "latency", "seconds": seconds, "times": 10**7}
    httpx.post(f"{base_url}/_sim/faults", json=fault).raise_for_status()


def _interrupted(engine: Engine, base_url: str, tag: str, count: int) -> None:
    """``count`` campaigns left as a crash right after their activation intent leaves them."""
    spec = load_spec(EXAMPLE_SPEC)
    with httpx.Client() as peek:
        for n in range(count):
            remote = f"cmp-{tag}{n}"
            peek.post(f"{base_url}/_sim/campaigns", json={"id": remote, "version": 4})
            limits = attrs.evolve(spec.constraints, max_concurrent_previews=10_000)
            webhook = attrs.evolve(spec.webhook, name=f"{tag}-{n}")
            aimed = attrs.evolve(spec, campaign_id=remote, constraints=limits, webhook=webhook)
            interrupt(engine, aimed, "after-activation-intent")


def recovery(quick: bool) -> list[Figure]:
    """32 workers vs 1 recovering interrupted activations, 100 ms a call."""
    alone_n, many_n = (8, 32) if quick else (50, 200)
    credentials = Credentials("", "cxpreview", Secret("simulated-secret"))
    with simulator_process(250, 25) as base_url, tempfile.TemporaryDirectory(dir=".") as d:
        credentials = attrs.evolve(credentials, base_url=base_url)
        rates, journals = {}, {1: Path(d) / "one.db", 32: Path(d) / "many.db"}
        with HttpCXoneGateway(credentials) as gateway:
            for workers, n in ((1, alone_n), (32, many_n)):
                with SQLiteJournal(journals[workers]) as journal:
                    _interrupted(Engine(journal, gateway), base_url, f"w{workers}-", n)
        seen = len(httpx.get(f"{base_url}/_sim/log").json())
        _latency(base_url, "*", 0.1)
        for workers, n in ((1, alone_n), (32, many_n)):
            with (
                SQLiteJournal(journals[workers]) as journal,
                HttpCXoneGateway(credentials) as gateway,
            ):
                supervisor = Supervisor(Engine(journal, gateway), "bench", workers=workers)
                started = time.perf_counter()
                decisions = supervisor.run_once()
                took = time.perf_counter() - started
            assert [d.after for d in decisions] == ["active"] * n, decisions
            rates[workers] = n / took
        log = httpx.get(f"{base_url}/_sim/log").json()[seen:]
    ours = [e for e in log if str(e.get("campaign", "")).startswith("cmp-w32-")]
    calls = sum(e["route"] in ("campaign", "put_campaign") for e in ours)
    applied: dict[str, int] = {}
    for e in ours:
        if e["route"] == "put_campaign" and e["changed"]:
            applied[e["campaign"]] = applied.get(e["campaign"], 0) + 1
    assert len(applied) == many_n, "every campaign got its PUT"
    doubles = sum(k - 1 for k in applied.values())
    return [
        Figure(
            f"recover {many_n} activations @100ms: 32 workers vs 1 (c/s)",
            rates[32],
            rates[1],
            "c/s",
            ">= 20",
        ),
        Figure(
            "  32 workers: GET+PUT requests per recovered activation",
            calls / many_n,
            2.0,
            "req",
            "<= 1.0",
        ),
        Figure("  32 workers: PUTs applied twice", doubles, 0.0, "PUTs", "<= 0", absolute=True),
    ]


class _OnePageAtATime:
    """The filter as it read before: every suppression first, then one contact page at a
    time (the gateway asked for one page in flight)."""

    def __init__(self, gateway: HttpCXoneGateway) -> None:
        self._gateway = gateway
        self._numbers = list(gateway.iter_suppressed_numbers())  # read whole, first

    def iter_suppressed_numbers(self) -> list[str]:
        return self._numbers

    def __getattr__(self, name: str) -> object:
        return getattr(self._gateway, name)


def filtering(quick: bool) -> list[Figure]:
    """100k contacts at 50 ms a page: pages overlapped vs one at a time."""
    contacts = 5_000 if quick else 100_000
    spec = load_spec(EXAMPLE_SPEC)
    with simulator_process(contacts, contacts // 10) as base_url:
        credentials = Credentials(base_url, "cxpreview", Secret("simulated-secret"))
        _latency(base_url, "contacts", 0.05)
        _latency(base_url, "suppressions", 0.05)
        took = {}
        for window in (1, 4):
            with HttpCXoneGateway(credentials, contact_window=window) as gateway:
                gateway.count_active_previews()  # the token, outside the timing
                started = time.perf_counter()
                subject: CXoneGateway = gateway
                if window == 1:
                    subject = _OnePageAtATime(gateway)  # type: ignore[assignment]
                result = filter_contacts(subject, spec)
                took[window] = time.perf_counter() - started
                assert result.total == contacts
    return [
        Figure(
            f"filter {contacts:,} contacts @50ms/page: overlapped vs sequential (c/s)",
            contacts / took[4],
            contacts / took[1],
            "c/s",
            ">= 1.8",
        )
    ]


def run(quick: bool = False) -> list[Figure]:
    """The figures (``quick``: fewer campaigns, contacts and appends, for a smoke run)."""
    return [*recovery(quick), *appending(quick), *filtering(quick)]


def appending(quick: bool) -> list[Figure]:
    """32 threads appending vs 1 (group commit)."""
    alone_n, each = (60, 4) if quick else (600, 40)
    with tempfile.TemporaryDirectory(dir=".") as d:
        best_alone = best_many = best_bare = 0.0
        for r in range(1 if quick else 3):  # turn about: a slow stretch hits both
            best_alone = max(best_alone, appends(Path(d) / f"one{r}.db", 1, alone_n))
            best_many = max(best_many, appends(Path(d) / f"many{r}.db", 32, each))
            bare = appends(Path(d) / f"bare{r}.db", 32, each, "OFF")
            best_bare = max(best_bare, bare)
    return [
        Figure(
            "32 threads appending, vs 1 thread alone (events/s)",
            best_many,
            best_alone,
            "ev/s",
            ">= 4",
        ),
        # The same 32 threads with no fsync at all: what the CPU allows (two cores, one
        # interpreter lock), the bound on the figure above however well commits are shared.
        Figure(
            "  the same 32 at synchronous=OFF (no fsync: the ceiling)",
            best_bare,
            best_alone,
            "ev/s",
            "",
        ),
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
