"""Leaving a campaign exactly as a crash at a named point would, in process.

For tests, benchmarks and recovery drills that need many interrupted campaigns without killing
a process for each: the journal (and CXone) end up as they would if the process running
``Engine.run`` had died at that point. The crash-injection tests check the same points with
real SIGKILLed processes.
"""

from __future__ import annotations

from engine import CampaignSpec, CampaignState, Engine, EngineError
from engine.activation import open_activation
from engine.pipeline import FILTER, VALIDATE, WEBHOOK
from events import RunRequested

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
    """Draft ``spec``, ask for a run, and stop the way a crash ``at`` would; the new id.

    Uses only the engine's public step protocol (``engine.steps``): what recovery sees is what
    a real crash leaves."""
    if at not in POINTS:
        raise ValueError(f"unknown point {at!r}; one of {', '.join(POINTS)}")
    steps = engine.steps
    cid = engine.draft(spec).id
    s = steps.append(steps.read(cid), [RunRequested("drill")], engine.ids())
    if at.startswith("after-validation"):
        steps.open(s, "validation", lambda i: VALIDATE.intent(s, i))
        if at.endswith("response"):
            engine.gateway.read_campaign(spec.campaign_id)
        return cid
    _expect(engine.validate(cid), "validated")
    if at == "validated":
        return cid
    if at.startswith("after-filter"):
        s = steps.read(cid)
        steps.open(s, "filter", lambda i: FILTER.intent(s, i))
        return cid
    s = _expect(engine.filter(cid), "filtered")
    if at.startswith("after-activation") and at != "after-activation-outcome":
        opened = open_activation(steps, steps.read(cid))
        s, config = opened.state, opened.config
        if at.endswith("response"):
            assert s.pending is not None
            assert s.pending.expected_version is not None
            engine.gateway.put_preview_config(spec.campaign_id, config, s.pending.expected_version)
        return cid
    s = _expect(engine.activate(cid), "active")
    if at == "after-activation-outcome":
        return cid
    steps.open(s, "webhook", lambda i: WEBHOOK.intent(s, i))
    if at.endswith("response"):
        hook = spec.webhook
        engine.gateway.ensure_webhook(hook.name, hook.callback_uri, hook.event)
    return cid


def _expect(s: CampaignState, state: str) -> CampaignState:
    if s.state != state:
        raise EngineError(
            f"campaign {s.id} did not get to {state} on the way to the "
            f"interruption: it is {s.state} ({s.last_error})"
        )
    return s
