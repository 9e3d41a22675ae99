"""``cxpreview demo``: the whole pipeline against the bundled CXone simulator, explained.

The simulator is served by uvicorn on a loopback port in this process; the gateway talks to it
over real HTTP, exactly as it would to CXone; the journal is a file left behind for the next
commands.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from adapters import simulator as bundled
from adapters.cli.bootstrap import engine_with, gateway_for, journal_at
from adapters.cli.views import console, metrics_table, run_progress, summary, timeline
from engine import load_spec, parse_spec, verify
from engine.metrics import measure

if TYPE_CHECKING:
    from adapters.simulator.app import Simulator


def starter_spec() -> str:
    """The example spec shipped inside the package (``examples/preview.toml`` in the source):
    what ``cxpreview init`` writes and ``cxpreview demo`` runs, from any directory."""
    return resources.files("adapters.cli").joinpath("preview.toml").read_text(encoding="utf-8")


def run_demo(
    db: str,
    *,
    contacts: int = 20_000,
    seed: int = 7,
    spec_path: Path | None = None,
    out: Console | None = None,
    secret: str = "simulated-secret",  # noqa: S107 - the simulator's own test credential
    simulator: Simulator | None = None,
) -> int:
    """Draft the example spec and take it to active; returns the exit code (0 when active).

    ``simulator`` (built from ``contacts`` and ``seed`` when not given) must accept ``secret``.
    """
    out = out or console()
    say = out.print
    spec = parse_spec(starter_spec(), "preview.toml") if spec_path is None else load_spec(spec_path)
    spec_name = "preview.toml" if spec_path is None else spec_path.name
    # Served by uvicorn: the 'simulator' extra (SimulatorMissing, exit 2, names it when absent).
    served = bundled.SimulatorServer
    simulator = simulator or bundled.Simulator(
        bundled.Dataset(seed=seed, contacts=contacts, suppressions=contacts // 10),
        client_secret=secret,
    )
    # Someone edits the campaign in CXone just before our PUT (a field we do not set), so the
    # run shows a 412, the three-way rebase that merges it, and the activation that follows.
    simulator.faults.add("put_campaign", "concurrent_edit", field="schedule")
    started = time.monotonic()
    with served(simulator) as server, journal_at(db, create=True) as journal:
        say(
            f"CXone simulator at {server.base_url}: {contacts:,} contacts, "
            f"{contacts // 10:,} suppressions, seed {seed}"
        )
        from adapters.cxone import Credentials, Secret  # noqa: PLC0415 - start-up cost

        credentials = Credentials(server.base_url, simulator.client_id, Secret(secret))
        with gateway_for(credentials) as gateway:
            engine = engine_with(journal, gateway, actor="demo")
            campaign = engine.draft(spec, run=True)
            say(
                f"drafted {campaign.id} from {spec_name}; running validate -> filter -> "
                "activate -> webhook\n(someone edits the campaign in CXone just before our PUT)\n"
            )
            with run_progress(out) as progress:
                campaign.run(progress=progress)
            say("")
            say(timeline(campaign.history()))
            say("")
            say(summary(campaign.snapshot))
            remote = simulator.campaigns[spec.campaign_id]
            say(
                f"  in CXone: name {remote['name']!r}, schedule {remote.get('schedule')!r} "
                "(their edit, merged)"
            )
            puts = simulator.applied_puts()
            say(f"  CXone saw {len(simulator.log)} requests, {len(puts)} applied PUT(s)")
        report = verify(journal)
        m = measure(journal)
    say("")
    say(metrics_table(m))
    say(f"\naudit verify, journal {db}: {report}")
    say(
        f"done in {time.monotonic() - started:.1f}s. Next, try:\n"
        f"  cxpreview --db {db} status\n  cxpreview --db {db} audit verify\n"
        f"  cxpreview --db {db} history {campaign.id}\n  cxpreview --db {db} metrics\n"
        f"  cxpreview --db {db} diagram --counts\n  sqlite-utils tables {db} --counts"
    )
    return 0 if campaign.state == "active" and report.ok else 1
