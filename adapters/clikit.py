"""What every cxpreview command shares: exit codes, error handling, opening the journal."""

from __future__ import annotations

import functools
import getpass
import json
import math
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from adapters.cxone import HttpCXoneGateway, SettingsError
from engine import CampaignBusy, CampaignClaimed, CampaignNotFound, EngineError, SpecError
from events import CxpreviewError
from journal import JournalError, LeaseLost, SQLiteJournal, utc_text

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = "cxpreview.db"
EXIT_CAMPAIGN, EXIT_USAGE, EXIT_JOURNAL, EXIT_HELD = 1, 2, 3, 4
EXIT_CODES = (
    "Exit codes: 0 done, 1 a campaign ended failed or conflicted, 2 usage or spec error, "
    "3 journal problem (missing, damaged, busy, behind, not a journal), 4 held elsewhere "
    "(another process works on the campaign, or another live campaign claims its CXone "
    "campaign)."
)


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
            usage = SpecError | CampaignNotFound | SettingsError
            if isinstance(exc, EngineError) and not isinstance(exc, usage):
                code = EXIT_CAMPAIGN
            if isinstance(exc, CampaignBusy | CampaignClaimed | LeaseLost):
                code = EXIT_HELD
            click.echo(f"error: {exc}", err=True)
            ctx.exit(code)

    return wrapper  # type: ignore[return-value]


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


def process_owner(role: str) -> str:
    """Who this process is on leases and in the journal: ``role:user@host:pid:pidns`` (the
    PID namespace tells processes of two containers with one hostname apart)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        user = str(os.getuid())
    return f"{role}:{user}@{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return ""


def owner_is_dead(owner: str) -> bool:
    """Whether a lease's owner is a process of this machine (same host, same PID namespace)
    that no longer runs. Anything else, or any doubt, is taken as alive: its lease then runs
    out by itself. A reused pid only makes a dead holder look alive, never the reverse."""
    head, sep, rest = owner.rpartition("@")
    parts = rest.split(":")
    if not sep or not head or len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid, namespace = parts[0], int(parts[1]), parts[2]
    if host != socket.gethostname() or not namespace or namespace != _pid_namespace():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by someone else
        return False
    try:  # killed but not yet reaped by its parent: it runs no more
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError, UnicodeDecodeError):
        return False


def open_journal(ctx: click.Context, *, create: bool = False) -> SQLiteJournal:
    """The journal named by --db, closed when the command ends. Only the commands that write a
    campaign's first events (draft, run, audit import) may ``create`` it: a mistyped --db for
    any other is an error (exit 3), not a new empty journal that says "ok"."""
    journal = SQLiteJournal(ctx.obj["db"], create=create)
    ctx.call_on_close(journal.close)
    return journal


def parse_as_of(value: str) -> tuple[int | None, str | None]:
    """``--as-of``: a global seq (digits) or a time (ISO-8601, UTC unless it says otherwise),
    as ``(seq, None)`` or ``(None, utc_text)``."""
    if value.isdigit():
        return int(value), None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a seq nor a time (e.g. 1042 or 2026-11-29T10:00:00Z)",
            param_hint="--as-of",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return None, utc_text(moment)


def print_json(value: Any) -> None:
    """JSON on stdout, indented, for the commands' ``--json``."""
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def open_gateway(ctx: click.Context) -> HttpCXoneGateway:
    """The CXone gateway from the global flags, else ``CXONE_*`` in the environment; closed
    when the command ends."""
    environ = dict(os.environ)
    settings = ctx.find_root().params
    for flag, name in [
        ("base_url", "CXONE_BASE_URL"),
        ("client_id", "CXONE_CLIENT_ID"),
        ("client_secret_file", "CXONE_CLIENT_SECRET_FILE"),
        ("ca_file", "CXONE_CA_FILE"),
    ]:
        if settings.get(flag):
            environ[name] = settings[flag]
    if settings.get("client_secret_file"):
        environ.pop("CXONE_CLIENT_SECRET", None)  # the file named on the command line wins
    gateway = HttpCXoneGateway.from_env(environ, insecure=bool(settings.get("insecure")))
    ctx.call_on_close(gateway.close)
    return gateway
