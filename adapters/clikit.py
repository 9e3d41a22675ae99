"""What every cxpreview command shares: exit codes, error handling, opening the journal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from engine import CampaignNotFound, EngineError, SpecError
from events import CxpreviewError
from journal import JournalError, SQLiteJournal

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = "cxpreview.db"
EXIT_CAMPAIGN, EXIT_USAGE, EXIT_JOURNAL = 1, 2, 3


def errors_to_exit_codes(fn: F) -> F:
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


def open_journal(ctx: click.Context) -> SQLiteJournal:
    journal = SQLiteJournal(ctx.obj["db"])
    ctx.call_on_close(journal.close)
    return journal
