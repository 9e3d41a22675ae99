"""``cxpreview``: the command line. Each command opens the journal, makes one library call, and
turns the library's error into one line and an exit code.

Exit codes: 0 done; 1 a campaign ended failed or conflicted; 2 a usage or spec error;
3 a journal problem (missing, damaged, busy, not a journal).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading

import click

from adapters.cli_audit import audit_group, diagram_cmd, metrics_cmd
from adapters.clikit import (
    DEFAULT_DB,
    EXIT_CAMPAIGN,
    errors_to_exit_codes,
    open_journal,
)
from adapters.cxone import HttpCXoneGateway
from adapters.demo import run_demo
from adapters.report import summary, timeline
from adapters.simulator import Dataset, FaultPlan, Simulator, SimulatorServer
from engine import (
    Engine,
    Supervisor,
    load_spec,
)
from events import to_plain


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    default=lambda: os.environ.get("CXPREVIEW_DB", DEFAULT_DB),
    show_default="$CXPREVIEW_DB or ./cxpreview.db",
    help="The journal file.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="cxpreview")
@click.pass_context
def cli(ctx: click.Context, db: str, debug: bool) -> None:
    """Take NICE CXone preview campaigns from a spec file to active, journaled in SQLite.

    Exit codes: 0 done, 1 a campaign failed or conflicted, 2 usage or spec error,
    3 journal problem.
    """
    ctx.obj = {"db": db, "debug": debug}


@cli.command("check")
@click.argument("spec", type=click.Path(dir_okay=False))
@errors_to_exit_codes
def check_cmd(spec: str) -> None:
    """Check a spec file and list every problem, with its field and line.

    Example: cxpreview check examples/preview.toml
    """
    loaded = load_spec(spec)
    click.echo(f"{spec}: ok ({loaded.name!r}, {len(loaded.filter)} filter rules)")


@cli.command("draft")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.pass_context
@errors_to_exit_codes
def draft_cmd(ctx: click.Context, spec: str) -> None:
    """Draft a campaign from a spec file; prints the new campaign's id.

    Example: cxpreview draft examples/preview.toml
    """
    campaign = Engine(open_journal(ctx)).draft(load_spec(spec))
    click.echo(campaign.id)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@errors_to_exit_codes
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """List every campaign with its state and version.

    Example: cxpreview status --json
    """
    campaigns = Engine(open_journal(ctx)).campaigns()
    if as_json:
        rows = [
            {
                "id": c.id,
                "name": c.name,
                "state": c.state,
                "version": c.version,
                "pending": c.snapshot.pending.step if c.snapshot.pending else None,
                "last_error": c.last_error,
            }
            for c in campaigns
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for c in campaigns:
        error = f"  {c.last_error}" if c.last_error else ""
        click.echo(f"{c.id}  {c.state:<10}  v{c.version:<4} {c.name}{error}")


@cli.command("run")
@click.argument("target")
@click.pass_context
@errors_to_exit_codes
def run_cmd(ctx: click.Context, target: str) -> None:
    """Take a campaign as far as it goes: validate, filter, activate, webhook.

    TARGET is a spec file (a new campaign is drafted from it) or a campaign id. CXone is
    reached through CXONE_BASE_URL, CXONE_CLIENT_ID and CXONE_CLIENT_SECRET (or
    CXONE_CLIENT_SECRET_FILE). Exits 1 unless the campaign ends active.

    Example: cxpreview run examples/preview.toml
    """
    with HttpCXoneGateway.from_env() as gateway:
        engine = Engine(open_journal(ctx), gateway)
        campaign = (
            engine.draft(load_spec(target), run=True)
            if os.path.isfile(target)
            else engine.get(target)
        )
        campaign.run(
            progress=lambda n: (
                click.echo(f"  filtering: {n:,} contacts judged", err=True)
                if n % 10_000 == 0
                else None
            )
        )
    click.echo(summary(campaign.snapshot))
    if campaign.state != "active":
        ctx.exit(EXIT_CAMPAIGN)


@cli.command("supervise")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.option(
    "--owner",
    default=lambda: f"{socket.gethostname()}:{os.getpid()}",
    show_default="host:pid",
    help="This supervisor's name on its leases.",
)
@click.option("--lease-ttl", default=60.0, show_default=True, help="Seconds a lease lasts.")
@click.option(
    "--retry-after",
    default=60.0,
    show_default=True,
    help="Seconds before a step that failed retryably is tried again.",
)
@click.pass_context
@errors_to_exit_codes
def supervise_cmd(
    ctx: click.Context,
    once: bool,
    interval: float,
    owner: str,
    lease_ttl: float,
    retry_after: float,
) -> None:
    """Find campaigns left unfinished (a crash mid-call, an interrupted run) and finish them.

    Several supervisors may share a journal: a lease keeps each campaign to one of them.
    SIGTERM or SIGINT: the current step's outcome is written, leases released, exit 0.

    Example: cxpreview supervise --once
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    with HttpCXoneGateway.from_env() as gateway:
        supervisor = Supervisor(
            Engine(open_journal(ctx), gateway, actor=owner),
            owner,
            lease_ttl=lease_ttl,
            retry_after=retry_after,
        )
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: supervisor.stop.set())
        if once:
            for d in supervisor.run_once():
                click.echo(f"{d.campaign_id}  {d.before} -> {d.after}  {d.outcome}")
        else:
            supervisor.run_forever(interval)


