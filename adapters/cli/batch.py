"""``cxpreview run`` with several targets: spec files, campaign ids, or folders of specs.

The campaigns run as a supervisor's do: up to ``--workers`` at once, each under its own
lease, all sharing the process's one gateway (its HTTP pool, token and request budget). Every
spec is read before anything is drafted, so one bad spec stops the whole run with nothing
written. Each campaign gets one line as it ends; a table sums them all up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import click

from adapters.cli.kit import is_spec
from engine import CampaignSpec, CampaignState, Engine, SpecError, load_spec
from engine.lifecycle import finished
from events import CxpreviewError, FieldProblem
from events.errors import EXIT_CAMPAIGN


@attrs.frozen
class Ended:
    """How one target's run ended."""

    target: str
    campaign_id: str | None
    remote: str  # the CXone campaign, when known
    state: str  # the campaign's state, or "error", or "not started"
    eligible: int | None
    seconds: float
    note: str
    exit_code: int  # what this target alone would exit with


def expand(targets: Sequence[str]) -> list[str]:
    """The targets, each folder replaced by the ``*.toml`` files directly inside it (in name
    order); each target once. A folder without a spec is a usage error naming it."""
    found: list[str] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            specs = sorted(str(p) for p in path.glob("*.toml") if p.is_file())
            if not specs:
                raise click.UsageError(f"{target}: a folder without any *.toml spec")
            found.extend(specs)
        else:
            found.append(target)
    return list(dict.fromkeys(found))


def read_specs(targets: Sequence[str]) -> list[tuple[str, CampaignSpec | None]]:
    """Each target with its spec (None for a campaign id); ``SpecError`` listing every
    problem of every spec file, each named by its file, before anything is written."""
    loaded: list[tuple[str, CampaignSpec | None]] = []
    problems: list[FieldProblem] = []
    for target in targets:
        if not is_spec(target):
            loaded.append((target, None))
            continue
        try:
            loaded.append((target, load_spec(target)))
        except SpecError as exc:
            problems.extend(attrs.evolve(p, path=f"{target}: {p.path}") for p in exc.problems)
    if problems:
        raise SpecError(problems, f"{len(problems)} problem(s) in the specs")
    return loaded


def run_all(
    engine: Engine,
    targets: Sequence[tuple[str, CampaignSpec | None]],
    *,
    workers: int,
    lease_ttl: float,
    stop: threading.Event,
    told: Callable[[Ended], None],
) -> list[Ended]:
    """Run every target, up to ``workers`` at once; ``told`` hears of each as it ends. Once
    ``stop`` is set nothing more starts, and the runs in flight end after their step."""

    def one(target: str, spec: CampaignSpec | None) -> Ended:
        if stop.is_set():
            ended = Ended(target, None, _remote(spec), "not started", None, 0.0, "stopped", 1)
            told(ended)
            return ended
        started = time.monotonic()
        try:
            if spec is not None:
                s = engine.run_spec(spec, None, lease_ttl=lease_ttl, should_stop=stop.is_set)
            else:
                campaign_id = engine.find(target)
                s = engine.run(campaign_id, None, lease_ttl=lease_ttl, should_stop=stop.is_set)
        except CxpreviewError as exc:
            took = time.monotonic() - started
            note, code = str(exc), exc.exit_code
            ended = Ended(target, None, _remote(spec), "error", None, took, note, code)
        else:
            ended = _ended(target, s, time.monotonic() - started)
        told(ended)
        return ended

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="run") as pool:
        return list(pool.map(lambda t: one(*t), targets))


def _remote(spec: CampaignSpec | None) -> str:
    return spec.campaign_id if spec is not None else ""


def _ended(target: str, s: CampaignState, seconds: float) -> Ended:
    note = s.last_error or ""
    if s.state == "active" and not note:
        note = "webhook registered" if s.webhook_id else "dialing" if s.dialing_started else ""
    code = 0 if finished(s) else EXIT_CAMPAIGN
    remote = str(s.spec.get("campaign_id", ""))
    return Ended(target, s.id, remote, s.state, s.eligible, seconds, note, code)


def exit_code(ended: Sequence[Ended]) -> int:
    """0 when every campaign ended active; else the highest of the targets' own codes (1 a
    campaign ended otherwise, 4 held elsewhere, 3 a journal problem, ...)."""
    return max((e.exit_code for e in ended), default=0)


def refuse_command_id(command_id: str | None, targets: Sequence[str]) -> None:
    """``--command-id`` names one command: with several targets it would name several."""
    if command_id is not None and len(targets) > 1:
        raise click.UsageError(
            f"--command-id names one run; {len(targets)} targets were given", None
        )
