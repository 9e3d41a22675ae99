"""Recovery from the journal alone, and the operator's settlement of a conflict (resolve).

``recover`` looks only at the campaign's events. An intent without an outcome on a read step
(validate, filter, rebase, webhook look-up) is simply redone. An activation intent without an
outcome is never guessed at: CXone is read, and settled by content:

- CXone holds our configuration: it landed (whatever the version: our PUT, or someone's edit
  of fields we do not manage after it); ``ActivationSucceeded`` with ``reconciled: true`` and
  ``how: recovered``, and nothing is sent again;
- CXone is still at the expected version without it: it did not land; the same PUT is issued
  again with the same ``If-Match`` (and a 412 to it is itself settled by content);
- anything else: someone else changed the campaign; ``ActivationConflicted``.

``If-Match`` makes CXone the fencing token: two recoverers racing cannot both win, and the
loser's 412 finds our configuration there and records it as landed instead of rebasing.
"""

from __future__ import annotations

import logging

from engine.activation import configuration, put_and_close, read_to_settle
from engine.aggregate import CampaignState
from engine.contacts import Progress
from engine.errors import EngineError, StepInDoubt
from engine.merge import take
from engine.pipeline import READS
from engine.plan import holds
from engine.steps import Steps
from events import (
    ActivationConflicted,
    ActivationSucceeded,
    ConflictResolved,
    Event,
    content_digest,
    revision_text,
)

log = logging.getLogger("cxpreview.recovery")


def recover(steps: Steps, campaign_id: str, progress: Progress | None = None) -> CampaignState:
    """Settle the campaign's unfinished remote step, if it has one; return the state after."""
    s = steps.read(campaign_id)  # settle nothing on a campaign whose rows were changed
    if s.pending is None:
        return s
    steps.hold_claim(s)  # nor on one superseded by a newer campaign
    step = s.pending.step
    log.info(
        "campaign %s: unfinished %s step %s in state %s",
        s.id,
        step,
        s.pending.step_id,
        s.state,
        extra={"campaign_id": s.id, "step": step, "decision": "resume"},
    )
    if step == "activation":
        return _reconcile(steps, s)
    _decided(s, "redo", f"redoing the {step} read")
    return steps.take(READS[step], campaign_id, progress)


def _reconcile(steps: Steps, s: CampaignState) -> CampaignState:
    pending = s.pending
    assert pending is not None
    assert pending.expected_version is not None
    config = configuration(steps, s)
    if content_digest(config) != pending.payload_digest:
        raise StepInDoubt(
            f"campaign {s.id}: the configuration rebuilt now does not match the digest the "
            "unfinished activation recorded (was cxpreview upgraded mid-flight?); compare "
            "the campaign in CXone by hand"
        )
    cause = steps.cause_of(s)  # the outcome names the intent it settles
    result, ms = read_to_settle(
        steps,
        s,
        f"campaign {s.id}: cannot reconcile the unfinished activation, CXone did not answer",
    )
    expected = pending.expected_version
    if holds(config, result.config):
        _decided(
            s, "reconciled", f"CXone is at {revision_text(result.version)} with our configuration"
        )
        outcome: Event = ActivationSucceeded(pending.step_id, result.version, ms, True, "recovered")
        return steps.close(s, outcome, cause, "activation")
    if result.version == expected:
        _decided(s, "re-put", f"CXone is still at {revision_text(expected)}: the PUT did not land")
        return put_and_close(steps, s, pending.step_id, cause, config, expected=expected)
    _decided(
        s,
        "conflict",
        f"CXone is at {revision_text(result.version)} without our configuration, expected "
        f"{revision_text(expected)}",
    )
    outcome = ActivationConflicted(pending.step_id, expected, result.version, ms)
    return steps.close(s, outcome, cause, "activation")


def _decided(s: CampaignState, decision: str, why: str) -> None:
    log.info(
        "campaign %s: %s (%s)",
        s.id,
        decision,
        why,
        extra={
            "campaign_id": s.id,
            "step": s.pending.step if s.pending else None,
            "decision": decision,
        },
    )


def resolve(steps: Steps, campaign_id: str, side: str) -> CampaignState:
    """Settle the conflicting fields for ``"ours"`` or ``"theirs"`` and go back to filtered."""
    if side not in ("ours", "theirs"):
        raise EngineError(f"resolve takes 'ours' or 'theirs', not {side!r}")
    s = steps.ready(steps.read(campaign_id), "resolve")
    if s.config is None or s.remote_version is None or not s.problems:
        raise EngineError(f"campaign {s.id} has no merge to resolve: rebase it first")
    config = take(side, s.config, s.remote_config or {}, [p.path for p in s.problems])
    return steps.append(s, [ConflictResolved(side, config, s.remote_version)], steps.ids())
