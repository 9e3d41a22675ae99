"""The one place where a journal, a gateway and an engine are wired from settings.

Every command, the demo and the supervisor get theirs from here: the journal from ``--db``
(or ``$CXPREVIEW_DB``), the gateway from the global CXone flags or ``CXONE_*``, the engine
from both, with who this process is on leases and in the journal. A new journal backend or a
second CXone dialect is chosen here and nowhere else.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click
from rich.text import Text

from adapters.cli.views import building_heads, console
from engine import CXoneGateway, Engine
from engine.ports import DialectGateways
from journal import InMemoryJournal, Journal
from journal import open_journal as journal_by_location

if TYPE_CHECKING:  # httpx and the gateway cost start-up: imported when a command calls CXone
    from adapters.cxone import Credentials, HttpCXoneGateway


def journal_at(location: str, *, create: bool = False, read_only: bool = False) -> Journal:
    """The journal at ``location`` (a file path: SQLite; a ``postgresql://`` URL:
    PostgreSQL); ``create`` it if there is none; ``read_only``: see ``open_journal``."""
    return journal_by_location(location, create=create, read_only=read_only)


def gateway_for(credentials: Credentials, **options: object) -> HttpCXoneGateway:
    """The HTTP gateway for ``credentials`` (the demo's, or a test's)."""
    from adapters.cxone import HttpCXoneGateway  # noqa: PLC0415

    return HttpCXoneGateway(credentials, **options)  # type: ignore[arg-type]


def engine_with(
    journal: Journal,
    gateway: CXoneGateway | DialectGateways | None = None,
    *,
    actor: str = "cxpreview",
    role: str | None = None,
) -> Engine:
    """An engine over ``journal`` and ``gateway``; with a ``role``, its runs take leases as
    this process (``role:user@host:pid:pidns``), and a lease of a local process that no
    longer runs is taken over at once."""
    if role is None:
        return Engine(journal, gateway, actor=actor)
    return Engine(journal, gateway, actor=actor, owner=process_owner(role), is_dead=owner_is_dead)


def open_engine(
    ctx: click.Context,
    *,
    gateway: bool = True,
    create: bool = False,
    role: str | None = None,
    actor: str | None = None,
    dialects: Iterable[str] = (),
    read_only: bool = False,
) -> Engine:
    """The engine for a command: the journal from --db and (with ``gateway``) CXone from the
    global flags, both closed when the command ends; its events name ``actor``, else the
    global ``--actor`` (the OS user at this host unless told otherwise). ``read_only``: for a
    command that only reads (``open_journal``); the heads of a journal that has none are then
    not built (its readers fold the events)."""
    engine = engine_with(
        open_journal(ctx, create=create, read_only=read_only),
        open_gateway(ctx, dialects) if gateway else None,
        actor=actor or ctx.find_root().obj.get("actor") or default_actor(),
        role=role,
    )
    if not read_only and not engine.journal.heads_ready():
        build_heads(engine)
    return engine


def build_heads(engine: Engine) -> int:
    """Build the campaigns' heads from the events, with a bar on stderr (a journal written
    before heads existed, or imported: once; every append keeps them afterwards)."""
    total = sum(1 for _ in engine.journal.streams())
    with building_heads(console(stderr=True), total) as progress:
        return engine.rebuild_heads(progress)


def say_if_folding(journal: Journal) -> None:
    """One line on stderr when ``journal`` has no campaign heads to read (written before them,
    or imported) and a command that only reads (it makes none) folds every event instead."""
    if not journal.heads_ready():
        console(stderr=True).print(
            Text(
                "this journal has no campaign heads yet (written by an earlier release, or "
                "imported): reading its events instead, which takes longer on a long journal; "
                "the next command that writes makes them once (or: cxpreview audit "
                "rebuild-heads)"
            )
        )


def default_actor() -> str:
    """``user@host``: who runs this process, as the journal names them by default."""
    return f"{_user()}@{socket.gethostname()}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        return str(os.getuid())


def scratch_engine(ctx: click.Context) -> Engine:
    """An engine over a journal in memory, for a command that reads CXone and writes nothing."""
    return engine_with(InMemoryJournal(), open_gateway(ctx))


def open_journal(ctx: click.Context, *, create: bool = False, read_only: bool = False) -> Journal:
    """The journal named by --db, closed when the command ends. Only the commands that write a
    campaign's first events (draft, run, audit import) may ``create`` it: a mistyped --db for
    any other is an error (exit 3), not a new empty journal that says "ok". A command that only
    reads opens it ``read_only``: a journal written by an earlier release is read as it is,
    neither migrated nor given heads (the next command that writes does both), so an
    auditor's copy keeps its bytes."""
    journal = journal_at(ctx.obj["db"], create=create, read_only=read_only)
    ctx.call_on_close(journal.close)
    return journal


