"""What every cxpreview command shares: exit codes, error handling, shared options, parsing
and printing."""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from adapters.cli.views import summary
from engine import SpecError
from events import CxpreviewError, FieldProblem, instant, to_plain

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = "cxpreview.db"
EXIT_CODES = (
    "Exit codes: 0 done, 1 a campaign ended failed or conflicted, 2 usage or spec error, "
    "3 journal problem (missing, damaged, busy, behind, not a journal), 4 held elsewhere "
    "(another process works on the campaign, or another live campaign claims its CXone "
    "campaign)."
)


def errors_to_exit_codes(fn: F) -> F:
    """One line on stderr and the error's own exit code instead of a traceback (``--debug``
    keeps it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return fn(*args, **kwargs)
        except CxpreviewError as exc:
            if ctx.obj.get("debug"):
                raise
            if ctx.find_root().obj.get("log_json"):  # stderr carries JSON lines only
                logging.getLogger("cxpreview.cli").error(
                    str(exc), extra={"error": type(exc).__name__, "exit_code": exc.exit_code}
                )
            else:
                click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def json_option(what: str = "Print JSON.") -> Callable[[F], F]:
    """``--json`` (as ``as_json``), as every command that can print JSON takes it."""
    return click.option("--json", "as_json", is_flag=True, help=what)


COMMAND_ID = click.option(
    "--command-id",
    help="Make the command idempotent: given the same id again, it returns what the first did "
    "(another command under the same id is refused).",
)


DEFAULT_WORKERS = 8
WORKERS = click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Campaigns in flight at once, each under its own lease, sharing one HTTP pool, one "
    "token and one request budget (--max-rps); 1 takes them one after another.",
)


class Seconds(click.ParamType[float]):
    """A number of seconds, finite and within ``(low, high]``: ``nan``, ``inf``, ``0`` or
    ``1e300`` is a usage error naming the option, not a traceback later."""

    name = "seconds"

    def __init__(self, low: float = 0.0, high: float = 7 * 24 * 3600.0) -> None:
        self.low, self.high = low, high

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not self.low < seconds <= self.high:
            self.fail(
                f"{value!r} must be a number of seconds above {self.low:g} and at most "
                f"{self.high:g}",
                param,
                ctx,
            )
        return seconds


def is_spec(target: str) -> bool:
    """Whether a TARGET (a spec file or a campaign) names a spec file: one that exists, or a
    path that looks like one (``SpecError`` then: no such file, rather than no such campaign)."""
    if os.path.isfile(target):
        return True
    if target.endswith(".toml") or os.sep in target:
        raise SpecError([FieldProblem("(file)", "no such file")], target)
    return False


def parse_as_of(value: str) -> tuple[int | None, str | None]:
    """``--as-of``: a global seq (digits) or a time (ISO-8601, UTC unless it says otherwise),
    as ``(seq, None)`` or ``(None, utc_text)``."""
    if value.isdigit():
        return int(value), None
    try:
        return None, instant(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a seq nor a time (e.g. 1042 or 2026-11-29T10:00:00Z)",
            param_hint="--as-of",
        ) from None


def report(state: Any, as_json: bool) -> None:
    """A command's resulting campaign: its summary, or (``--json``) the whole state."""
    if as_json:
        print_json(to_plain(state))
    else:
        click.echo(summary(state))


def print_json(value: Any) -> None:
    """JSON on stdout, indented, for the commands' ``--json``."""
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def stream_json(items: Iterable[Any]) -> None:
    """A JSON array on stdout written item by item, one item to a line, so a long answer
    (every campaign of a big journal) is never held whole; compact, so it is encoded in C."""
    encode = json.JSONEncoder(sort_keys=True, separators=(", ", ": ")).encode
    chunk: list[str] = []
    first = True
    for item in items:
        chunk.append(("[\n" if first else ",\n") + encode(item))
        first = False
        if len(chunk) == 1000:
            click.echo("".join(chunk), nl=False)
            chunk.clear()
    click.echo("".join(chunk) + ("[]" if first else "\n]"))
