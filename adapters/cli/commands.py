"""``cxpreview``: the command line. Each command opens the journal, makes one library call, and
turns the library's error into one line and an exit code.

Exit codes: 0 done; 1 a campaign ended failed or conflicted; 2 a usage or spec error;
3 a journal problem (missing, damaged, busy, behind, not a journal); 4 held elsewhere (another
process works on the campaign, or another live campaign claims its CXone campaign).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import attrs
import click

from adapters.cli.audit import audit_group, diagram_cmd, metrics_cmd
from adapters.cli.batch import Ended, exit_code, expand, read_specs, refuse_command_id, run_all
from adapters.cli.bootstrap import (
    default_actor,
    open_engine,
    process_owner,
    say_if_folding,
    scratch_engine,
)
from adapters.cli.campaign import CAMPAIGN_COMMANDS
from adapters.cli.kit import (
    COMMAND_ID,
    DEFAULT_DB,
    EXIT_CODES,
    WORKERS,
    Seconds,
    errors_to_exit_codes,
    is_spec,
    json_option,
    print_json,
    report,
    stream_json,
)
from adapters.cli.logs import configure as configure_logs
from adapters.cli.simulator import demo_cmd, init_cmd, simulator_cmd
from adapters.cli.views import (
    console,
    ended_line,
    ended_table,
    plan_view,
    run_progress,
    status_table,
)
from engine import (
    CampaignState,
    SpecError,
    Supervisor,
    load_spec,
    machine,
)
from engine.lifecycle import finished
from events import instant, to_plain
from events.errors import EXIT_CAMPAIGN, EXIT_USAGE
from journal import Head


class _Cxpreview(click.Group):
    """The command group, taking its global options after the subcommand too:
    ``cxpreview status --db f.db`` is ``cxpreview --db f.db status``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._hoisted(list(args)))

    def _hoisted(self, args: list[str]) -> list[str]:
        valued = {
            o: not p.is_flag for p in self.params if isinstance(p, click.Option) for o in p.opts
        }

        def width(word: str, i: int, words: list[str]) -> int:
            """How many words a global option spans at ``i`` (0: it is not one)."""
            name = word.split("=", 1)[0]
            if name not in valued:
                return 0
            return 2 if valued[name] and "=" not in word and i + 1 < len(words) else 1

        at, i = None, 0
        while i < len(args) and at is None:
            span = width(args[i], i, args)
            if span == 0 and args[i] in self.commands:
                at = i
            i += span or 1
        if at is None:
            return args
        own = _option_names(self.commands[args[at]])
        tail, moved, rest, i = args[at + 1 :], [], [], 0
        while i < len(tail):
            word = tail[i]
            if word == "--":
                rest.extend(tail[i:])
                break
            span = 0 if word.split("=", 1)[0] in own else width(word, i, tail)
            if span:
                moved.extend(tail[i : i + span])
                i += span
                continue
            rest.append(word)
            i += 1
        return [*args[:at], *moved, args[at], *rest]


def _option_names(command: click.Command) -> set[str]:
    """Every option string ``command`` (and any subcommand of it) defines."""
    names = {o for p in command.params for o in getattr(p, "opts", ())}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= _option_names(sub)
    return names


@click.group(cls=_Cxpreview, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    default=lambda: os.environ.get("CXPREVIEW_DB", DEFAULT_DB),
    show_default="$CXPREVIEW_DB or ./cxpreview.db",
    help="The journal file.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--log-json",
    is_flag=True,
    help="Log every step to stderr as one JSON object per line (campaign_id, step, "
    "latency_ms, decision, ...).",
)
@click.option("--base-url", help="CXone's API base URL [$CXONE_BASE_URL].")
@click.option("--client-id", help="The OAuth2 client id [$CXONE_CLIENT_ID].")
@click.option(
    "--client-secret-file",
    type=click.Path(dir_okay=False),
    help="A file holding the client secret, readable by its owner only "
    "[$CXONE_CLIENT_SECRET_FILE, or the secret itself in $CXONE_CLIENT_SECRET].",
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False),
    help="A PEM file of a CA to trust besides the usual ones [$CXONE_CA_FILE].",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a plain http:// base URL that is not loopback (TLS is still verified on https).",
)
@click.option(
    "--max-rps",
    type=click.FloatRange(min=0, min_open=True, max=10_000),
    help="At most this many requests a second to CXone from this process, all workers "
    "together; a 429's Retry-After holds them all [$CXONE_MAX_RPS; no limit by default].",
)
@click.option(
    "--actor",
    default=lambda: os.environ.get("CXPREVIEW_ACTOR") or default_actor(),
    show_default="$CXPREVIEW_ACTOR or user@host",
    help="Who the journal says did what this command writes.",
)
@click.version_option(package_name="cxpreview")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str,
    debug: bool,
    log_json: bool,
    actor: str,
    base_url: str | None,
    client_id: str | None,
    client_secret_file: str | None,
    ca_file: str | None,
    insecure: bool,
    max_rps: float | None,
) -> None:
    """Take NICE CXone preview campaigns from a spec file to active, journaled in SQLite.

    Exit codes: 0 done, 1 a campaign failed or conflicted, 2 usage or spec error,
    3 journal problem, 4 held elsewhere.

    Example: cxpreview --db demo.db status
    """
    ctx.obj = {"db": db, "debug": debug, "log_json": log_json, "actor": actor}
    configure_logs(as_json=log_json, level=logging.INFO if log_json else logging.WARNING)


