"""The events of a campaign's life, in the past tense, one frozen class each.

Every step that talks to CXone is a pair: an intent (``…Requested``, committed before the call)
and exactly one outcome (``…Succeeded``/``Passed``/``Filtered``, ``…Conflicted`` or
``…Failed``, committed after it) carrying the same ``step_id`` and the call's latency. An intent
with no outcome is how the journal says "the process died mid-call". Every outcome also
records ``retries``: how many times the step's requests were sent again (429s, 5xx, lost
connections) before it had its answer; ``None`` on outcomes written before they were counted.
"""

from __future__ import annotations

from typing import Any

import attrs

from events.registry import REGISTRY, Event, event

Revision = int | str
"""CXone's revision of a campaign, opaque: only ever compared for equality and sent back.
The tutorial dialect's is its integer version (what ``If-Match`` carries); another dialect's
may be an ETag or, where the API has none, a digest of the fields we manage, as text.
Journals written before revisions were opaque hold integers: they decode unchanged."""


def revision_text(revision: Revision | None) -> str:
    """A revision for people: ``v7`` for a version, the start of an opaque one, or unknown."""
    if revision is None:
        return "unknown"
    if isinstance(revision, int):
        return f"v{revision}"
    return f"revision {revision[:24]}{'…' if len(revision) > 24 else ''}"


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


@event("validation.passed", schema=2)
@attrs.frozen
class ValidationPassed(Event):
    """The constraints hold; ``remote_version``/``remote_config`` are the base we activate on."""

    step_id: str
    active_previews: int
    remote_version: Revision
    remote_config: dict[str, Any]
    latency_ms: float
    retries: int | None = 0


@event("validation.failed", schema=2)
@attrs.frozen
class ValidationFailed(Event):
    """Validation did not pass: every problem found, and whether trying again may help."""

    step_id: str
    problems: tuple[FieldProblem, ...]
    retryable: bool
    latency_ms: float
    retries: int | None = 0


# --- filter: contacts through the demographic filter and the suppression lists --------------


@event("filter.requested")
@attrs.frozen
class FilterRequested(Event):
    """About to stream the contact list and the suppressions."""

    step_id: str
    attempt: int = 1


@event("filter.completed", schema=2)
@attrs.frozen
class ContactsFiltered(Event):
    """The eligible set was computed; the set itself is the blob ``eligible_digest``.
    ``fields_seen`` is how many contacts carry each field the rules name (a field on none
    is a misspelt rule, or a list without it); ``None`` when written before it was counted."""

    step_id: str
    rules: tuple[dict[str, Any], ...]
    total: int
    matched: int
    suppressed: int
    eligible: int
    excluded: dict[str, int]
    eligible_digest: str
    latency_ms: float
    retries: int | None = 0
    fields_seen: dict[str, int] | None = None


@event("filter.failed", schema=2)
@attrs.frozen
class FilterFailed(Event):
    """Filtering did not produce a usable set (too few eligible, or the remote failed); when
    the contacts were read, ``fields_seen`` counts those carrying each field a rule names."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    eligible: int | None = None
    retries: int | None = 0
    fields_seen: dict[str, int] | None = None


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
    expected_version: Revision
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


@event("activation.succeeded", schema=3)
@attrs.frozen
class ActivationSucceeded(Event):
    """CXone holds our configuration; ``reconciled`` when learnt by reading, not from the PUT's
    reply, and ``how`` says which way (one of ``LANDED_HOW``)."""

    step_id: str
    new_version: Revision
    latency_ms: float
    reconciled: bool = False
    how: str = "put"
    retries: int | None = 0


@REGISTRY.upcaster("activation.succeeded", 1)
def _activation_succeeded_v1(payload: dict[str, Any]) -> dict[str, Any]:
    # Before schema 2 the only reading that settled an activation was recovery's.
    return {**payload, "how": "recovered" if payload.get("reconciled") else "put"}


@event("activation.conflicted", schema=2)
@attrs.frozen
class ActivationConflicted(Event):
    """CXone refused the PUT: the campaign changed since ``expected_version`` (412)."""

    step_id: str
    expected_version: Revision
    remote_version: Revision | None
    latency_ms: float
    retries: int | None = 0


@event("activation.failed", schema=2)
@attrs.frozen
class ActivationFailed(Event):
    """CXone refused the PUT for good (a non-retryable 4xx)."""

    step_id: str
    status: int | None
    reason: str
    latency_ms: float
    retries: int | None = 0


# --- rebase: three-way merge after a conflict -----------------------------------------------


@event("rebase.requested")
@attrs.frozen
class RebaseRequested(Event):
    """About to read the remote campaign to merge with it."""

    step_id: str
    attempt: int


@event("rebase.completed", schema=2)
@attrs.frozen
class ConflictRebased(Event):
    """The remote campaign was read and merged; ``merged`` false leaves field conflicts."""

    step_id: str
    remote_version: Revision
    remote_config: dict[str, Any]
    merged: bool
    config: dict[str, Any]
    conflicts: tuple[FieldConflict, ...]
    latency_ms: float
    retries: int | None = 0


@event("conflict.resolved")
@attrs.frozen
class ConflictResolved(Event):
    """An operator settled an unmergeable conflict by taking our side or theirs, field by field."""

    choice: str
    config: dict[str, Any]
    remote_version: Revision


@event("rebase.failed", schema=2)
@attrs.frozen
class RebaseFailed(Event):
    """The remote campaign could not be read for the merge."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    retries: int | None = 0


