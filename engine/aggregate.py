"""The campaign aggregate: its state is a pure fold of its events, and nothing else.

``fold(id, events)`` gives the same ``CampaignState`` in every process, and ``state.digest()``
the same digest on every Python version (canonical JSON and SHA-256, never ``hash()``), which is
what lets ``verify`` catch a code change that would fold old events differently.

Every event is checked against the state machine as it is applied: an event the state does not
allow, or an outcome without its intent, raises ``IllegalEvent``. The fold runs on a mutable
builder and freezes once at the end, because a replay folds a hundred thousand events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from engine import machine
from engine.errors import IllegalEvent
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    CampaignCancelled,
    CampaignDrafted,
    ConfigRevised,
    ConflictRebased,
    ContactsFiltered,
    Event,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
    content_digest,
    to_plain,
)


@attrs.frozen
class PendingStep:
    """A remote call whose intent is journaled and whose outcome is not (yet)."""

    step: str
    step_id: str
    attempt: int
    expected_version: int | None = None
    payload_digest: str | None = None


@attrs.frozen
class CampaignState:
    """Everything known about a campaign, derived from its events alone."""

    id: str
    version: int
    state: str
    name: str
    spec: dict[str, Any]
    spec_digest: str
    pending: PendingStep | None = None
    remote_version: int | None = None
    remote_config: dict[str, Any] | None = None
    eligible: int | None = None
    eligible_digest: str | None = None
    activation_attempts: int = 0
    conflicts: int = 0
    active_version: int | None = None
    webhook_id: str | None = None
    problems: tuple[FieldProblem, ...] = ()
    last_error: str | None = None

    def digest(self) -> str:
        """A digest of the whole state, stable across processes and Python versions."""
        plain = to_plain(self)
        plain["spec"] = self.spec_digest
        if self.remote_config is not None:
            plain["remote_config"] = content_digest(self.remote_config)
        return content_digest(plain)


_FIELDS = tuple(a.name for a in attrs.fields(CampaignState))


@attrs.define
class _Builder:
    """A ``CampaignState`` under construction: the fold's mutable working copy.

    Field for field the same as ``CampaignState`` (a test holds them equal).
    """

    id: str = ""
    version: int = 0
    state: str = ""
    name: str = ""
    spec: dict[str, Any] = attrs.Factory(dict)
    spec_digest: str = ""
    pending: PendingStep | None = None
    remote_version: int | None = None
    remote_config: dict[str, Any] | None = None
    eligible: int | None = None
    eligible_digest: str | None = None
    activation_attempts: int = 0
    conflicts: int = 0
    active_version: int | None = None
    webhook_id: str | None = None
    problems: tuple[FieldProblem, ...] = ()
    last_error: str | None = None

    @classmethod
    def thaw(cls, state: CampaignState | None, campaign_id: str = "") -> _Builder:
        if state is None:
            return cls(id=campaign_id)
        return cls(*(getattr(state, name) for name in _FIELDS))

    def freeze(self) -> CampaignState:
        return CampaignState(*(getattr(self, name) for name in _FIELDS))


# Each event: (role, trigger, step). An intent opens ``step``; an outcome closes it and, when it
# names a trigger, moves the state where the machine says that trigger leads.
_ROLES: dict[type[Event], tuple[str, str | None, str]] = {
    ConfigRevised: ("command", "revise", ""),
    CampaignCancelled: ("command", "cancel", ""),
    ValidationRequested: ("intent", "validate", "validation"),
    ValidationPassed: ("outcome", "validate", "validation"),
    ValidationFailed: ("outcome", None, "validation"),
    FilterRequested: ("intent", "filter", "filter"),
    ContactsFiltered: ("outcome", "filter", "filter"),
    FilterFailed: ("outcome", None, "filter"),
    ActivationRequested: ("intent", "activate", "activation"),
    ActivationSucceeded: ("outcome", "succeed", "activation"),
    ActivationConflicted: ("outcome", "conflict", "activation"),
    ActivationFailed: ("outcome", "fail", "activation"),
    RebaseRequested: ("intent", "rebase", "rebase"),
    ConflictRebased: ("outcome", "rebase", "rebase"),
    RebaseFailed: ("outcome", None, "rebase"),
    WebhookRegistrationRequested: ("intent", "register_webhook", "webhook"),
    WebhookRegistered: ("outcome", None, "webhook"),
    WebhookRegistrationFailed: ("outcome", None, "webhook"),
}
_MOVING_INTENTS = frozenset({ActivationRequested})


def apply(b: _Builder, event: Event) -> None:
    """Apply one event to the builder, checking it against the machine first."""
    kind = type(event)
    if kind is CampaignDrafted:
        if b.version != 0:
            raise IllegalEvent(f"campaign {b.id} was drafted already (at version 1)")
        b.state = machine.INITIAL
    else:
        _check_and_move(b, event, kind)
    b.version += 1
    _EFFECTS[kind](b, event)


def _check_and_move(b: _Builder, event: Event, kind: type[Event]) -> None:
    if b.version == 0:
        raise IllegalEvent(f"campaign {b.id} must begin with campaign.drafted, not {kind.TYPE}")
    role, trigger, step = _ROLES[kind]
    pending = b.pending
    if role == "outcome":
        if pending is None or pending.step != step or pending.step_id != event.step_id:  # type: ignore[attr-defined]
            raise IllegalEvent(
                f"{kind.TYPE} for step {event.step_id!r} has no open intent"  # type: ignore[attr-defined]
                f" (open: {pending.step_id if pending else 'none'})"
            )
        b.pending = None
        if kind is ConflictRebased and not event.merged:  # type: ignore[attr-defined]
            trigger = None
    elif pending is not None:
        raise IllegalEvent(f"{kind.TYPE} while step {pending.step_id!r} ({pending.step}) is open")
    if trigger is None:
        return
    target = machine.destination(b.state, trigger)
    if target is None:
        raise IllegalEvent(f"{kind.TYPE} is not allowed in state {b.state!r}")
    if role != "intent" or kind in _MOVING_INTENTS:
        b.state = target


def _drafted(b: _Builder, e: CampaignDrafted) -> None:
    b.spec, b.spec_digest, b.name = e.spec, content_digest(e.spec), str(e.spec.get("name", ""))


def _revised(b: _Builder, e: ConfigRevised) -> None:
    _drafted(b, CampaignDrafted(e.spec))
    b.remote_version = b.remote_config = b.eligible = b.eligible_digest = None
    b.problems, b.last_error = (), None


def _intent(b: _Builder, e: Any) -> None:
    b.pending = PendingStep(_ROLES[type(e)][2], e.step_id, getattr(e, "attempt", 1))


def _activation_requested(b: _Builder, e: ActivationRequested) -> None:
    b.pending = PendingStep(
        "activation", e.step_id, e.attempt, e.expected_version, e.payload_digest
    )
    b.activation_attempts += 1


def _validation_passed(b: _Builder, e: ValidationPassed) -> None:
    b.remote_version, b.remote_config = e.remote_version, e.remote_config
    b.problems, b.last_error = (), None


def _validation_failed(b: _Builder, e: ValidationFailed) -> None:
    b.problems = e.problems
    b.last_error = "; ".join(str(p) for p in e.problems) or "validation failed"


def _filtered(b: _Builder, e: ContactsFiltered) -> None:
    b.eligible, b.eligible_digest, b.last_error = e.eligible, e.eligible_digest, None


def _failed(b: _Builder, e: Any) -> None:
    b.last_error = e.reason


def _succeeded(b: _Builder, e: ActivationSucceeded) -> None:
    b.active_version = b.remote_version = e.new_version
    b.last_error = None


def _conflicted(b: _Builder, e: ActivationConflicted) -> None:
    b.conflicts += 1
    b.last_error = (
        f"CXone has version {e.remote_version} where we expected "
        f"{e.expected_version}: someone else changed the campaign"
    )


def _rebased(b: _Builder, e: ConflictRebased) -> None:
    b.remote_version, b.remote_config = e.remote_version, e.config
    b.problems = tuple(
        FieldProblem(c.path, f"ours {c.ours!r}, theirs {c.theirs!r}") for c in e.conflicts
    )
    b.last_error = None if e.merged else f"{len(e.conflicts)} field(s) changed on both sides"


def _webhook(b: _Builder, e: WebhookRegistered) -> None:
    b.webhook_id, b.last_error = e.webhook_id, None


def _nothing(b: _Builder, e: Any) -> None:
    """Events whose whole effect is the state move and the step bookkeeping."""


_EFFECTS: dict[type[Event], Any] = {
    CampaignDrafted: _drafted,
    ConfigRevised: _revised,
    CampaignCancelled: _nothing,
    ValidationRequested: _intent,
    ValidationPassed: _validation_passed,
    ValidationFailed: _validation_failed,
    FilterRequested: _intent,
    ContactsFiltered: _filtered,
    FilterFailed: _failed,
    ActivationRequested: _activation_requested,
    ActivationSucceeded: _succeeded,
    ActivationConflicted: _conflicted,
    ActivationFailed: _failed,
    RebaseRequested: _intent,
    ConflictRebased: _rebased,
    RebaseFailed: _failed,
    WebhookRegistrationRequested: _intent,
    WebhookRegistered: _webhook,
    WebhookRegistrationFailed: _failed,
}


def fold(
    campaign_id: str, events: Iterable[Event], start: CampaignState | None = None
) -> CampaignState:
    """The state after ``events`` (from ``start``, or from nothing)."""
    b = _Builder.thaw(start, campaign_id)
    for event in events:
        apply(b, event)
    return b.freeze()


def steps(start: CampaignState, events: Iterable[Event]) -> list[CampaignState]:
    """The state after each of ``events`` in turn (for the per-event ``state_digest``)."""
    b = _Builder.thaw(start)
    out = []
    for event in events:
        apply(b, event)
        out.append(b.freeze())
    return out


def begin(campaign_id: str, event: CampaignDrafted) -> CampaignState:
    """The state of a campaign just drafted."""
    return fold(campaign_id, [event])


class Replay:
    """Folds a stream of stored events into many campaigns at once (one pass over a journal)."""

    def __init__(self) -> None:
        self._builders: dict[str, _Builder] = {}

    def feed(self, stream_id: str, event: Event) -> None:
        """Apply one event to its campaign."""
        b = self._builders.get(stream_id)
        if b is None:
            b = self._builders[stream_id] = _Builder.thaw(None, stream_id)
        apply(b, event)

    def state(self, stream_id: str) -> CampaignState:
        """The current state of one campaign fed so far."""
        return self._builders[stream_id].freeze()

    def states(self) -> dict[str, CampaignState]:
        """Every campaign fed so far."""
        return {sid: b.freeze() for sid, b in self._builders.items()}