TUTORIAL_SETTINGS = (
    "CXONE_BASE_URL",
    "CXONE_CLIENT_ID",
    "CXONE_CLIENT_SECRET",
    "CXONE_CLIENT_SECRET_FILE",
)
ACD_SETTINGS = ("CXONE_ACCESS_KEY_ID", "CXONE_ACCESS_KEY_SECRET", "CXONE_ACCESS_KEY_SECRET_FILE")


def open_gateway(ctx: click.Context, dialects: Iterable[str] = ()) -> DialectGateways:
    """A CXone gateway per dialect, each made when a campaign of its dialect first calls out:
    the tutorial's from the global flags, else ``CXONE_BASE_URL``, ``CXONE_CLIENT_ID``, …;
    the ACD API's (``dialect = "cxone"``) from ``CXONE_ACCESS_KEY_ID`` and
    ``CXONE_ACCESS_KEY_SECRET`` (or ``…_FILE``), with ``CXONE_API_BASE`` to skip discovery.
    A dialect whose settings are given (or, with none given, the tutorial's), and every one
    of ``dialects``, is made now, so that what is wrong with its settings is said before
    anything is written; any other says what it lacks when first needed. Closed when the
    command ends."""
    environ = dict(os.environ)
    settings = ctx.find_root().params
    for flag, name in [
        ("base_url", "CXONE_BASE_URL"),
        ("client_id", "CXONE_CLIENT_ID"),
        ("client_secret_file", "CXONE_CLIENT_SECRET_FILE"),
        ("ca_file", "CXONE_CA_FILE"),
        ("max_rps", "CXONE_MAX_RPS"),
    ]:
        if settings.get(flag):
            environ[name] = str(settings[flag])
    if settings.get("client_secret_file"):
        environ.pop("CXONE_CLIENT_SECRET", None)  # the file named on the command line wins
    insecure = bool(settings.get("insecure"))

    def tutorial() -> CXoneGateway:
        from adapters.cxone import HttpCXoneGateway  # noqa: PLC0415 - start-up cost

        return HttpCXoneGateway.from_env(environ, insecure=insecure)

    def cxone() -> CXoneGateway:
        from adapters.cxone.acd import AcdGateway  # noqa: PLC0415 - start-up cost

        return AcdGateway.from_env(environ, insecure=insecure)

    gateways = DialectGateways({"tutorial": tutorial, "cxone": cxone})

    def close() -> None:
        for gateway in gateways.made():
            gateway.close()  # type: ignore[attr-defined]

    ctx.call_on_close(close)
    given = {
        d
        for d, names in (("tutorial", TUTORIAL_SETTINGS), ("cxone", ACD_SETTINGS))
        if any(environ.get(n) for n in names)
    }
    for dialect in sorted({*(given or {"tutorial"}), *dialects}):
        gateways.for_dialect(dialect)
    return gateways


def process_owner(role: str) -> str:
    """Who this process is on leases and in the journal: ``role:user@host:pid:pidns`` (the
    PID namespace tells processes of two containers with one hostname apart)."""
    return f"{role}:{_user()}@{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}"


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
