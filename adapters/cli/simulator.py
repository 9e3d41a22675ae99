"""``cxpreview simulator``, ``demo`` and ``init``: the bundled CXone stand-in, served; the whole
pipeline run against it; and the starter spec written where an operator wants it."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from pathlib import Path

import click

from adapters import simulator as bundled
from adapters.cli.demo import run_demo, starter_spec
from adapters.cli.kit import errors_to_exit_codes


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Bind an address other hosts can reach (its client secret is public: never on a "
    "network you do not own).",
)
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), show_default=True, help="Port (0: any)."
)
@click.option(
    "--contacts",
    default=10_000,
    type=click.IntRange(0, 100_000_000),
    show_default=True,
    help="Contacts on cl-2001.",
)
@click.option(
    "--suppressions",
    default=None,
    type=click.IntRange(0, 100_000_000),
    help="Suppressed numbers [contacts/10].",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated dataset.")
@click.option(
    "--faults",
    type=click.Path(exists=True, dir_okay=False),
    help="A TOML fault plan ([[fault]] tables).",
)
@click.option(
    "--dialect",
    type=click.Choice(["tutorial", "cxone"]),
    default="tutorial",
    show_default=True,
    help="Which API to show how to reach: the tutorial's, or NICE CXone's ACD API (access "
    "key, discovery, skills, DNC groups, calling lists). Both are served either way.",
)
@errors_to_exit_codes
def simulator_cmd(
    host: str,
    allow_remote: bool,
    port: int,
    contacts: int,
    suppressions: int | None,
    seed: int,
    faults: str | None,
    dialect: str,
) -> None:
    """Serve the CXone simulator until interrupted (SIGINT or SIGTERM stop it cleanly).

    Prints its base URL first, then what it holds: its campaigns, its contact list, and the
    credentials it accepts (client id cxpreview, client secret simulated-secret: public, so
    it binds loopback only unless --allow-remote).

    Example: cxpreview simulator --port 8700 --contacts 100000 --faults plan.toml
    Example: cxpreview simulator --dialect cxone   (then run examples/acd.toml)
    """
    from adapters.cxone.auth import is_loopback  # noqa: PLC0415 - httpx costs start-up

    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--host {host} would let other hosts reach a server whose secret is public; "
            "add --allow-remote if that is really meant"
        )
    try:
        plan = bundled.FaultPlan.from_toml(faults) if faults else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    dataset = bundled.Dataset(
        seed=seed,
        contacts=contacts,
        suppressions=contacts // 10 if suppressions is None else suppressions,
    )
    simulator = bundled.Simulator(dataset, faults=plan)
    try:
        server = bundled.SimulatorServer(simulator, host, port)
    except OSError as exc:
        reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
        raise click.UsageError(f"{host}:{port} {reason}; choose another --port") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        click.echo(server.base_url)
        if dialect == "cxone":
            click.echo(_acd_banner(simulator, server.base_url, dataset, seed))
            sys.stdout.flush()
            stop.wait()
            return
        click.echo(
            f"  campaigns: {', '.join(sorted(simulator.campaigns))}\n"
            f"  contact list: {dataset.contact_list_id} ({dataset.contacts:,} contacts, "
            f"{dataset.suppressions:,} suppressed numbers, seed {seed})\n"
            f"  credentials: client id {simulator.client_id}, client secret simulated-secret\n"
            f"  try: CXONE_BASE_URL={server.base_url} CXONE_CLIENT_ID={simulator.client_id} "
            "CXONE_CLIENT_SECRET=simulated-secret cxpreview run preview.toml"
        )
        sys.stdout.flush()
        stop.wait()


def _acd_banner(simulator: bundled.Simulator, url: str, dataset: bundled.Dataset, seed: int) -> str:
    """What the ACD dialect's tenant holds, and the settings that reach it."""
    from adapters.simulator.acd import ACCESS_KEY_ID, ACCESS_KEY_SECRET  # noqa: PLC0415

    skills = simulator.acd.skills
    running = sorted(str(k) for k, v in skills.items() if v["isRunning"])
    stopped = sorted(str(k) for k, v in skills.items() if v["isOutbound"] and not v["isRunning"])
    return (
        f"  ACD dialect: tenant {simulator.acd.tenant}; Personal Connection skills "
        f"{', '.join(stopped)} (stopped), {', '.join(running)} (running)\n"
        f"  calling list: {dataset.contact_list_id} ({dataset.contacts:,} records); DNC group "
        f"7001 ({dataset.suppressions:,} numbers, seed {seed}); an upload job completes "
        "when asked about the second time\n"
        f"  access key: {ACCESS_KEY_ID}, secret {ACCESS_KEY_SECRET}\n"
        f"  try: CXONE_AUTH_URL={url} CXONE_DISCOVERY_URL={url} "
        f"CXONE_ACCESS_KEY_ID={ACCESS_KEY_ID} CXONE_ACCESS_KEY_SECRET={ACCESS_KEY_SECRET} "
        "CXONE_UPLOAD_POLL_SECONDS=0.2 cxpreview run examples/acd.toml"
    )


@click.command("demo")
@click.option("--contacts", default=20_000, show_default=True, help="Contacts to filter.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulator's dataset.")
@click.pass_context
@errors_to_exit_codes
def demo_cmd(ctx: click.Context, contacts: int, seed: int) -> None:
    """Run the whole pipeline against the bundled simulator and show what happened.

    Example: cxpreview --db demo.db demo
    """
    ctx.exit(run_demo(ctx.obj["db"], contacts=contacts, seed=seed))


@click.command("init")
@click.argument("path", default="preview.toml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a file that is already there.")
@errors_to_exit_codes
def init_cmd(path: str, force: bool) -> None:
    """Write a commented starter spec to PATH (./preview.toml by default), the same one
    ``cxpreview demo`` runs: every key it may hold, each explained.

    Example: cxpreview init spring.toml && cxpreview check spring.toml
    """
    target = Path(path)
    if target.exists() and not force:
        raise click.UsageError(f"{path} exists already; choose another PATH, or --force")
    try:
        target.write_text(starter_spec(), encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(
        f"wrote {path}: edit campaign_id, contact_list_id and the rules, then "
        f"`cxpreview check {path}`, `cxpreview plan {path}`, `cxpreview run {path}`"
    )
