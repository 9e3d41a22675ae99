"""Leaving a campaign exactly as a crash at a named point would, in process.

For tests, benchmarks and recovery drills that need many interrupted campaigns without killing
a process for each: the journal (and CXone) end up as they would if the process running
``Engine.run`` had died at that point. The crash-injection tests check the same points with
real SIGKILLed processes.
"""

from __future__ import annotations

from engine.aggregate import CampaignState
from engine.engine import Engine
from engine.errors import EngineError
from engine.spec import CampaignSpec
from events import (
    FilterRequested,
    RunRequested,
    ValidationRequested,
    WebhookRegistrationRequested,
)

POINTS = (
    "after-validation-intent",
    "after-validation-response",
    "after-filter-intent",
    "after-filter-response",
    "after-activation-intent",
    "after-activation-response",
    "after-activation-outcome",
    "after-webhook-intent",
    "after-webhook-response",
    "validated",
)


def interrupt(engine: Engine, spec: CampaignSpec, at: str) -> str:
    """Draft ``spec``, ask for a run, and stop the way a crash ``at`` would; the new id."""
    if at not in POINTS:
        raise ValueError(f"unknown point {at!r}; one of {', '.join(POINTS)}")
    campaign = engine.draft(spec)
    cid = campaign.id
    s = engine._append(engine.load(cid), [RunRequested("drill")], engine.ids())
    if at.startswith("after-validation"):
        engine._open(s, "validation", ValidationRequested)
        if at.endswith("response"):
            engine.gateway.read_campaign(spec.campaign_id)
        return cid
    _expect(engine.validate(cid), "validated")
    if at == "validated":
        return cid
    if at.startswith("after-filter"):
        engine._open(engine.load(cid), "filter", FilterRequested)
        return cid
    s = _expect(engine.filter(cid), "filtered")
    if at.startswith("after-activation") and at != "after-activation-outcome":
        s, _, _, config = engine.open_activation(s)
        if at.endswith("response"):
            assert s.pending is not None
            assert s.pending.expected_version is not None
            engine.gateway.put_preview_config(spec.campaign_id, config, s.pending.expected_version)
        return cid
    s = _expect(engine.activate(cid), "active")
    if at == "after-activation-outcome":
        return cid
    hook = spec.webhook
    engine._open(
        s, "webhook", lambda i: WebhookRegistrationRequested(i, hook.name, hook.callback_uri)
    )
    if at.endswith("response"):
        engine.gateway.ensure_webhook(hook.name, hook.callback_uri, hook.event)
    return cid


def _expect(s: CampaignState, state: str) -> CampaignState:
    if s.state != state:
        raise EngineError(
            f"campaign {s.id} did not get to {state} on the way to the "
            f"interruption: it is {s.state} ({s.last_error})"
        )
    return s
