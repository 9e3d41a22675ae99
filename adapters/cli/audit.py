"""``cxpreview audit …``, ``metrics`` and ``diagram``: the commands for auditors."""

from __future__ import annotations

import csv
import itertools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import attrs
import click

from adapters.cli.bootstrap import (
    build_heads,
    journal_at,
    open_engine,
    open_journal,
    say_if_folding,
)
from adapters.cli.kit import (
    errors_to_exit_codes,
    json_option,
    parse_as_of,
    print_json,
)
from adapters.cli.views import activations_table, console, metrics_table, summary, verifying
from engine import Engine, mermaid, verify
from engine.audit import Activation, activations, replay_visitor
from engine.metrics import AUDIT_LOG_FIELDS, audit_log, measure, transition_counts
from events import to_plain
from events.errors import EXIT_JOURNAL
from journal import ChainReport, Journal, JournalCorrupt, JournalError, RawRow
from journal.schema import VIEWS_SINCE, datasette_metadata
from journal.transfer import read_jsonl, write_jsonl


@click.command("diagram")
@click.option("--counts", is_flag=True, help="Label each edge with how often it was taken.")
@click.pass_context
@errors_to_exit_codes
def diagram_cmd(ctx: click.Context, counts: bool) -> None:
    """Print the campaign state machine as a mermaid diagram.

    Example: cxpreview diagram --counts > machine.mmd
    """
    taken: dict[tuple[str, str], int] = {}
    if counts:
        for edge, n in transition_counts(open_journal(ctx, read_only=True)).items():
            source, trigger = edge.split(":")
            taken[(source, trigger)] = n
    click.echo(mermaid(taken), nl=False)


@click.command("metrics")
@json_option("Print JSON.")
@click.pass_context
@errors_to_exit_codes
def metrics_cmd(ctx: click.Context, as_json: bool) -> None:
    """Activation latency (p50, p95, max), success and conflict rates, campaigns by state.

    Example: cxpreview metrics --json
    """
    journal = open_journal(ctx, read_only=True)
    say_if_folding(journal)
    m = measure(journal)
    if as_json:
        click.echo(json.dumps(m.as_dict(), indent=2, sort_keys=True))
        return
    console().print(metrics_table(m))


@click.group("audit")
def audit_group() -> None:
    """Verify, replay, export and import the journal.

    Example: cxpreview audit verify
    """


@audit_group.command("verify")
@click.option("--anchor", help="SEQ:HASH from an earlier verify, which must still be there.")
@json_option("Print the verdict as JSON.")
@click.option(
    "--deep", is_flag=True, help="Also run SQLite's integrity_check over the file's pages."
)
@click.pass_context
@errors_to_exit_codes
def audit_verify_cmd(ctx: click.Context, anchor: str | None, as_json: bool, deep: bool) -> None:
    """Check the hash chain, replay every campaign against its recorded digests, check every
    transition against the machine and every eligible set against its digest; name the first
    bad seq (exit 3). --deep also checks the file itself (its indexes).

    Example: cxpreview audit verify --anchor 1042:9f0c2a...
    """
    point = None
    if anchor:
        seq, _, hash_ = anchor.partition(":")
        if not seq.isdigit() or len(hash_) != 64:
            raise click.UsageError("--anchor takes SEQ:HASH (the 64-hex hash verify printed)")
        point = (int(seq), hash_)
    journal = open_journal(ctx, read_only=True)
    problem = journal.integrity_problem() if deep else None  # a damaged file explains the rest
    with verifying(console(stderr=True), journal.last_seq()) as progress:
        report = verify(journal, anchor=point, progress=progress)
    if problem is not None:
        report = ChainReport(False, report.events, None, problem, report.head)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "events": report.events,
                "first_bad_seq": report.first_bad_seq,
                "problem": report.problem,
                "anchor": f"{report.head[0]}:{report.head[1]}" if report.ok else None,
            }
        )
    else:
        click.echo(str(report))
        if report.ok:
            click.echo(f"anchor: {report.head[0]}:{report.head[1]}")
    if not report.ok:
        ctx.exit(EXIT_JOURNAL)


@audit_group.command("replay")
@click.argument("campaign_id")
@click.option("--as-of", help="A global seq, or a UTC time (ISO-8601).")
@json_option("Print the whole state as JSON.")
@click.pass_context
@errors_to_exit_codes
def audit_replay_cmd(
    ctx: click.Context, campaign_id: str, as_of: str | None, as_json: bool
) -> None:
    """The campaign's state, folded from its events, now or as of a seq or a time.

    Example: cxpreview audit replay 3f2a9c0d1e4b5a69 --as-of 2026-11-29T10:00:00Z
    """
    engine = open_engine(ctx, gateway=False, read_only=True)
    campaign_id = engine.find(campaign_id)
    if as_of is None:
        state = engine.inspect(campaign_id)
    else:
        seq, time = parse_as_of(as_of)
        state = engine.state_at(campaign_id, seq=seq, time=time)
    if as_json:
        print_json({**to_plain(state), "digest": state.digest()})
    else:
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
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="File (created 0600; default stdout)."
)
@click.pass_context
@errors_to_exit_codes
def audit_export_cmd(ctx: click.Context, fmt: str, output: str | None) -> None:
    """Export the journal: JSONL re-imports into an empty journal that verifies identically;
    CSV is the audit log (timestamp, action, campaignId, status, latencyMs, successRate).

    Example: cxpreview audit export --format csv -o audit.csv
    """
    journal = open_journal(ctx, read_only=True)
    with _private(output) as out:
        _export(journal, fmt, out)


