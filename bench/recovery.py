"""bench/recovery.py: one supervisor recovering many interrupted campaigns from the simulator.

The simulator runs as its own process on 127.0.0.1. Campaigns are left interrupted at mixed
crash points (tests/drills.py, the states a SIGKILL at each point leaves), then one
supervisor finishes them. Measured in one run: campaigns recovered per second; HTTP requests
on the campaign itself (GET, PUT) per recovered activation; and the rate of those requests
during recovery beside a bare reused ``httpx.Client`` making the same calls.

    python -m bench.recovery [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import attrs
import httpx

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from bench.common import Figure, bare_client, simulator_process, table
from engine import Engine, Supervisor, load_spec
from journal import SQLiteJournal
from tests.drills import POINTS, interrupt

EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "examples" / "preview.toml"
ACTIVATION_POINTS = ("after-activation-intent", "after-activation-response")


def _sim_log(client: httpx.Client, base_url: str) -> list[dict[str, object]]:
    log: list[dict[str, object]] = client.get(f"{base_url}/_sim/log").json()
    return log


def bare_calls(base_url: str, gets: int, puts: int) -> float:
    """Seconds a bare reused client takes for ``gets`` campaign reads and ``puts`` PUTs."""
    with bare_client(base_url) as (client, headers):
        url = f"{base_url}/api/v2/outbound/campaigns/cmp-1001"
        version = client.get(url, headers=headers).json()["version"]
        started = time.perf_counter()
        for _ in range(gets):
            client.get(url, headers=headers)
        for _ in range(puts):
            reply = client.put(
                url, json={"type": "preview"}, headers={**headers, "If-Match": f'"{version}"'}
            )
            version = reply.json()["version"]
        return time.perf_counter() - started


def run(quick: bool = False, campaigns: int | None = None) -> list[Figure]:
    """Recovery rate, requests per recovered activation, and the request-rate ratio."""
    count = campaigns or (100 if quick else 1000)
    with simulator_process(250, 25) as base_url:
        spec = load_spec(EXAMPLE_SPEC)
        credentials = Credentials(base_url, "cxpreview", Secret("simulated-secret"))
        with (
            tempfile.TemporaryDirectory(dir=".") as d,
            SQLiteJournal(Path(d) / "j.db") as journal,
            HttpCXoneGateway(credentials) as gateway,
            httpx.Client() as peek,
        ):
            engine = Engine(journal, gateway)
            points: dict[str, str] = {}
            for n in range(count):
                remote = f"cmp-b{n}"
                peek.post(f"{base_url}/_sim/campaigns", json={"id": remote, "version": 4})
                point = POINTS[n % len(POINTS)]
                points[
                    interrupt(
                        engine,
                        attrs.evolve(
                            spec,
                            campaign_id=remote,
                            constraints=attrs.evolve(
                                spec.constraints, max_concurrent_previews=10_000
                            ),
                        ),
                        point,
                    )
                ] = point
            seen = len(_sim_log(peek, base_url))
            # First the reconciliations alone (what recovery itself costs), then the supervisor
            # finishes everything: leases, the rest of each run, webhooks.
            started = time.perf_counter()
            for cid, point in points.items():
                if point in ACTIVATION_POINTS:
                    engine.recover(cid)
            t_ours = time.perf_counter() - started
            log = _sim_log(peek, base_url)[seen:]
            supervisor = Supervisor(engine, "bench")
            started = time.perf_counter()
            decisions = supervisor.run_once()
            t_all = time.perf_counter() - started
            assert {d.after for d in decisions} == {"active"}, Counter(d.after for d in decisions)
            assert len(decisions) == count
            remote_of = {cid: engine.load(cid).spec["campaign_id"] for cid in points}
            activation_remotes = {remote_of[c] for c, p in points.items() if p in ACTIVATION_POINTS}
            calls = [
                e
                for e in log
                if e.get("campaign") in activation_remotes
                and e["route"] in ("campaign", "put_campaign")
            ]
            gets = sum(e["route"] == "campaign" for e in calls)
            puts = len(calls) - gets
            t_bare = bare_calls(base_url, gets, puts)
    activations = len(activation_remotes)
    return [
        Figure(
            f"recovery: {count:,} interrupted campaigns (campaigns/s)",
            count / t_all,
            count / t_all,
            "c/s",
            "",
        ),
        Figure(
            "recovery: GET+PUT requests per recovered activation",
            len(calls) / activations,
            2.0,
            "req",
            "<= 1.0",
        ),
        Figure(
            "reconciling: GET (+PUT) and 1 append, vs bare GET/PUT (req/s)",
            len(calls) / t_ours,
            len(calls) / t_bare,
            "req/s",
            ">= 0.5",
        ),
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
