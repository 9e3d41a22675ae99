"""The engine's structured log: one record per event appended (what ``--log-json`` prints)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from engine.aggregate import CampaignState
from journal import StoredEvent

STEP_LOG = logging.getLogger("cxpreview.engine")


def log_transitions(
    s: CampaignState, stored: Sequence[StoredEvent], after: Sequence[CampaignState]
) -> None:
    """One log record per event appended: the campaign, the event, the state it moved to,
    and for an outcome its step and latency (the structured fields ``--log-json`` prints)."""
    before = s.state
    for event, state in zip(stored, after, strict=True):
        fields: dict[str, Any] = {
            "campaign_id": s.id,
            "seq": event.seq,
            "event": event.type,
            "state_before": before or None,
            "state_after": state.state,
        }
        latency = getattr(event.event, "latency_ms", None)
        if latency is not None:
            fields["latency_ms"] = latency
            fields["step"] = event.type.split(".")[0]
            fields["decision"] = event.type.split(".")[1]
        STEP_LOG.info(
            "campaign %s: %s (%s -> %s)",
            s.id,
            event.type,
            before or "-",
            state.state,
            extra=fields,
        )
        before = state.state
