"""``cxpreview``: the command line. Each command opens the journal, makes one library call, and
turns the library's error into one line and an exit code.

Exit codes: 0 done; 1 a campaign ended failed or conflicted; 2 a usage or spec error;
3 a journal problem (missing, damaged, busy, not a journal).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from engine import CampaignNotFound, Engine, EngineError, SpecError, load_spec, mermaid, verify
from events import CxpreviewError
from journal import JournalError, SQLiteJournal

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
@click.pass_context
@_errors_to_exit_codes
def status_cmd(ctx: click.Context) -> None:
    """List every campaign with its state and version.

    Example: cxpreview status
    """
    for c in Engine(_journal(ctx)).campaigns():
        error = f"  {c.last_error}" if c.last_error else ""
        click.echo(f"{c.id}  {c.state:<10}  v{c.version:<4} {c.name}{error}")


@cli.command("verify")
@click.pass_context
@_errors_to_exit_codes
def verify_cmd(ctx: click.Context) -> None:
    """Check the hash chain and replay every campaign against its recorded digests.

    Example: cxpreview verify
    """
    report = verify(_journal(ctx))
    click.echo(str(report))
    if not report.ok:
        ctx.exit(EXIT_JOURNAL)


@cli.command("diagram")
@_errors_to_exit_codes
def diagram_cmd() -> None:
    """Print the campaign state machine as a mermaid diagram.

    Example: cxpreview diagram > machine.mmd
    """
    click.echo(mermaid(), nl=False)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="cxpreview")
    sys.exit(0)