@contextmanager
def _private(path: str | None) -> Iterator[IO[str]]:
    """``path`` opened for writing, owner-only from the start (an export holds what the
    journal holds); stdout when None."""
    if path is None:
        yield sys.stdout
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when it existed before with other bits
    with open(fd, "w", encoding="utf-8", newline="") as out:
        yield out


def _export(journal: Journal, fmt: str, output: IO[str]) -> None:
    if fmt == "jsonl":
        write_jsonl(journal.raw_rows(), output, journal.blobs())
        return
    writer = csv.DictWriter(output, fieldnames=AUDIT_LOG_FIELDS)
    writer.writeheader()
    writer.writerows(audit_log(journal))


@audit_group.command("import")
@click.argument("source", type=click.File("r"))
@json_option("Print how many events were imported as JSON.")
@click.pass_context
@errors_to_exit_codes
def audit_import_cmd(ctx: click.Context, source: Any, as_json: bool) -> None:
    """Load a JSONL export into an empty journal, checking every row against the chain.

    Example: cxpreview --db copy.db audit import export.jsonl
    """
    journal = open_journal(ctx, create=True)
    count = journal.import_rows(read_jsonl(source, source.name), replay_visitor(journal))
    build_heads(Engine(journal))  # imported rows come without their campaigns' heads
    if as_json:
        print_json({"imported": count, "head": list(journal.verify().head)})
    else:
        click.echo(f"imported {count} events")


@audit_group.command("copy")
@click.argument("source")
@click.argument("target")
@json_option("Print what was copied and the head both verify to as JSON.")
@click.pass_context
@errors_to_exit_codes
def audit_copy_cmd(ctx: click.Context, source: str, target: str, as_json: bool) -> None:
    """Copy a journal into an empty one, either way between SQLite files and PostgreSQL
    (``postgresql://`` URLs): every row checked on the way in as an import checks it, then
    both verified; the head hash they give is the same, or it exits 3.

    SOURCE is only read. TARGET is created if it does not exist and must hold no events.

    Example: cxpreview audit copy journal.db postgresql://cxpreview@db.internal/cxpreview
    """
    with journal_at(source, read_only=True) as origin:
        rows: Iterator[RawRow | bytes] = itertools.chain(origin.blobs(), origin.raw_rows())
        with journal_at(target, create=True) as copy:
            count = copy.import_rows(rows, replay_visitor(copy))
            build_heads(Engine(copy))  # imported rows come without their campaigns' heads
            there = verify(copy)
        here = verify(origin)
    if not (here.ok and there.ok and here.head == there.head):
        raise JournalCorrupt(
            f"after the copy, {source} verifies to {here.head} ({here.problem or 'ok'}) and "
            f"{target} to {there.head} ({there.problem or 'ok'})"
        )
    if as_json:
        print_json({"copied": count, "head": list(there.head)})
    else:
        seq, digest = there.head
        click.echo(f"copied {count} events; both verify to head seq {seq} {digest[:16]}")


@audit_group.command("rebuild-heads")
@json_option("Print how many campaigns' heads were built as JSON.")
@click.pass_context
@errors_to_exit_codes
def audit_rebuild_heads_cmd(ctx: click.Context, as_json: bool) -> None:
    """Write every campaign's head again from its events (the one-row-per-campaign read
    model that status, metrics and the supervisor read; audit verify checks it). Needed only
    after a head was changed by hand: every append keeps them, and a journal from before
    heads existed gets them built the first time a command opens it.

    Example: cxpreview audit rebuild-heads
    """
    journal = open_journal(ctx)
    count = build_heads(Engine(journal))
    if as_json:
        print_json({"campaigns": count})


@audit_group.command("activations")
@click.option("--campaign", help="Only this campaign: its id, or the CXone campaign id.")
@click.option("--since", help="Only from this UTC time on (ISO-8601).")
@json_option("Print JSON: one object per activation.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@click.pass_context
@errors_to_exit_codes
def audit_activations_cmd(
    ctx: click.Context, campaign: str | None, since: str | None, as_json: bool, as_csv: bool
) -> None:
    """Who activated which CXone campaign, when, against which version, and how it ended
    (the journal's ``activations`` view holds the same rows, for SQL and Datasette).

    Example: cxpreview audit activations --campaign cmp-1001 --since 2026-11-01 --csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json or --csv")
    if since is not None:
        parse_as_of(since)  # a bad time is a usage error naming --since
    rows = [
        attrs.asdict(a) for a in activations(open_journal(ctx, read_only=True), campaign, since)
    ]
    if as_json:
        print_json(rows)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=[f.name for f in attrs.fields(Activation)])
        writer.writeheader()
        writer.writerows(rows)
    else:
        console().print(activations_table(rows))


@audit_group.command("datasette")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout."
)
@click.pass_context
@errors_to_exit_codes
def audit_datasette_cmd(ctx: click.Context, output: str | None) -> None:
    """Datasette metadata for this journal: titles, and canned queries an auditor asks
    (who activated a CXone campaign, campaigns by their last event, activations that were
    reconciled). Then: datasette demo.db -m metadata.json

    Example: cxpreview --db demo.db audit datasette -o metadata.json
    """
    journal = open_journal(ctx, read_only=True)  # a journal must be there, with the views
    version = getattr(journal.recorder, "schema_version", VIEWS_SINCE)
    if version < VIEWS_SINCE:
        raise JournalError(
            f"{ctx.obj['db']} is at journal schema {version}, from before the views Datasette "
            "shows; this command only reads, so it does not migrate it: any command that "
            "writes does (`cxpreview --db ... audit rebuild-heads`)"
        )
    text = json.dumps(datasette_metadata(ctx.obj["db"]), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
