"""``cxpreview``: the command line. Each command opens the journal, makes one library call, and
turns the library's error into one line and an exit code.

Exit codes: 0 done; 1 a campaign ended failed or conflicted; 2 a usage or spec error;
3 a journal problem (missing, damaged, busy, not a journal).
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from adapters.cxone import HttpCXoneGateway
from adapters.demo import run_demo
from adapters.report import summary, timeline
from adapters.simulator import Dataset, FaultPlan, Simulator, SimulatorServer
from engine import (
    CampaignNotFound,
    Engine,
    EngineError,
    SpecError,
    Supervisor,
    load_spec,
    mermaid,
    verify,
)
from engine.metrics import audit_log, measure
from events import CxpreviewError, to_plain
from journal import JournalError, SQLiteJournal, utc_text
from journal.transfer import read_jsonl, write_jsonl

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = "cxpreview.db"
EXIT_CAMPAIGN, EXIT_USAGE, EXIT_JOURNAL = 1, 2, 3


def _errors_to_exit_codes(fn: F) -> F:
    """One line on stderr and an exit code instead of a traceback (``--debug`` keeps it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return fn(*args, **kwargs)
        except CxpreviewError as exc:
            if ctx.obj.get("debug"):
                raise
            code = EXIT_JOURNAL if isinstance(exc, JournalError) else EXIT_USAGE
            if isinstance(exc, EngineError) and not isinstance(exc, SpecError | CampaignNotFound):
                code = EXIT_CAMPAIGN
            click.echo(f"error: {exc}", err=True)
            ctx.exit(code)

    return wrapper  # type: ignore[return-value]


def _journal(ctx: click.Context) -> SQLiteJournal:
    journal = SQLiteJournal(ctx.obj["db"])
    ctx.call_on_close(journal.close)
    return journal


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
@_errors_to_exit_codes
def check_cmd(spec: str) -> None:
    """Check a spec file and list every problem, with its field and line.

    Example: cxpreview check examples/preview.toml
    """
    loaded = load_spec(spec)
    click.echo(f"{spec}: ok ({loaded.name!r}, {len(loaded.filter)} filter rules)")


@cli.command("draft")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.pass_context
@_errors_to_exit_codes
def draft_cmd(ctx: click.Context, spec: str) -> None:
    """Draft a campaign from a spec file; prints the new campaign's id.

    Example: cxpreview draft examples/preview.toml
    """
    campaign = Engine(_journal(ctx)).draft(load_spec(spec))
    click.echo(campaign.id)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@_errors_to_exit_codes
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """List every campaign with its state and version.

    Example: cxpreview status --json
    """
    campaigns = Engine(_journal(ctx)).campaigns()
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
@_errors_to_exit_codes
def run_cmd(ctx: click.Context, target: str) -> None:
    """Take a campaign as far as it goes: validate, filter, activate, webhook.

    TARGET is a spec file (a new campaign is drafted from it) or a campaign id. CXone is
    reached through CXONE_BASE_URL, CXONE_CLIENT_ID and CXONE_CLIENT_SECRET (or
    CXONE_CLIENT_SECRET_FILE). Exits 1 unless the campaign ends active.

    Example: cxpreview run examples/preview.toml
    """
    with HttpCXoneGateway.from_env() as gateway:
        engine = Engine(_journal(ctx), gateway)
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
@_errors_to_exit_codes
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
            Engine(_journal(ctx), gateway, actor=owner),
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
@_errors_to_exit_codes
def resolve_cmd(ctx: click.Context, campaign_id: str, side: str | None) -> None:
    """Settle a conflict that could not merge, then activate (as run does).

    The conflicting fields are listed by `cxpreview run` and kept in the journal
    (`cxpreview history`). Changes made on one side only are kept either way.

    Example: cxpreview resolve 3f2a9c0d1e4b5a69 --take-theirs
    """
    if side is None:
        raise click.UsageError("choose --take-ours or --take-theirs")
    with HttpCXoneGateway.from_env() as gateway:
        engine = Engine(_journal(ctx), gateway)
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
    @_errors_to_exit_codes
    def command(ctx: click.Context, campaign_id: str) -> None:
        journal = _journal(ctx)
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
@_errors_to_exit_codes
def show_cmd(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """Show one campaign: state, versions, counts, what it waits for.

    Example: cxpreview show 3f2a9c0d1e4b5a69 --json
    """
    state = Engine(_journal(ctx)).load(campaign_id)
    if as_json:
        click.echo(json.dumps(to_plain(state), indent=2, sort_keys=True))
    else:
        click.echo(summary(state))


@cli.command("history")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per event.")
@click.pass_context
@_errors_to_exit_codes
def history_cmd(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """Show a campaign's events as a timeline, with the state each one left it in.

    Example: cxpreview history 3f2a9c0d1e4b5a69
    """
    engine = Engine(_journal(ctx))
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
@_errors_to_exit_codes
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
@_errors_to_exit_codes
def demo_cmd(ctx: click.Context, contacts: int, seed: int) -> None:
    """Run the whole pipeline against the bundled simulator and show what happened.

    Example: cxpreview --db demo.db demo
    """
    ctx.exit(run_demo(ctx.obj["db"], contacts=contacts, seed=seed, say=click.echo))


@cli.command("diagram")
@click.option("--counts", is_flag=True, help="Label each edge with how often it was taken.")
@click.pass_context
@_errors_to_exit_codes
def diagram_cmd(ctx: click.Context, counts: bool) -> None:
    """Print the campaign state machine as a mermaid diagram.

    Example: cxpreview diagram --counts > machine.mmd
    """
    taken: dict[tuple[str, str], int] = {}
    if counts:
        for edge, n in measure(_journal(ctx)).transitions.items():
            source, trigger = edge.split(":")
            taken[(source, trigger)] = n
    click.echo(mermaid(taken), nl=False)


@cli.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@_errors_to_exit_codes
def metrics_cmd(ctx: click.Context, as_json: bool) -> None:
    """Activation latency (p50, p95, max), success and conflict rates, campaigns by state.

    Example: cxpreview metrics --json
    """
    m = measure(_journal(ctx))
    if as_json:
        click.echo(json.dumps(m.as_dict(), indent=2, sort_keys=True))
        return
    rate = "-" if m.success_rate is None else f"{m.success_rate:.1%}"
    conflicts = "-" if m.conflict_rate is None else f"{m.conflict_rate:.1%}"
    lat = {k: "-" if v is None else f"{v:,.1f} ms" for k, v in m.latency_ms.items()}
    click.echo(
        f"campaigns {m.campaigns} ({', '.join(f'{k} {v}' for k, v in m.by_state.items())}), "
        f"events {m.events}"
    )
    click.echo(
        f"activations {m.activations}: {m.succeeded} succeeded ({m.reconciled} "
        f"reconciled), {m.conflicted} conflicted, {m.failed} failed; success rate "
        f"{rate}, conflict rate {conflicts}"
    )
    click.echo(f"activation latency p50 {lat['p50']}, p95 {lat['p95']}, max {lat['max']}")


@cli.group("audit")
def audit_group() -> None:
    """Verify, replay, export and import the journal.

    Example: cxpreview audit verify
    """


@audit_group.command("verify")
@click.option("--anchor", help="SEQ:HASH from an earlier verify, which must still be there.")
@click.pass_context
@_errors_to_exit_codes
def audit_verify_cmd(ctx: click.Context, anchor: str | None) -> None:
    """Check the hash chain, replay every campaign against its recorded digests, and check
    every transition against the machine; name the first bad seq (exit 3).

    Example: cxpreview audit verify --anchor 1042:9f0c2a...
    """
    point = None
    if anchor:
        seq, _, hash_ = anchor.partition(":")
        if not seq.isdigit() or len(hash_) != 64:
            raise click.UsageError("--anchor takes SEQ:HASH (the 64-hex hash verify printed)")
        point = (int(seq), hash_)
    report = verify(_journal(ctx), anchor=point)
    click.echo(str(report))
    if report.ok:
        click.echo(f"anchor: {report.head[0]}:{report.head[1]}")
    else:
        ctx.exit(EXIT_JOURNAL)


@audit_group.command("replay")
@click.argument("campaign_id")
@click.option("--as-of", help="A global seq, or a UTC time (ISO-8601).")
@click.pass_context
@_errors_to_exit_codes
def audit_replay_cmd(ctx: click.Context, campaign_id: str, as_of: str | None) -> None:
    """The campaign's state, folded from its events, now or as of a seq or a time.

    Example: cxpreview audit replay 3f2a9c0d1e4b5a69 --as-of 2026-11-29T10:00:00Z
    """
    engine = Engine(_journal(ctx))
    if as_of is None:
        state = engine.load(campaign_id)
    elif as_of.isdigit():
        state = engine.state_at(campaign_id, seq=int(as_of))
    else:
        try:
            moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            raise click.UsageError(f"--as-of {as_of!r} is neither a seq nor a time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        state = engine.state_at(campaign_id, time=utc_text(moment))
    click.echo(summary(state))


@audit_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: every row with its hashes; csv: the audit log.",
)
@click.option("-o", "--output", type=click.File("w"), default="-", help="File (default stdout).")
@click.pass_context
@_errors_to_exit_codes
def audit_export_cmd(ctx: click.Context, fmt: str, output: Any) -> None:
    """Export the journal: JSONL re-imports into an empty journal that verifies identically;
    CSV is the audit log (timestamp, action, campaignId, status, latencyMs, successRate).

    Example: cxpreview audit export --format csv -o audit.csv
    """
    journal = _journal(ctx)
    if fmt == "jsonl":
        write_jsonl(journal.raw_rows(), output)
        return
    writer = csv.DictWriter(
        output,
        fieldnames=["timestamp", "action", "campaignId", "status", "latencyMs", "successRate"],
    )
    writer.writeheader()
    writer.writerows(audit_log(journal))


@audit_group.command("import")
@click.argument("source", type=click.File("r"))
@click.pass_context
@_errors_to_exit_codes
def audit_import_cmd(ctx: click.Context, source: Any) -> None:
    """Load a JSONL export into an empty journal, checking every row against the chain.

    Example: cxpreview --db copy.db audit import export.jsonl
    """
    count = _journal(ctx).import_rows(read_jsonl(source, source.name))
    click.echo(f"imported {count} events")


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="cxpreview")
    sys.exit(0)


if __name__ == "__main__":
    main()