# --- webhook: after activation, registered idempotently -------------------------------------


@event("webhook.requested")
@attrs.frozen
class WebhookRegistrationRequested(Event):
    """About to look the launch webhook up by name and URI, and create it if absent."""

    step_id: str
    name: str
    uri: str


@event("webhook.registered", schema=2)
@attrs.frozen
class WebhookRegistered(Event):
    """The launch webhook exists; ``created`` is false when it was found already there."""

    step_id: str
    webhook_id: str
    created: bool
    latency_ms: float
    retries: int | None = 0


@event("webhook.failed", schema=2)
@attrs.frozen
class WebhookRegistrationFailed(Event):
    """The webhook could not be registered."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    retries: int | None = 0


# --- dialing: after activation, the skill started (the ACD dialect) -------------------------


@event("dialing.requested")
@attrs.frozen
class DialingRequested(Event):
    """About to start the campaign's skill dialing (read first: a running one is left be)."""

    step_id: str
    attempt: int = 1


@event("dialing.started")
@attrs.frozen
class DialingStarted(Event):
    """The skill dials; ``already`` when it was running before we asked."""

    step_id: str
    already: bool
    latency_ms: float
    retries: int | None = 0


@event("dialing.failed")
@attrs.frozen
class DialingFailed(Event):
    """The skill could not be started."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    retries: int | None = 0


# --- upload: before activation, the eligible contacts as the skill's calling list (ACD) -----


@event("upload.requested")
@attrs.frozen
class UploadRequested(Event):
    """About to upload the eligible set ``eligible_digest`` (``records`` contacts) as the
    calling list ``list_name`` of the campaign's skill. The name is the same for the same
    skill and set, so an upload asked for again finds what an earlier attempt made."""

    step_id: str
    list_name: str
    eligible_digest: str
    records: int
    attempt: int = 1


@event("contacts.uploaded")
@attrs.frozen
class ContactsUploaded(Event):
    """The calling list ``list_id`` holds the eligible set: upload job ``job_id`` completed.
    ``found`` when the list and its job were an earlier attempt's (nothing sent again)."""

    step_id: str
    list_id: str
    job_id: str
    records: int
    found: bool
    latency_ms: float
    retries: int | None = 0


@event("upload.failed")
@attrs.frozen
class UploadFailed(Event):
    """The calling list could not be uploaded, or its job did not complete."""

    step_id: str
    reason: str
    retryable: bool
    latency_ms: float
    retries: int | None = 0


# --- retries: every outcome counts them since the release after journal schema 3 ------------

RETRIES_SINCE = {
    "validation.passed": 2,
    "validation.failed": 2,
    "filter.completed": 2,
    "filter.failed": 2,
    "activation.succeeded": 3,
    "activation.conflicted": 2,
    "activation.failed": 2,
    "rebase.completed": 2,
    "rebase.failed": 2,
    "webhook.registered": 2,
    "webhook.failed": 2,
}
"""Each outcome event type and the schema that added ``retries`` to it."""


def _retries_unknown(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "retries": None}


for _type, _schema in RETRIES_SINCE.items():
    if not _type.startswith("filter."):
        REGISTRY.upcaster(_type, _schema - 1)(_retries_unknown)


@REGISTRY.upcaster("filter.completed", 1)
@REGISTRY.upcaster("filter.failed", 1)
def _filter_v1(payload: dict[str, Any]) -> dict[str, Any]:
    # Schema 2 also counts the contacts carrying each rule's field.
    return {**payload, "retries": None, "fields_seen": None}