@cli.command("resolve")
@click.argument("campaign_id")
@click.option("--take-ours", "side", flag_value="ours", help="Our value on every conflict.")
@click.option("--take-theirs", "side", flag_value="theirs", help="CXone's value on every one.")
@click.pass_context
@errors_to_exit_codes
def resolve_cmd(ctx: click.Context, campaign_id: str, side: str | None) -> None:
    """Settle a conflict that could not merge, then activate (as run does).

    The conflicting fields are listed by `cxpreview run` and kept in the journal
    (`cxpreview history`). Changes made on one side only are kept either way.

    Example: cxpreview resolve 3f2a9c0d1e4b5a69 --take-theirs
    """
    if side is None:
        raise click.UsageError("choose --take-ours or --take-theirs")
    with HttpCXoneGateway.from_env() as gateway:
        engine = Engine(open_journal(ctx), gateway)
        engine.resolve(campaign_id, side)
        campaign = engine.get(campaign_id).run()
    click.echo(summary(campaign.snapshot))
    if campaign.state != "active":
        ctx.exit(EXIT_CAMPAIGN)


def _step(name: str, summary_line: str) -> None:
    """Register ``cxpreview NAME ID``: one engine command on one campaign."""

    @cli.command(name, help=f"{summary_line}\n\nExample: cxpreview {name} 3f2a9c0d1e4b5a69")
    @click.argument("campaign_id")
    @click.pass_context
    @errors_to_exit_codes
    def command(ctx: click.Context, campaign_id: str) -> None:
        journal = open_journal(ctx)
        if name == "cancel":
            state = Engine(journal).cancel(campaign_id, "cancelled from the command line")
        else:
            with HttpCXoneGateway.from_env() as gateway:
                state = getattr(Engine(journal, gateway), name)(campaign_id)
        click.echo(summary(state))


for _name, _line in [
    ("validate", "Check the spec and CXone's constraints; read the version to activate on."),
    ("filter", "Compute the eligible contacts (rules, then phone numbers, then suppressions)."),
    ("activate", "PUT the preview configuration with If-Match on the version last read."),
    ("rebase", "After a conflict: read CXone's campaign and merge it with ours."),
    ("cancel", "Abandon a campaign for good."),
]:
    _step(_name, _line)


@cli.command("show")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@errors_to_exit_codes
def show_cmd(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """Show one campaign: state, versions, counts, what it waits for.

    Example: cxpreview show 3f2a9c0d1e4b5a69 --json
    """
    state = Engine(open_journal(ctx)).load(campaign_id)
    if as_json:
        click.echo(json.dumps(to_plain(state), indent=2, sort_keys=True))
    else:
        click.echo(summary(state))


@cli.command("history")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per event.")
@click.pass_context
@errors_to_exit_codes
def history_cmd(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """Show a campaign's events as a timeline, with the state each one left it in.

    Example: cxpreview history 3f2a9c0d1e4b5a69
    """
    engine = Engine(open_journal(ctx))
    engine.load(campaign_id)
    history = engine.history(campaign_id)
    if as_json:
        rows = [
            {
                "seq": h.seq,
                "version": h.version,
                "type": h.type,
                "recorded_at": h.recorded_at,
                "event": to_plain(h.event),
                "meta": h.meta,
            }
            for h in history
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(timeline(history))


@cli.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=0, show_default=True, help="Port (0: any free one).")
@click.option("--contacts", default=10_000, show_default=True, help="Contacts on cl-2001.")
@click.option("--suppressions", default=None, type=int, help="Suppressed numbers [contacts/10].")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated dataset.")
@click.option(
    "--faults",
    type=click.Path(exists=True, dir_okay=False),
    help="A TOML fault plan ([[fault]] tables).",
)
@errors_to_exit_codes
def simulator_cmd(
    host: str, port: int, contacts: int, suppressions: int | None, seed: int, faults: str | None
) -> None:
    """Serve the CXone simulator until interrupted (SIGINT or SIGTERM stop it cleanly).

    Prints its base URL first. Its client id is cxpreview and its client secret
    simulated-secret.

    Example: cxpreview simulator --port 8700 --contacts 100000 --faults plan.toml
    """
    try:
        plan = FaultPlan.from_toml(faults) if faults else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    dataset = Dataset(
        seed=seed,
        contacts=contacts,
        suppressions=contacts // 10 if suppressions is None else suppressions,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with SimulatorServer(Simulator(dataset, faults=plan), host, port) as server:
        click.echo(server.base_url)
        sys.stdout.flush()
        stop.wait()


@cli.command("demo")
@click.option("--contacts", default=20_000, show_default=True, help="Contacts to filter.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulator's dataset.")
@click.pass_context
@errors_to_exit_codes
def demo_cmd(ctx: click.Context, contacts: int, seed: int) -> None:
    """Run the whole pipeline against the bundled simulator and show what happened.

    Example: cxpreview --db demo.db demo
    """
    ctx.exit(run_demo(ctx.obj["db"], contacts=contacts, seed=seed, say=click.echo))


cli.add_command(diagram_cmd)
cli.add_command(metrics_cmd)
cli.add_command(audit_group)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="cxpreview")
    sys.exit(0)


if __name__ == "__main__":
    main()
