"""The read steps, declared: validate, filter, upload the contacts, register the webhook,
start dialing, rebase.

Each is a ``RemoteStep`` (engine/steps.py): the intent it records, the call it makes, the
outcome it records from the call's result. ``Steps.take`` runs any of them under the
side-effect protocol; an open one is simply redone (the two that write, the upload and the
start, look first for what an earlier attempt did). The activation, whose call writes to
CXone, is engine/activation.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.aggregate import CampaignState
from engine.contacts import FilterResult, Progress, filter_contacts
from engine.errors import EngineError, RemoteError, SpecError
from engine.lifecycle import needs_finishing
from engine.merge import three_way
from engine.ports import CXoneGateway, RemoteCampaign, UploadRef, WebhookRef
from engine.replay import replay_all
from engine.spec import Webhook
from engine.steps import RemoteStep, Steps
from events import (
    ConflictRebased,
    ContactsFiltered,
    ContactsUploaded,
    DialingFailed,
    DialingRequested,
    DialingStarted,
    Event,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    UploadFailed,
    UploadRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
    to_plain,
)
from journal import Journal

# --- validate ---------------------------------------------------------------------------


def _spec_problems(s: CampaignState) -> Callable[[str], Event] | None:
    """A stored spec that no longer passes the checks fails validation here, without a call."""
    try:
        s.campaign_spec  # noqa: B018 - parsed (and cached) to find its problems
    except SpecError as exc:
        problems = exc.problems
        return lambda step_id: ValidationFailed(step_id, problems, retryable=False, latency_ms=0.0)
    return None


def _count_and_read(
    steps: Steps, gateway: CXoneGateway, s: CampaignState, progress: Progress | None
) -> tuple[int, RemoteCampaign]:
    return gateway.count_active_previews(), gateway.read_campaign(s.campaign_spec.campaign_id)


def _validated(
    steps: Steps,
    s: CampaignState,
    step_id: str,
    result: tuple[int, RemoteCampaign] | RemoteError,
    ms: float,
) -> Event:
    if isinstance(result, RemoteError):
        path = "campaign_id" if getattr(result, "status", None) == 404 else "(remote)"
        return ValidationFailed(step_id, (FieldProblem(path, str(result)),), result.retryable, ms)
    active, remote = result
    limit = s.campaign_spec.constraints.max_concurrent_previews
    coming = on_their_way(steps.journal)
    if active + coming >= limit:
        also = f", and {coming} more on their way in this journal" if coming else ""
        problem = FieldProblem(
            "constraints.max_concurrent_previews",
            f"{active} preview campaigns are already active in CXone{also}; the limit is {limit}",
        )
        return ValidationFailed(step_id, (problem,), True, ms)
    return ValidationPassed(step_id, active, remote.version, remote.config, ms)


ON_THEIR_WAY = ("validated", "filtered", "activating")
"""The states of a campaign that passed validation and is not active in CXone yet."""


def on_their_way(journal: Journal) -> int:
    """Campaigns of this journal that passed validation and whose run is under way (a run or
    a supervisor carries them on): each will take one of the preview limit's places, so a
    validation counts them with CXone's active ones; campaigns validated side by side by a
    pool of workers must not all see room for one more. Decided one at a time in a process
    (``VALIDATE`` is serial). A campaign validated by hand and left there takes no place."""
    if journal.heads_ready():
        return len(journal.heads(state=ON_THEIR_WAY, unfinished=True))
    return sum(s.state in ON_THEIR_WAY and needs_finishing(s) for s in replay_all(journal).values())


VALIDATE: RemoteStep[tuple[int, RemoteCampaign]] = RemoteStep(
    "validation",
    "validate",
    lambda s, step_id: ValidationRequested(step_id),
    _count_and_read,
    _validated,
    local=_spec_problems,
    serial=True,
)

# --- filter -----------------------------------------------------------------------------


def _filtered(
    steps: Steps, s: CampaignState, step_id: str, result: FilterResult | RemoteError, ms: float
) -> Event:
    spec = s.campaign_spec
    if isinstance(result, RemoteError):
        return FilterFailed(step_id, str(result), result.retryable, ms)
    if result.eligible < spec.constraints.min_eligible:
        missing = result.fields_absent
        why = (
            f"; no contact of {result.total:,} has the field "
            + ", ".join(repr(name) for name in missing)
            + " a filter rule names"
            if missing
            else ""
        )
        return FilterFailed(
            step_id,
            f"{result.eligible} contacts are eligible; the spec needs at least "
            f"{spec.constraints.min_eligible} (constraints.min_eligible){why}",
            False,
            ms,
            result.eligible,
            fields_seen=result.fields_seen,
        )
    digest = steps.journal.put_blob(result.eligible_set)
    rules = tuple(to_plain(r) for r in spec.filter)
    return ContactsFiltered(
        step_id,
        rules,
        result.total,
        result.matched,
        result.suppressed,
        result.eligible,
        result.excluded,
        digest,
        ms,
        fields_seen=result.fields_seen,
    )


FILTER: RemoteStep[FilterResult] = RemoteStep(
    "filter",
    "filter",
    lambda s, step_id: FilterRequested(step_id),
    lambda steps, gateway, s, progress: filter_contacts(gateway, s.campaign_spec, progress),
    _filtered,
)

# --- upload: the eligible set as the skill's calling list (the ACD dialect) ----------------


def list_name(s: CampaignState) -> str:
    """The calling list an upload of ``s``'s eligible set makes: named for the campaign, its
    skill and the set, so the same upload asked for again finds the list it made."""
    assert s.eligible_digest is not None, "a filtered campaign has an eligible set"
    skill = s.campaign_spec.campaign_id
    return f"cxpreview {s.id} skill {skill} {s.eligible_digest.removeprefix('sha256:')[:16]}"


def _upload_requested(s: CampaignState, step_id: str) -> Event:
    assert s.eligible_digest is not None
    assert s.eligible is not None
    return UploadRequested(step_id, list_name(s), s.eligible_digest, s.eligible)


def _upload(
    steps: Steps, gateway: CXoneGateway, s: CampaignState, progress: Progress | None
) -> UploadRef:
    assert s.eligible_digest is not None
    eligible = steps.journal.get_blob(s.eligible_digest)
    return gateway.upload_contacts(s.campaign_spec.campaign_id, list_name(s), eligible)


def _uploaded(
    steps: Steps, s: CampaignState, step_id: str, result: UploadRef | RemoteError, ms: float
) -> Event:
    if isinstance(result, RemoteError):
        return UploadFailed(step_id, str(result), result.retryable, ms)
    if result.records != s.eligible:
        return UploadFailed(
            step_id,
            f"calling list {result.list_id} took {result.records:,} records of the "
            f"{s.eligible or 0:,} eligible contacts uploaded (job {result.job_id})",
            False,
            ms,
        )
    return ContactsUploaded(
        step_id, result.list_id, result.job_id, result.records, result.found, ms
    )


UPLOAD: RemoteStep[UploadRef] = RemoteStep(
    "upload", "upload_contacts", _upload_requested, _upload, _uploaded
)
"""Redone when left open, as a read is: the upload finds the list and the job an earlier
attempt made before it makes either."""

# --- the launch webhook -----------------------------------------------------------------


def _webhook_of(s: CampaignState) -> Webhook:
    hook = s.campaign_spec.webhook
    if hook is None:  # the machine registers one only for a spec that has it
        raise EngineError(f"campaign {s.id}'s spec has no webhook to register")
    return hook


def _hook_requested(s: CampaignState, step_id: str) -> Event:
    hook = _webhook_of(s)
    return WebhookRegistrationRequested(step_id, hook.name, hook.callback_uri)


def _ensure_hook(
    steps: Steps, gateway: CXoneGateway, s: CampaignState, progress: Progress | None
) -> WebhookRef:
    hook = _webhook_of(s)
    return gateway.ensure_webhook(hook.name, hook.callback_uri, hook.event)


def _hooked(
    steps: Steps, s: CampaignState, step_id: str, result: WebhookRef | RemoteError, ms: float
) -> Event:
    if isinstance(result, RemoteError):
        return WebhookRegistrationFailed(step_id, str(result), result.retryable, ms)
    return WebhookRegistered(step_id, result.id, result.created, ms)


WEBHOOK: RemoteStep[WebhookRef] = RemoteStep(
    "webhook", "register_webhook", _hook_requested, _ensure_hook, _hooked
)

# --- dialing: the skill started (the ACD dialect) ----------------------------------------


def _dialing_requested(s: CampaignState, step_id: str) -> Event:
    return DialingRequested(step_id)


def _start(
    steps: Steps, gateway: CXoneGateway, s: CampaignState, progress: Progress | None
) -> bool:
    return gateway.start_dialing(s.campaign_spec.campaign_id)


def _started(
    steps: Steps, s: CampaignState, step_id: str, result: bool | RemoteError, ms: float
) -> Event:
    if isinstance(result, RemoteError):
        return DialingFailed(step_id, str(result), result.retryable, ms)
    return DialingStarted(step_id, result, ms)


DIALING: RemoteStep[bool] = RemoteStep(
    "dialing", "start_dialing", _dialing_requested, _start, _started
)
"""Redone when left open, as a read is: starting asks first whether the skill dials."""

# --- rebase -----------------------------------------------------------------------------


def _read_remote(
    steps: Steps, gateway: CXoneGateway, s: CampaignState, progress: Progress | None
) -> RemoteCampaign:
    return gateway.read_campaign(s.campaign_spec.campaign_id)


def _rebased(
    steps: Steps, s: CampaignState, step_id: str, result: RemoteCampaign | RemoteError, ms: float
) -> Event:
    if isinstance(result, RemoteError):
        return RebaseFailed(step_id, str(result), result.retryable, ms)
    remote = result
    base = s.remote_config or {}
    # Ours is the base with our configuration's fields in place: fields we do not manage
    # are left as they were, so a change to one of them in CXone merges cleanly.
    ours = {**base, **steps.gateway_for(s.campaign_spec).configuration(s.campaign_spec)}
    merged, conflicts = three_way(base, ours, remote.config)
    return ConflictRebased(
        step_id, remote.version, remote.config, not conflicts, merged, conflicts, ms
    )


REBASE: RemoteStep[RemoteCampaign] = RemoteStep(
    "rebase",
    "rebase",
    lambda s, step_id: RebaseRequested(step_id, s.rebases + 1),
    _read_remote,
    _rebased,
)

READS: dict[str, RemoteStep[Any]] = {
    step.step: step for step in (VALIDATE, FILTER, UPLOAD, WEBHOOK, DIALING, REBASE)
}
"""The read steps by name: what recovery redoes when one was left open."""