@cli.command("check")
@click.argument("spec", type=click.Path(dir_okay=False))
@json_option("Print the verdict and problems as JSON.")
@click.pass_context
@errors_to_exit_codes
def check_cmd(ctx: click.Context, spec: str, as_json: bool) -> None:
    """Check a spec file and list every problem, with its field and line.

    Example: cxpreview check examples/preview.toml --json
    """
    if not as_json:
        loaded = load_spec(spec)
        click.echo(f"{spec}: ok ({loaded.name!r}, {len(loaded.filter)} filter rules)")
        return
    try:
        loaded = load_spec(spec)
    except SpecError as exc:
        print_json({"ok": False, "problems": [to_plain(p) for p in exc.problems]})
        ctx.exit(EXIT_USAGE)
    print_json({"ok": True, "name": loaded.name, "filter_rules": len(loaded.filter)})


@cli.command("draft")
@click.argument("spec", type=click.Path(dir_okay=False))
@COMMAND_ID
@json_option("Print the drafted campaign as JSON instead of its id.")
@click.pass_context
@errors_to_exit_codes
def draft_cmd(ctx: click.Context, spec: str, command_id: str | None, as_json: bool) -> None:
    """Draft a campaign from a spec file; prints the new campaign's id.

    Example: cxpreview draft examples/preview.toml --command-id ticket-4711
    """
    engine = open_engine(ctx, gateway=False, create=True)
    campaign = engine.draft(load_spec(spec), command_id=command_id)
    if as_json:
        print_json(to_plain(campaign.snapshot))
    else:
        click.echo(campaign.id)


