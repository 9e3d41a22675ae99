"""Views of campaigns for people: a status table, a history timeline, a one-campaign summary,
and the progress bar shown while contacts are filtered (all drawn with rich)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

from rich import box
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from engine import CampaignState, Plan
from engine.aggregate import steps
from engine.contacts import absent
from engine.metrics import Metrics
from events import (
    ActivationConflicted,
    ActivationSucceeded,
    ConflictRebased,
    ConflictResolved,
    ContactsFiltered,
    Event,
    FilterFailed,
    ValidationFailed,
    canonical_json,
    parse_utc_text,
    revision_text,
)
from journal import Head, StoredEvent

WIDTH_WHEN_PIPED = 160
"""Rich wraps to 80 columns when it is not writing to a terminal; a pipe or a file gets this."""


def console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console that keeps colours for terminals and whole lines for pipes."""
    out = Console(file=file, stderr=stderr, highlight=False)
    if not out.is_terminal:
        out = Console(file=file, stderr=stderr, highlight=False, width=WIDTH_WHEN_PIPED)
    return out


def age(since: str, now: datetime) -> str:
    """How long ago a UTC text time was, in its two largest units: ``3m 12s``, ``2d 4h``."""
    seconds = max(0, int((now - parse_utc_text(since)).total_seconds()))
    units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
    parts: list[str] = []
    for suffix, size in units:
        if seconds >= size or (suffix == "s" and not parts):
            parts.append(f"{seconds // size}{suffix}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127, *range(128, 160))}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def visible(text: object) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\n``): a name
    from a spec or a message from CXone cannot clear the screen, move the cursor or forge a
    table row."""
    return str(text).translate(_CONTROL)


def cell(text: object) -> Text:
    """A table cell shown as written: control characters visible, no rich markup read."""
    return Text(visible(text))


def status_table(heads: Sequence[Head], now: datetime) -> Table:
    """One row per campaign: id, name, state, version, its last event and how long ago."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # What identifies is never cut (an id is what every other command takes): those columns
    # keep their widest value; the name and the note fold onto more lines instead.
    keep = {
        "id": max((len(h.stream_id) for h in heads), default=2),
        "state": max((len(h.state) for h in heads), default=5),
        "version": max((len(str(h.version)) for h in heads), default=7),
        "last event": max((len(h.last_type) for h in heads), default=10),
    }
    for column in ("id", "name", "state", "version", "last event", "age", "note"):
        table.add_column(
            column,
            justify="right" if column in ("version", "age") else "left",
            min_width=keep.get(column),
            no_wrap=column in keep or column == "age",
            overflow="fold",
        )
    for h in heads:
        note = ""
        if h.open_step:
            note = f"unfinished {h.open_step}"
        elif h.last_error:
            note = h.last_error
        table.add_row(
            cell(h.stream_id),
            cell(h.name),
            _styled(h.state),
            str(h.version),
            cell(h.last_type),
            age(h.last_at, now),
            cell(note),
            end_section=False,
        )
    return table


def ended_line(ended: Any, done: int, total: int) -> Text:
    """One campaign of several, as it ends: where it got to, how long it took, and why."""
    width = len(str(total))
    line = Text(f"[{done:>{width}}/{total}] ")
    line.append(ended.target, style="bold")
    if ended.campaign_id:
        line.append(f"  campaign {ended.campaign_id}")
    line.append("  ")
    line.append(ended.state, style=_STYLES.get(ended.state) or "")
    detail = [f"{ended.seconds:.1f}s"]
    if ended.eligible is not None:
        detail.insert(0, f"{ended.eligible:,} eligible")
    line.append(f" ({', '.join(detail)})")
    if ended.note:
        line.append(f": {visible(ended.note)}", style="dim" if ended.exit_code == 0 else "")
    return line


def ended_table(ended: Sequence[Any]) -> Table:
    """Several campaigns' runs summed up: one row each, then how many ended in each state."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("target", "campaign", "CXone", "state", "eligible", "time", "note"):
        right = column in ("eligible", "time")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for e in ended:
        table.add_row(
            cell(e.target),
            e.campaign_id or "",
            cell(e.remote),
            _styled(e.state),
            "" if e.eligible is None else f"{e.eligible:,}",
            f"{e.seconds:.1f}s",
            cell(e.note),
        )
    counts: dict[str, int] = {}
    for e in ended:
        counts[e.state] = counts.get(e.state, 0) + 1
    table.caption = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return table


def plan_view(plan: Plan) -> Group:
    """What an activation would change, field by field: CXone's value now and ours."""
    who = f"campaign {plan.campaign_id}" if plan.campaign_id else "a campaign from this spec"
    if isinstance(plan.remote_version, int):  # the tutorial's: a version, sent as If-Match
        head = Text(
            f"{who} -> CXone campaign {plan.remote_id}: CXone is at version "
            f"{plan.remote_version}; the PUT would send If-Match: {plan.if_match}"
        )
    else:  # an opaque revision: the write is refused if it moved on since it was read
        head = Text(
            f"{who} -> CXone {plan.remote_id}: CXone is at {revision_text(plan.remote_version)};"
            " the write would be refused if that moves on before it is sent"
        )
    if plan.empty:
        return Group(
            head, Text("no change: CXone holds this configuration already; nothing would be sent")
        )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("field", "CXone now", "ours"):
        table.add_column(column, overflow="fold")
    for change in plan.changes:
        table.add_row(
            cell(change.path),
            cell(canonical_json(change.theirs)),
            cell(canonical_json(change.ours)),
        )
    parts: list[Text | Table] = [head, table, Text(f"{len(plan.changes)} field(s) would change")]
    if plan.stale:
        parts.append(
            Text(
                f"CXone moved on since version {plan.if_match}: the PUT would be answered 412, "
                "and the campaign rebased on CXone's version"
                if isinstance(plan.if_match, int)
                else f"CXone moved on since {revision_text(plan.if_match)}: the write would "
                "be refused as a conflict, and the campaign rebased on CXone's"
            )
        )
    return Group(*parts)


def _conflicted(e: ActivationConflicted) -> str:
    found = revision_text(e.remote_version)
    return f"CXone at {found}, expected {revision_text(e.expected_version)}"


def _rebased(e: ConflictRebased) -> str:
    if e.merged:
        return f"merged onto CXone {revision_text(e.remote_version)}"
    return "both changed: " + ", ".join(c.path for c in e.conflicts)


def _succeeded(e: ActivationSucceeded) -> str:
    return f"landed ({e.how}), CXone {revision_text(e.new_version)}" if e.reconciled else ""


_DETAILS: dict[type[Event], Callable[[Any], str]] = {
    ActivationConflicted: _conflicted,
    ConflictRebased: _rebased,
    ActivationSucceeded: _succeeded,
    ConflictResolved: lambda e: f"took {e.choice}",
    ValidationFailed: lambda e: "; ".join(str(p) for p in e.problems),
    ContactsFiltered: lambda e: f"{e.eligible:,} of {e.total:,} eligible",
}


def detail(event: Event) -> str:
    """What an event says beyond its type, in one short phrase: a conflict's versions and
    fields, a revise's or a cancel's reason, a failure's message, a filter's counts, and how
    many times its requests were retried."""
    say = _DETAILS.get(type(event))
    if say is not None:
        said = say(event)
    else:
        reason = getattr(event, "reason", None)  # revised, cancelled, run asked for, failures
        said = reason if isinstance(reason, str) else ""
    retries = getattr(event, "retries", None)
    if retries:
        again = f"{retries} {'retry' if retries == 1 else 'retries'}"
        said = f"{said} ({again})" if said else again
    return said


def exclusions(history: Sequence[StoredEvent]) -> dict[str, int] | None:
    """Why contacts were left out, as the campaign's last filter run recorded it."""
    for stored in reversed(history):
        if isinstance(stored.event, ContactsFiltered):
            return dict(stored.event.excluded)
    return None


def fields_absent(history: Sequence[StoredEvent]) -> list[str]:
    """The fields a rule of the campaign's last filter run names that no contact carried
    (none when that run did not count them, or read no contact)."""
    for stored in reversed(history):
        event = stored.event
        if isinstance(event, ContactsFiltered):
            return absent(event.fields_seen, event.total)
        if isinstance(event, FilterFailed) and event.fields_seen is not None:
            return absent(event.fields_seen, 1)
    return []


def timeline(history: Sequence[StoredEvent]) -> Table:
    """The campaign's events: seq, time, event, state before -> after, latency, actor."""
    moves, before = [], "-"
    for state in states_along(history):
        moves.append((before, state.state))
        before = state.state
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # Event types and states are never cut ("activation.requested" and "activation.succeeded"
    # must not both read "activation.…"); the time and the actor fold instead.
    keep = {
        "seq": max((len(str(e.seq)) for e in history), default=3),
        "event": max((len(e.type) for e in history), default=5),
        "state": max((len(f"{a} -> {b}") for a, b in moves), default=5),
    }
    for column in ("seq", "time (UTC)", "event", "state", "latency", "actor", "detail"):
        table.add_column(
            column,
            justify="right" if column in ("seq", "latency") else "left",
            min_width=keep.get(column),
            no_wrap=column in keep,
            overflow="fold",
        )
    for stored, (was, now) in zip(history, moves, strict=True):
        latency = getattr(stored.event, "latency_ms", None)
        moved = f"{was} -> {_styled(now)}" if now != was else _styled(now)
        table.add_row(
            str(stored.seq),
            cell(stored.recorded_at[:10] + " " + stored.recorded_at[11:23]),
            cell(stored.type),
            moved,
            "" if latency is None else f"{latency:,.1f} ms",
            cell(stored.meta.get("actor", "")),
            cell(detail(stored.event)),
        )
    return table


def activations_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Who activated what: seq, time, actor, campaign and CXone campaign, If-Match, the new
    version, how it ended, latency."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    columns = ("seq", "time (UTC)", "actor", "campaign", "CXone", "if-match", "new", "outcome")
    for column in (*columns, "latency"):
        right = column in ("seq", "if-match", "new", "latency")
        keep = column in ("seq", "campaign", "CXone", "outcome")
        table.add_column(column, justify="right" if right else "left", no_wrap=keep)
    for r in rows:
        how = f" ({r['how']})" if r["reconciled"] and r["how"] else ""
        table.add_row(
            str(r["seq"]),
            cell(r["recorded_at"][:10] + " " + r["recorded_at"][11:23]),
            cell(r["actor"] or ""),
            cell(r["campaign_id"]),
            cell(r["cxone_campaign_id"] or ""),
            "" if r["if_match"] is None else str(r["if_match"]),
            "" if r["new_version"] is None else str(r["new_version"]),
            cell(r["outcome"] + how),
            f"{r['latency_ms']:,.1f} ms",
        )
    return table


def metrics_table(m: Metrics) -> Table:
    """The journal's figures: campaigns by state, activations, rates, latency."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("measure")
    table.add_column("value", justify="right")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f} ms"

    table.add_row("campaigns", str(m.campaigns))
    for state, count in m.by_state.items():
        table.add_row(f"  {_styled(state)}", str(count))
    table.add_row("events", f"{m.events:,}")
    table.add_row("activations", str(m.activations))
    table.add_row("  succeeded", f"{m.succeeded} ({m.reconciled} reconciled)")
    table.add_row("  conflicted", str(m.conflicted))
    table.add_row("  failed", str(m.failed))
    table.add_row("success rate per attempt", pct(m.success_rate))
    table.add_row("conflict rate per attempt", pct(m.conflict_rate))
    table.add_row(
        f"success rate per campaign ({m.campaigns_attempted} tried)", pct(m.campaign_success_rate)
    )
    table.add_row("conflict rate per campaign", pct(m.campaign_conflict_rate))
    for key in ("p50", "p95", "max"):
        table.add_row(f"activation latency {key}", ms(m.latency_ms[key]))
    return table


def states_along(history: Sequence[StoredEvent]) -> list[CampaignState]:
    """The campaign's state after each event of ``history`` (its events from the first)."""
    if not history:
        return []
    start = CampaignState(history[0].stream_id, 0, "", "", {})
    return steps(start, [h.event for h in history])


def summary(
    state: CampaignState, left_out: dict[str, int] | None = None, missing: Sequence[str] = ()
) -> str:
    """What the campaign is, in a few lines (with ``left_out``, why contacts were excluded,
    and ``missing``, the filter fields no contact has)."""
    lines = [f"campaign {visible(state.id)} {state.name!r}: {state.state} (v{state.version})"]
    if state.eligible is not None:
        lines.append(f"  eligible contacts: {state.eligible:,} (set {state.eligible_digest})")
    if state.eligible is not None and left_out:
        why = ", ".join(f"{reason} {count:,}" for reason, count in sorted(left_out.items()))
        lines.append(f"  left out: {why}")
    for name in missing:
        lines.append(
            f"  warning: no contact has the field {visible(name)!r} a filter rule names "
            "(misspelt, or not in this contact list): the rule excludes every contact"
        )
    if state.active_version is not None:
        lines.append(f"  CXone version: {state.active_version}, holding our configuration")
    if state.webhook_id:
        lines.append(f"  launch webhook: {state.webhook_id}")
    if state.pending:
        lines.append(f"  unfinished: {state.pending.step} step {state.pending.step_id}")
    if state.last_error:
        lines.append(f"  last error: {visible(state.last_error)}")
    if state.state == "conflicted" and state.problems:
        lines += [f"  conflict at {visible(p)}" for p in state.problems]
        lines.append(f"  choose: cxpreview resolve {state.id} --take-ours | --take-theirs")
    return "\n".join(lines)


_DOING = {
    "run.requested": "starting",
    "validation.requested": "validating: asking CXone for the preview limit and the campaign",
    "filter.requested": "filtering contacts",
    "activation.requested": "activating: writing the configuration to CXone",
    "rebase.requested": "rebasing: reading CXone's campaign to merge",
    "webhook.requested": "registering the launch webhook",
}


class _Watch(logging.Handler):
    """Turns the engine's step log and the gateway's retries into what the line shows."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(level=logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "decision", None) == "retry":
            self.show(f"waiting on CXone: {visible(record.getMessage())}")
            return
        event = getattr(record, "event", None)
        if isinstance(event, str):
            self.show(_DOING.get(event, "waiting on CXone" if ".requested" in event else ""))


@contextmanager
def building_heads(out: Console, total: int) -> Iterator[Callable[[int], None]]:
    """A bar while the campaigns' heads are built from the events (once, on a journal from
    before they existed); yields the ``progress`` callback, told campaigns done."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("building campaign heads from the events (once)"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=not out.is_terminal,
    )
    task = bar.add_task("heads", total=total)
    with bar:
        yield lambda done: bar.update(task, completed=done)
    out.print(Text(f"built the heads of {total:,} campaigns"))


