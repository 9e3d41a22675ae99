"""Plain-text views of campaigns for people: a history timeline and a one-campaign summary."""

from __future__ import annotations

from collections.abc import Sequence

from engine import CampaignState
from engine.aggregate import steps
from journal import StoredEvent


def timeline(history: Sequence[StoredEvent]) -> str:
    """One line per event: seq, time, event, the state it left, latency where a call was made."""
    if not history:
        return "(no events)"
    start = CampaignState(history[0].stream_id, 0, "", "", {})
    states = steps(start, [h.event for h in history])
    lines = [f"{'seq':>5}  {'time (UTC)':<12}  {'event':<22} {'state':<11} {'latency':>9}"]
    for stored, state in zip(history, states, strict=True):
        latency = getattr(stored.event, "latency_ms", None)
        shown = f"{latency:,.1f} ms" if latency is not None else ""
        lines.append(
            f"{stored.seq:>5}  {stored.recorded_at[11:23]:<12}  {stored.type:<22} "
            f"{state.state:<11} {shown:>9}"
        )
    return "\n".join(lines)


def summary(state: CampaignState) -> str:
    """What the campaign is, in a few lines."""
    lines = [f"campaign {state.id} {state.name!r}: {state.state} (v{state.version})"]
    if state.eligible is not None:
        lines.append(f"  eligible contacts: {state.eligible:,} (set {state.eligible_digest})")
    if state.active_version is not None:
        lines.append(
            f"  CXone version: {state.active_version} (activated with If-Match on "
            f"{state.active_version - 1})"
        )
    if state.webhook_id:
        lines.append(f"  launch webhook: {state.webhook_id}")
    if state.pending:
        lines.append(f"  unfinished: {state.pending.step} step {state.pending.step_id}")
    if state.last_error:
        lines.append(f"  last error: {state.last_error}")
    if state.state == "conflicted" and state.problems:
        lines += [f"  conflict at {p}" for p in state.problems]
        lines.append(f"  choose: cxpreview resolve {state.id} --take-ours | --take-theirs")
    return "\n".join(lines)