@cli.command("status")
@json_option("Print JSON.")
@click.option(
    "--state",
    "only",
    type=click.Choice(machine.STATES),
    multiple=True,
    help="Only campaigns in this state (again for several).",
)
@click.option(
    "--since",
    help="Only campaigns whose last event is at or after this UTC time (ISO-8601).",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Only the N campaigns drafted last.",
)
@click.pass_context
@errors_to_exit_codes
def status_cmd(
    ctx: click.Context,
    as_json: bool,
    only: tuple[str, ...],
    since: str | None,
    limit: int | None,
) -> None:
    """A table of every campaign: state, version, last event and how long ago it was.

    Read from the campaigns' heads (one row each, kept with every append), so it costs the
    campaigns shown, not the journal's length.

    Example: cxpreview status --state active --since 2026-11-30T00:00:00Z --limit 50
    """
    engine = open_engine(ctx, gateway=False, read_only=True)
    say_if_folding(engine.journal)
    try:
        if since is not None:
            instant(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    if as_json and limit is None:  # streamed: memory holds a page of heads, not every one
        stream_json(status_row(h) for h in engine.each_head(state=only, since=since))
        return
    heads = engine.heads(state=only, since=since, limit=limit, newest=limit is not None)
    if limit is not None:
        heads.reverse()  # the last N, still in the order they were drafted
    if as_json:
        print_json([status_row(h) for h in heads])
        return
    if not heads:
        which = f" {' or '.join(only)}" if only else ""
        click.echo(f"no{which} campaigns in {ctx.obj['db']}")
        return
    console().print(status_table(heads, engine.clock.now()))


def status_row(h: Head) -> dict[str, object]:
    """One campaign of ``status --json``."""
    return {
        "id": h.stream_id,
        "name": h.name,
        "state": h.state,
        "version": h.version,
        "cxone_campaign_id": h.remote_id,
        "pending": h.open_step,
        "unfinished": h.unfinished,
        "last_error": h.last_error,
        "last_event": h.last_type,
        "last_event_at": h.last_at,
    }


@cli.command("run")
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.option(
    "--lease-ttl",
    default=60.0,
    type=Seconds(),
    show_default=True,
    help="Seconds the run's lease on the campaign lasts unless renewed (it is renewed while "
    "the run is alive, so a supervisor takes the campaign over only once the run is gone).",
)
@WORKERS
@COMMAND_ID
@json_option(
    "Print the campaign as it ends as JSON (the id line goes to stderr then); with several "
    "targets, a list of how each ended."
)
@click.pass_context
@errors_to_exit_codes
def run_cmd(
    ctx: click.Context,
    targets: tuple[str, ...],
    lease_ttl: float,
    workers: int,
    command_id: str | None,
    as_json: bool,
) -> None:
    """Take campaigns as far as they go: validate, filter, activate, webhook.

    TARGET is a spec file, a campaign id, or a folder of *.toml specs. From a spec file a
    campaign is drafted, unless a live campaign already claims that CXone campaign: drafted
    from the same spec, it is carried on (a run started again after Ctrl-C); from another
    spec, the run is refused (exit 4), naming it. The campaign's id is printed before anything
    is sent to CXone. The run holds the campaign's lease, as a supervisor does. CXone is
    reached through --base-url, --client-id and --client-secret-file, or CXONE_BASE_URL,
    CXONE_CLIENT_ID and CXONE_CLIENT_SECRET (or CXONE_CLIENT_SECRET_FILE); plain http:// only
    to loopback unless --insecure. Exits 1 unless the campaign ends active.

    Several targets (or a folder) run up to --workers at once, every spec read first (one bad
    spec: nothing is drafted); a line for each campaign as it ends, a table at the end. Exits 0
    when every campaign ends active, else the highest exit code of any target. SIGINT or
    SIGTERM: nothing more starts; the runs in flight stop after their step (a supervisor
    carries them on).

    Example: cxpreview run examples/preview.toml
    """
    expanded = expand(targets)
    if len(expanded) > 1 or Path(targets[0]).is_dir():
        refuse_command_id(command_id, expanded)
        _run_several(ctx, expanded, lease_ttl, workers, as_json)
        return
    target = expanded[0]
    spec = load_spec(target) if is_spec(target) else None  # a spec's problems come first
    engine = open_engine(ctx, create=True, role="run", dialects=[spec.dialect] if spec else [])

    def announce(state: CampaignState, drafted: bool) -> None:
        how = "drafted" if drafted else f"carried on ({state.state}, live, from this spec)"
        click.echo(
            f"campaign {state.id} {how} for CXone campaign {state.spec['campaign_id']}",
            err=as_json,
        )
        sys.stdout.flush()

    def run(progress: Callable[[int], None] | None) -> CampaignState:
        if spec is not None:
            return engine.run_spec(
                spec, progress, announce=announce, lease_ttl=lease_ttl, command_id=command_id
            )
        return engine.run(engine.find(target), progress, lease_ttl=lease_ttl)

    if ctx.obj["log_json"]:  # stderr carries JSON lines only
        state = run(None)
    else:
        with run_progress(console(stderr=True)) as progress:
            state = run(progress)
    report(state, as_json)
    if not finished(state):  # active and owing nothing (a webhook, a skill's start)
        ctx.exit(EXIT_CAMPAIGN)


def _run_several(
    ctx: click.Context, targets: list[str], lease_ttl: float, workers: int, as_json: bool
) -> None:
    loaded = read_specs(targets)  # every spec's problems before anything is written
    dialects = {spec.dialect for _, spec in loaded if spec is not None}
    engine = open_engine(ctx, create=True, role="run", dialects=dialects)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err, done, lock = console(stderr=True), [0], threading.Lock()

    def told(ended: Ended) -> None:
        with lock:
            done[0] += 1
            if not ctx.obj["log_json"]:
                err.print(ended_line(ended, done[0], len(loaded)))

    ended = run_all(engine, loaded, workers=workers, lease_ttl=lease_ttl, stop=stop, told=told)
    if as_json:
        print_json([attrs.asdict(e) for e in ended])
    else:
        console().print(ended_table(ended))
    ctx.exit(exit_code(ended))


@cli.command("plan")
@click.argument("target")
@json_option("Print the plan as JSON.")
@click.pass_context
@errors_to_exit_codes
def plan_cmd(ctx: click.Context, target: str, as_json: bool) -> None:
    """Read CXone and show, field by field, what activating would change, and the If-Match
    it would send. Changes nothing, here or in CXone.

    TARGET is a spec file or a campaign id. An empty plan means CXone already holds this
    configuration: an activation would record that and send no PUT.

    Example: cxpreview plan examples/preview.toml --json
    """
    if is_spec(target):
        plan = scratch_engine(ctx).plan_spec(load_spec(target))
    else:
        engine = open_engine(ctx, read_only=True)
        plan = engine.plan(engine.find(target))
    if as_json:
        print_json({**to_plain(plan), "empty": plan.empty, "stale": plan.stale})
    else:
        console().print(plan_view(plan))


@cli.command("supervise")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option(
    "--interval", default=5.0, type=Seconds(), show_default=True, help="Seconds between passes."
)
@click.option(
    "--owner",
    default=lambda: process_owner("supervise"),
    show_default="supervise:user@host:pid",
    help="This supervisor's name on its leases.",
)
@click.option(
    "--lease-ttl", default=60.0, type=Seconds(), show_default=True, help="Seconds a lease lasts."
)
@click.option(
    "--retry-after",
    default=60.0,
    type=Seconds(),
    show_default=True,
    help="Seconds before a step that failed retryably is tried again.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve Prometheus metrics at /metrics and health at /healthz on this port (0: any "
    "free one; the address is printed).",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port."
)
@WORKERS
@json_option("With --once: print what the pass did as JSON.")
@click.pass_context
@errors_to_exit_codes
def supervise_cmd(
    ctx: click.Context,
    once: bool,
    interval: float,
    owner: str,
    lease_ttl: float,
    retry_after: float,
    metrics_port: int | None,
    metrics_host: str,
    workers: int,
    as_json: bool,
) -> None:
    """Find campaigns left unfinished (a crash mid-call, an interrupted run) and finish them.

    Up to --workers campaigns are in flight at once. Several supervisors may share a journal:
    a lease keeps each campaign to one of them. SIGTERM or SIGINT: no campaign is started,
    every step in flight ends and its outcome is written, leases released, exit 0.

    Example: cxpreview supervise --once
    """
    configure_logs(as_json=ctx.obj["log_json"], level=logging.INFO)
    supervisor = Supervisor(
        open_engine(ctx, actor=owner, role="supervise"),
        owner,
        lease_ttl=lease_ttl,
        retry_after=retry_after,
        workers=workers,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stop.set())
    if metrics_port is not None and not once:
        from adapters.cli.service import WATCHED, SupervisorMetrics  # noqa: PLC0415 - only here

        metrics = SupervisorMetrics(interval)
        for name in WATCHED:
            logging.getLogger(name).addHandler(metrics)
            logging.getLogger(name).setLevel(logging.INFO)
        supervisor.on_pass = metrics.passed
        try:
            server = metrics.serve(metrics_host, metrics_port)
        except OSError as exc:
            raise click.UsageError(
                f"--metrics-port {metrics_port} on {metrics_host} cannot be served: {exc}"
            ) from None
        ctx.call_on_close(server.shutdown)
        port = server.server_address[1]
        click.echo(f"metrics at http://{metrics_host}:{port}/metrics, health at /healthz")
        sys.stdout.flush()
    if once:
        decisions = supervisor.run_once()
        if as_json:
            print_json([attrs.asdict(d) for d in decisions])
        for d in [] if as_json else decisions:
            click.echo(f"{d.campaign_id}  {d.before} -> {d.after}  {d.outcome}")
    else:
        supervisor.run_forever(interval)


for _command in CAMPAIGN_COMMANDS:
    cli.add_command(_command)
cli.add_command(simulator_cmd)
cli.add_command(demo_cmd)
cli.add_command(init_cmd)
cli.add_command(diagram_cmd)
cli.add_command(metrics_cmd)
cli.add_command(audit_group)


def _with_exit_codes(group: click.Group) -> None:
    for command in group.commands.values():
        command.epilog = EXIT_CODES
        if isinstance(command, click.Group):
            _with_exit_codes(command)


_with_exit_codes(cli)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="cxpreview")
    sys.exit(0)


if __name__ == "__main__":
    main()