@contextmanager
def verifying(out: Console, total: int) -> Iterator[Callable[[str, int], None] | None]:
    """Two bars while ``audit verify`` works on a terminal: the hash chain walked and the
    campaigns' events replayed, each out of the journal's ``total`` events (side by side when
    workers replay); yields verify's ``progress`` callback, or None where no one watches (a
    pipe, a file: the verdict alone)."""
    if not out.is_terminal:
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    )
    tasks = {
        "chain": bar.add_task("hash chain walked", total=total),
        "campaigns": bar.add_task("campaigns replayed", total=total),
    }
    with bar:
        yield lambda part, done: bar.update(tasks[part], completed=done)


@contextmanager
def run_progress(out: Console) -> Iterator[Callable[[int], None]]:
    """What a run is doing: a live line for the step under way (and, while contacts are
    filtered, their count and rate), and a line kept for each step once it is over and for
    every retry (why, and how long it waits); yields the engine's ``progress`` callback."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    )
    task = bar.add_task("waiting on CXone", total=None, counts="")
    now: list[str] = ["", ""]  # the step under way and its counts
    started = [time.monotonic()]

    def finish() -> None:
        if now[0]:
            took = time.monotonic() - started[0]
            counts = f": {now[1]}" if now[1] else ""
            bar.console.print(Text(f"  {now[0]}{counts} ({took:.1f}s)"))

    def show(doing: str) -> None:
        if doing.startswith("waiting on CXone:"):
            bar.console.print(Text(f"  {doing}"))
        elif doing and doing != now[0]:
            finish()
            now[:] = [doing, ""]
            started[0] = time.monotonic()
            bar.update(task, description=doing, counts="")

    def report(done: int) -> None:
        elapsed = time.monotonic() - started[0]
        rate = f", {done / elapsed:,.0f}/s" if elapsed > 0 else ""
        now[:] = ["filtering contacts", f"{done:,} judged{rate}"]
        bar.update(task, description=now[0], counts=now[1])

    logger = logging.getLogger("cxpreview")
    watch, level = _Watch(show), logger.level
    logger.addHandler(watch)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)  # the stderr handler keeps its own level
    try:
        with bar:
            yield report
            finish()
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


_STYLES = {
    "active": "green",
    "conflicted": "bold red",
    "failed": "red",
    "cancelled": "dim",
    "activating": "yellow",
}


def _styled(state: str) -> str:
    style = _STYLES.get(state)
    return f"[{style}]{state}[/]" if style else state
