"""The activation step: its plan, its PUT with If-Match (or, with nothing to change, a read),
and its outcome settled by content. Recovery settles an open one with the same pieces.

A 412 is never taken on trust as someone else's edit: it may answer our own earlier PUT (one
that outlived its process, its lease or the client's timeout), so CXone is read first, and an
activation whose configuration CXone holds is recorded as landed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.aggregate import CampaignState
from engine.errors import RemoteConflict, RemoteError, RemoteRejected, StepInDoubt
from engine.plan import Plan, changes, holds
from engine.ports import CXoneGateway, RemoteCampaign
from engine.spec import CampaignSpec
from engine.steps import Steps
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    Event,
    FieldChange,
    Revision,
    content_digest,
    crash_point,
)


def activate(steps: Steps, campaign_id: str) -> CampaignState:
    """PUT the configuration with ``If-Match`` on the version last read; with an empty plan
    (CXone held our configuration when last read) nothing is sent: a read confirms it."""
    opened = open_activation(steps, steps.ready(steps.read(campaign_id), "activate"))
    s, step_id, cause, config = opened.state, opened.step_id, opened.cause, opened.config
    assert s.pending is not None
    assert s.pending.expected_version is not None
    if not opened.plan:
        return confirm_and_close(steps, s, step_id, cause, config)
    return put_and_close(steps, s, step_id, cause, config, expected=s.pending.expected_version)


class Opened(NamedTuple):
    """An activation's intent, journaled: the state after it, its step and command ids, the
    configuration it writes and its plan (the fields it changes; none: nothing is sent)."""

    state: CampaignState
    step_id: str
    cause: str
    config: dict[str, Any]
    plan: tuple[FieldChange, ...]


def configuration(steps: Steps, s: CampaignState) -> dict[str, Any]:
    """What an activation writes: a merged or resolved configuration, else the spec's, in
    the gateway's vocabulary."""
    return (
        s.config
        if s.config is not None
        else steps.gateway_for(s.campaign_spec).configuration(s.campaign_spec)
    )


def open_activation(steps: Steps, s: CampaignState) -> Opened:
    """Journal an activation's intent: its plan against the configuration last read, the
    payload's digest and the version to If-Match."""
    config = configuration(steps, s)
    expected = s.remote_version
    assert expected is not None, "a filtered campaign has been validated against CXone"
    plan = changes(config, s.remote_config or {})
    after, step_id, cause = steps.open(
        s,
        "activation",
        lambda i: ActivationRequested(
            i, s.activation_attempts + 1, expected, content_digest(config), plan
        ),
    )
    return Opened(after, step_id, cause, config, plan)


def plan(steps: Steps, campaign_id: str) -> Plan:
    """What activating the campaign would change in CXone now, read from CXone; changes
    nothing."""
    s = steps.load(campaign_id)
    return _plan(steps, s.id, s.campaign_spec, configuration(steps, s), s.remote_version)


def plan_spec(steps: Steps, spec: CampaignSpec) -> Plan:
    """What a campaign drafted from ``spec`` would change in CXone now; changes nothing."""
    config = steps.gateway_for(spec).configuration(spec)
    return _plan(steps, None, spec, config, None)


def _plan(
    steps: Steps,
    campaign_id: str | None,
    spec: CampaignSpec,
    config: dict[str, Any],
    if_match: Revision | None,
) -> Plan:
    remote_id = spec.campaign_id
    remote = steps.gateway_for(spec).read_campaign(remote_id)
    if_match = remote.version if if_match is None else if_match
    return Plan(campaign_id, remote_id, remote.version, if_match, changes(config, remote.config))


def confirm_and_close(
    steps: Steps, s: CampaignState, step_id: str, cause: str, config: dict[str, Any]
) -> CampaignState:
    """An activation with nothing to change: read CXone instead of a PUT, and record it
    landed (our configuration is there) or conflicted (someone changed it since)."""
    steps.hold_claim(s)
    result, ms = read_to_settle(
        steps,
        s,
        f"activation of campaign {s.id} found nothing to change, but CXone could not be "
        "read to confirm it",
    )
    assert s.pending is not None
    assert s.pending.expected_version is not None
    if holds(config, result.config):
        outcome: Event = ActivationSucceeded(step_id, result.version, ms, True, "unchanged")
    else:
        outcome = ActivationConflicted(step_id, s.pending.expected_version, result.version, ms)
    return steps.close(s, outcome, cause, "activation")


def read_to_settle(steps: Steps, s: CampaignState, doubt: str) -> tuple[RemoteCampaign, float]:
    """CXone's campaign, read to settle the open activation by content, and the read's
    latency; ``StepInDoubt`` saying ``doubt`` and the settling command when CXone does not
    answer (the intent stays open)."""
    remote_id, gateway = s.campaign_spec.campaign_id, steps.gateway_for(s.campaign_spec)
    result, ms = steps.call(lambda: gateway.read_campaign(remote_id))
    if isinstance(result, RemoteError):
        raise StepInDoubt(f"{doubt} ({result}); `cxpreview recover {s.id}` settles it") from result
    return result, ms


def put_and_close(
    steps: Steps,
    s: CampaignState,
    step_id: str,
    cause: str,
    config: dict[str, Any],
    *,
    expected: Revision,
) -> CampaignState:
    """The PUT of an open activation step, and its outcome (or ``StepInDoubt``)."""
    remote_id = s.campaign_spec.campaign_id
    steps.hold_claim(s)
    gateway = steps.gateway_for(s.campaign_spec)
    put = gateway.put_preview_config
    result, ms = steps.call(lambda: put(remote_id, config, expected))
    if isinstance(result, RemoteConflict):
        # A 412 may answer our own earlier PUT (one that outlived its process, its lease or
        # its timeout): ask CXone what it holds before calling it someone else's edit.
        outcome: Event = _after_conflict(
            steps, gateway, remote_id, step_id, config, expected=expected, put_ms=ms
        )
    elif isinstance(result, RemoteRejected) and result.status not in (None, 401, 403):
        outcome = ActivationFailed(step_id, result.status, str(result), ms)
    elif isinstance(result, RemoteError):
        raise StepInDoubt(
            f"activation of campaign {s.id} is in doubt ({result}); its intent is journaled: "
            f"`cxpreview recover {s.id}` (or a supervisor) settles it by reading the campaign "
            "from CXone"
        ) from result
    else:
        outcome = ActivationSucceeded(step_id, result.version, ms)
    s = steps.close(s, outcome, cause, "activation")
    crash_point("after-activation-outcome")
    return s


def _after_conflict(
    steps: Steps,
    gateway: CXoneGateway,
    remote_id: str,
    step_id: str,
    config: dict[str, Any],
    *,
    expected: Revision,
    put_ms: float,
) -> Event:
    """The outcome of a PUT answered 412, by content: landed if CXone holds ours (the
    latency covers the PUT and the read)."""
    read, read_ms = steps.call(lambda: gateway.read_campaign(remote_id))
    ms = round(put_ms + read_ms, 3)
    if isinstance(read, RemoteError):
        return ActivationConflicted(step_id, expected, None, ms)
    if holds(config, read.config):
        return ActivationSucceeded(step_id, read.version, ms, True, "read-after-412")
    return ActivationConflicted(step_id, expected, read.version, ms)
