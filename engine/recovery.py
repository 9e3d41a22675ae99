"""Recovery from the journal alone, and conflicts: rebase (three-way merge) and resolve.

``recover`` looks only at the replayed stream. An intent without an outcome on a read step
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
from typing import TYPE_CHECKING

from engine.aggregate import CampaignState
from engine.contacts import Progress
from engine.errors import EngineError, RemoteError, StepInDoubt
from engine.merge import take, three_way
from engine.payload import preview_config
from engine.plan import holds
from engine.spec import CampaignSpec
from events import (
    ActivationConflicted,
    ActivationSucceeded,
    ConflictRebased,
    ConflictResolved,
    Event,
    RebaseFailed,
    RebaseRequested,
    content_digest,
)

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("cxpreview.recovery")


def may_rebase(s: CampaignState) -> bool:
    """Whether another automatic rebase is within the spec's ``max_conflict_retries``."""
    limit = CampaignSpec.from_dict(s.spec).constraints.max_conflict_retries
    return s.rebases < limit


def recover(engine: Engine, campaign_id: str, progress: Progress | None = None) -> CampaignState:
    """Settle the campaign's unfinished remote step, if it has one; return the state after."""
    s = engine.load(campaign_id)
    if s.pending is None:
        return s
    engine.check(s.id)  # settle nothing on a campaign whose rows were changed
    engine.hold_claim(s)  # nor on one superseded by a newer campaign
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
        return _reconcile(engine, s)
    _decided(s, "redo", f"redoing the {step} read")
    if step == "validation":
        return engine.validate(campaign_id)
    if step == "filter":
        return engine.filter(campaign_id, progress)
    if step == "webhook":
        return engine.register_webhook(campaign_id)
    return rebase(engine, campaign_id)


def _reconcile(engine: Engine, s: CampaignState) -> CampaignState:
    pending = s.pending
    assert pending is not None
    assert pending.expected_version is not None
    config = engine.payload(s)
    if content_digest(config) != pending.payload_digest:
        raise StepInDoubt(
            f"campaign {s.id}: the configuration rebuilt now does not match the digest the "
            "unfinished activation recorded (was cxpreview upgraded mid-flight?); compare "
            "the campaign in CXone by hand"
        )
    remote_id = str(s.spec["campaign_id"])
    cause = engine.intent_command_id(s)  # the outcome names the intent it settles
    result, ms = engine._call(lambda: engine.gateway.read_campaign(remote_id))
    if isinstance(result, RemoteError):
        raise StepInDoubt(
            f"campaign {s.id}: cannot reconcile the unfinished activation, "
            f"CXone did not answer ({result}); try again later"
        ) from result
    expected = pending.expected_version
    if holds(config, result.config):
        _decided(s, "reconciled", f"CXone is at v{result.version} with our configuration")
        outcome: Event = ActivationSucceeded(pending.step_id, result.version, ms, True, "recovered")
        return engine._close(s, outcome, cause, "activation")
    if result.version == expected:
        _decided(s, "re-put", f"CXone is still at v{expected}: the PUT did not land")
        return engine.put_and_close(s, pending.step_id, cause, config, expected)
    _decided(
        s,
        "conflict",
        f"CXone is at v{result.version} without our configuration, expected v{expected}",
    )
    outcome = ActivationConflicted(pending.step_id, expected, result.version, ms)
    return engine._close(s, outcome, cause, "activation")


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


def rebase(engine: Engine, campaign_id: str) -> CampaignState:
    """Read CXone's campaign and merge it with ours over the base we last read."""
    s = engine.load(campaign_id)
    if s.pending is None:
        s = engine._ready(s, "rebase")
    spec = CampaignSpec.from_dict(s.spec)
    attempt = s.rebases + 1
    s, step_id, cause = engine._open(s, "rebase", lambda i: RebaseRequested(i, attempt))
    result, ms = engine._call(lambda: engine.gateway.read_campaign(spec.campaign_id))
    if isinstance(result, RemoteError):
        outcome: Event = RebaseFailed(step_id, str(result), result.retryable, ms)
    else:
        base = s.remote_config or {}
        # Ours is the base with our configuration's fields in place: fields we do not manage
        # are left as they were, so a change to one of them in CXone merges cleanly.
        ours = {**base, **preview_config(spec)}
        merged, conflicts = three_way(base, ours, result.config)
        outcome = ConflictRebased(
            step_id, result.version, result.config, not conflicts, merged, conflicts, ms
        )
    return engine._close(s, outcome, cause, "rebase")


def resolve(engine: Engine, campaign_id: str, side: str) -> CampaignState:
    """Settle the conflicting fields for ``"ours"`` or ``"theirs"`` and go back to filtered."""
    if side not in ("ours", "theirs"):
        raise EngineError(f"resolve takes 'ours' or 'theirs', not {side!r}")
    s = engine._ready(engine.load(campaign_id), "resolve")
    if s.config is None or s.remote_version is None or not s.problems:
        raise EngineError(f"campaign {s.id} has no merge to resolve: rebase it first")
    config = take(side, s.config, s.remote_config or {}, [p.path for p in s.problems])
    return engine._append(s, [ConflictResolved(side, config, s.remote_version)], engine.ids())
