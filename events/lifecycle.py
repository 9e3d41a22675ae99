"""The events of a campaign's life, in the past tense, one frozen class each.

Every step that talks to CXone is a pair: an intent (``…Requested``, committed before the call)
and exactly one outcome (``…Succeeded``/``Passed``/``Filtered``, ``…Conflicted`` or
``…Failed``, committed after it) carrying the same ``step_id`` and the call's latency. An intent
with no outcome is how the journal says "the process died mid-call".
"""

from __future__ import annotations

from typing import Any

import attrs

from events.registry import REGISTRY, Event, event


@attrs.frozen
class FieldProblem:
    """One thing wrong with a spec or a remote constraint, at a field path (and line)."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{where}{self.path}: {self.message}"


@attrs.frozen
class FieldConflict:
    """A field both we and someone else changed since the version we last read."""

    path: str
    base: Any
    ours: Any
    theirs: Any


@attrs.frozen
class FieldChange:
    """One field an activation would change in CXone: its value there now, and ours."""

    path: str
    theirs: Any
    ours: Any


# --- lifecycle ------------------------------------------------------------------------------


@event("campaign.drafted")
@attrs.frozen
class CampaignDrafted(Event):
    """A campaign was created from a spec (the spec, as plain data, is the whole payload)."""

    spec: dict[str, Any]


@event("campaign.revised")
@attrs.frozen
class ConfigRevised(Event):
    """The spec was replaced; the campaign is a draft again."""

    spec: dict[str, Any]
    reason: str = ""


@event("run.requested")
@attrs.frozen
class RunRequested(Event):
    """Someone asked for the campaign to be taken to active: a supervisor finishes the job if the
    process that started it dies. Ended by reaching active with its webhook, or by an outcome
    that needs a person (a refused spec, a refused PUT, an unmergeable conflict, a cancel)."""

    reason: str = ""


@event("campaign.cancelled")
@attrs.frozen
class CampaignCancelled(Event):
    """The campaign was abandoned; nothing more will happen to it."""

    reason: str = ""


# --- validate: the remote constraint check and the version we will activate against ---------


@event("validation.requested")
@attrs.frozen
class ValidationRequested(Event):
    """About to read the active previews and the remote campaign."""

    step_id: str
    attempt: int = 1


@event("validation.passed")
@attrs.frozen
class ValidationPassed(Event):
    """The constraints hold; ``remote_version``/``remote_config`` are the base we activate on."""

    step_id: str
    active_previews: int
    remote_version: int
    remote_config: dict[str, Any]
    latency_ms: float


@event("validation.failed")
@attrs.frozen
class ValidationFailed(Event):
    """Validation did not pass: every problem found, and whether trying again may help."""

    step_id: str
    problems: tuple[FieldProblem, ...]
    retryable: bool
    latency_ms: float


# --- filter: contacts through the demographic filter and the suppression lists --------------


@event("filter.requested")
@attrs.frozen
class FilterRequested(Event):
    """About to stream the contact list and the suppressions."""

    step_id: str
    attempt: int = 1


@event("filter.completed")
@attrs.frozen
class ContactsFiltered(Event):
    """The eligible set was computed; the set itself is the blob ``eligible_digest``."""

    step_id: str
    rules: tuple[dict[str, Any], ...]
    total: int
    matched: int
    suppressed: int
    eligible: int
    excluded: dict[str, int]
    eligible_digest: str
    latency_ms: float


@event("filter.failed")
@attrs.frozen
class FilterFailed(Event):
    """Filtering did not produce a usable set (too few eligible, or the remote failed)."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    eligible: int | None = None


# --- activate: the PUT with If-Match --------------------------------------------------------


@event("activation.requested", schema=2)
@attrs.frozen
class ActivationRequested(Event):
    """About to PUT the preview configuration with ``If-Match: expected_version``.

    ``plan`` is what the PUT changes, field by field, against the configuration last read from
    CXone; an empty plan sends no PUT (a read confirms CXone holds our configuration). ``None``
    on intents written before plans were recorded (schema 1).
    """

    step_id: str
    attempt: int
    expected_version: int
    payload_digest: str
    plan: tuple[FieldChange, ...] | None = None


@REGISTRY.upcaster("activation.requested", 1)
def _activation_requested_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "plan": None}


LANDED_HOW = {
    "put": "CXone answered the PUT with the new version",
    "unchanged": "the plan was empty: a read found our configuration already in CXone, no PUT",
    "read-after-412": "CXone answered 412; a read found our configuration there (it landed)",
    "recovered": "recovery read CXone and found our configuration there",
}
"""How an activation is known to have landed (``ActivationSucceeded.how``)."""


@event("activation.succeeded", schema=2)
@attrs.frozen
class ActivationSucceeded(Event):
    """CXone holds our configuration; ``reconciled`` when learnt by reading, not from the PUT's
    reply, and ``how`` says which way (one of ``LANDED_HOW``)."""

    step_id: str
    new_version: int
    latency_ms: float
    reconciled: bool = False
    how: str = "put"


@REGISTRY.upcaster("activation.succeeded", 1)
def _activation_succeeded_v1(payload: dict[str, Any]) -> dict[str, Any]:
    # Before schema 2 the only reading that settled an activation was recovery's.
    return {**payload, "how": "recovered" if payload.get("reconciled") else "put"}


@event("activation.conflicted")
@attrs.frozen
class ActivationConflicted(Event):
    """CXone refused the PUT: the campaign changed since ``expected_version`` (412)."""

    step_id: str
    expected_version: int
    remote_version: int | None
    latency_ms: float


@event("activation.failed")
@attrs.frozen
class ActivationFailed(Event):
    """CXone refused the PUT for good (a non-retryable 4xx)."""

    step_id: str
    status: int | None
    reason: str
    latency_ms: float


# --- rebase: three-way merge after a conflict -----------------------------------------------


@event("rebase.requested")
@attrs.frozen
class RebaseRequested(Event):
    """About to read the remote campaign to merge with it."""

    step_id: str
    attempt: int


@event("rebase.completed")
@attrs.frozen
class ConflictRebased(Event):
    """The remote campaign was read and merged; ``merged`` false leaves field conflicts."""

    step_id: str
    remote_version: int
    remote_config: dict[str, Any]
    merged: bool
    config: dict[str, Any]
    conflicts: tuple[FieldConflict, ...]
    latency_ms: float


@event("conflict.resolved")
@attrs.frozen
class ConflictResolved(Event):
    """An operator settled an unmergeable conflict by taking our side or theirs, field by field."""

    choice: str
    config: dict[str, Any]
    remote_version: int


@event("rebase.failed")
@attrs.frozen
class RebaseFailed(Event):
    """The remote campaign could not be read for the merge."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float


# --- webhook: after activation, registered idempotently -------------------------------------


@event("webhook.requested")
@attrs.frozen
class WebhookRegistrationRequested(Event):
    """About to look the launch webhook up by name and URI, and create it if absent."""

    step_id: str
    name: str
    uri: str


@event("webhook.registered")
@attrs.frozen
class WebhookRegistered(Event):
    """The launch webhook exists; ``created`` is false when it was found already there."""

    step_id: str
    webhook_id: str
    created: bool
    latency_ms: float


@event("webhook.failed")
@attrs.frozen
class WebhookRegistrationFailed(Event):
    """The webhook could not be registered."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
