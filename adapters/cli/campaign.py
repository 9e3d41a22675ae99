"""The commands on one campaign: the steps one at a time, recover, resolve, cancel, revise,
show and history (each takes a campaign id, its start, or its CXone campaign id)."""

from __future__ import annotations

import click

from adapters.cli.bootstrap import open_engine
from adapters.cli.kit import (
    errors_to_exit_codes,
    json_option,
    parse_as_of,
    print_json,
    report,
)
from adapters.cli.views import (
    console,
    exclusions,
    fields_absent,
    states_along,
    summary,
    timeline,
)
from engine import (
    load_spec,
)
from events import to_plain
from events.errors import EXIT_CAMPAIGN


@click.command("resolve")
@click.argument("campaign_id")
@click.option("--take-ours", is_flag=True, help="Our value on every conflict.")
@click.option("--take-theirs", is_flag=True, help="CXone's value on every one.")
@json_option("Print the campaign as it ends as JSON.")
@click.pass_context
@errors_to_exit_codes
def resolve_cmd(
    ctx: click.Context, campaign_id: str, take_ours: bool, take_theirs: bool, as_json: bool
) -> None:
    """Settle a conflict that could not merge, then activate (as run does).

    The conflicting fields are listed by `cxpreview run` and kept in the journal
    (`cxpreview history`). Changes made on one side only are kept either way.

    Example: cxpreview resolve 3f2a9c0d1e4b5a69 --take-theirs
    """
    if take_ours == take_theirs:
        raise click.UsageError("choose one of --take-ours or --take-theirs")
    side = "ours" if take_ours else "theirs"
    engine = open_engine(ctx)
    campaign_id = engine.find(campaign_id)
    engine.resolve(campaign_id, side)
    campaign = engine.get(campaign_id).run()
    report(campaign.snapshot, as_json)
    if campaign.state != "active":
        ctx.exit(EXIT_CAMPAIGN)


def _step(name: str, summary_line: str) -> click.Command:
    """``cxpreview NAME ID``: one engine command on one campaign."""

    @click.command(name, help=f"{summary_line}\n\nExample: cxpreview {name} 3f2a9c0d1e4b5a69")
    @click.argument("campaign_id")
    @json_option("Print the campaign after the step as JSON.")
    @click.pass_context
    @errors_to_exit_codes
    def command(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
        if name == "recover":
            engine = open_engine(ctx, role="run")
            state = engine.settle(engine.find(campaign_id))
        else:
            engine = open_engine(ctx)
            state = getattr(engine, name)(engine.find(campaign_id))
        report(state, as_json)

    return command


STEPS = [
    _step(_name, _line)
    for _name, _line in [
        ("validate", "Check the spec and CXone's constraints; read the version to activate on."),
        ("filter", "Compute the eligible contacts (rules, then phone numbers, then suppressions)."),
        ("activate", "PUT the preview configuration with If-Match on the version last read."),
        ("rebase", "After a conflict: read CXone's campaign and merge it with ours."),
        (
            "recover",
            "Settle a campaign's unfinished step, as a supervisor would, under its lease: a read "
            "step is redone, an activation is settled by reading CXone. The run is not carried on.",
        ),
    ]
]


@click.command("cancel")
@click.argument("campaign_id")
@click.option("--reason", default="cancelled from the command line", help="Why, for the journal.")
@json_option("Print the cancelled campaign as JSON.")
@click.pass_context
@errors_to_exit_codes
def cancel_cmd(ctx: click.Context, campaign_id: str, reason: str, as_json: bool) -> None:
    """Abandon a campaign for good (not while an activation is in doubt: settle it first).

    Example: cxpreview cancel 3f2a9c0d1e4b5a69 --reason "replaced by the autumn campaign"
    """
    engine = open_engine(ctx, gateway=False)
    report(engine.cancel(engine.find(campaign_id), reason), as_json)


@click.command("revise")
@click.argument("campaign_id")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--reason", default="", help="Why, for the journal.")
@json_option("Print the revised campaign as JSON.")
@click.pass_context
@errors_to_exit_codes
def revise_cmd(ctx: click.Context, campaign_id: str, spec: str, reason: str, as_json: bool) -> None:
    """Replace a campaign's spec (from a draft, validated, filtered, failed or conflicted
    campaign); it is a draft again and is validated anew by the next run.

    Example: cxpreview revise 3f2a9c0d1e4b5a69 examples/preview.toml --reason "west only"
    """
    engine = open_engine(ctx, gateway=False)
    report(engine.revise(engine.find(campaign_id), load_spec(spec), reason), as_json)


@click.command("show")
@click.argument("campaign_id")
@json_option("Print JSON.")
@click.pass_context
@errors_to_exit_codes
def show_cmd(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """Show one campaign: state, versions, counts, what it waits for.

    Example: cxpreview show 3f2a9c0d1e4b5a69 --json
    """
    engine = open_engine(ctx, gateway=False, read_only=True)
    state, history = engine.details(engine.find(campaign_id))
    left_out, missing = exclusions(history), fields_absent(history)
    if as_json:
        print_json({**to_plain(state), "excluded": left_out, "fields_absent": missing})
    else:
        click.echo(summary(state, left_out, missing))


@click.command("history")
@click.argument("campaign_id")
@click.option("--as-of", help="Stop at a global seq, or at a UTC time (ISO-8601).")
@json_option("Print JSON: one object per event.")
@click.pass_context
@errors_to_exit_codes
def history_cmd(ctx: click.Context, campaign_id: str, as_of: str | None, as_json: bool) -> None:
    """A campaign's events as a timeline: seq, time, event, state before -> after, latency
    and actor.

    Example: cxpreview history 3f2a9c0d1e4b5a69 --as-of 2026-11-29T10:00:00Z
    """
    engine = open_engine(ctx, gateway=False, read_only=True)
    history = engine.history(engine.find(campaign_id))
    if as_of is not None:
        seq, time = parse_as_of(as_of)
        history = [
            h
            for h in history
            if (seq is None or h.seq <= seq) and (time is None or h.recorded_at <= time)
        ]
    if as_json:
        states = [s.state for s in states_along(history)]
        print_json(
            [
                {
                    "seq": h.seq,
                    "version": h.version,
                    "type": h.type,
                    "recorded_at": h.recorded_at,
                    "state_before": before or None,
                    "state_after": after,
                    "event": to_plain(h.event),
                    "meta": h.meta,
                }
                for h, before, after in zip(history, ["", *states], states, strict=False)
            ]
        )
    else:
        console().print(timeline(history))


CAMPAIGN_COMMANDS = [resolve_cmd, *STEPS, cancel_cmd, revise_cmd, show_cmd, history_cmd]
