"""The lifecycle in one table: which event each step may record, what it does to the machine,
and what a run does next.

The states and triggers are the ``transitions`` machine's (engine/machine.py), and so are the
conditions under which a run takes a trigger by itself (``conditions`` on its transitions,
named here in ``CONDITIONS``). This module adds, per event type, its role and the trigger it
stands for; the fold (engine/aggregate.py) reads its rules from here and adds only what each
event records. A test holds that every registered event type has a row here and an effect
there, so adding an event is: its class, its row, its effect.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from engine import machine
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    CampaignCancelled,
    CampaignDrafted,
    ConfigRevised,
    ConflictRebased,
    ConflictResolved,
    ContactsFiltered,
    ContactsUploaded,
    DialingFailed,
    DialingRequested,
    DialingStarted,
    Event,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    Revision,
    RunRequested,
    UploadFailed,
    UploadRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
)

if TYPE_CHECKING:
    from engine.spec import CampaignSpec


class PendingStep(NamedTuple):
    """A remote call whose intent is journaled and whose outcome is not (yet).

    A NamedTuple rather than an attrs class: one is made per intent in every fold, and a tuple
    is several times cheaper to build than a frozen attrs instance.
    """

    step: str
    step_id: str
    attempt: int
    expected_version: Revision | None = None
    payload_digest: str | None = None


class CampaignState(Protocol):
    """What the lifecycle reads of a campaign's state (engine/aggregate.py folds it)."""

    @property
    def state(self) -> str: ...
    @property
    def pending(self) -> PendingStep | None: ...
    @property
    def wants_active(self) -> bool: ...
    @property
    def webhook_id(self) -> str | None: ...
    @property
    def dialing_started(self) -> bool: ...
    @property
    def eligible_digest(self) -> str | None: ...
    @property
    def uploaded_digest(self) -> str | None: ...
    @property
    def rebases(self) -> int: ...
    @property
    def campaign_spec(self) -> CampaignSpec: ...


class EventRule(NamedTuple):
    """How one event type stands in the lifecycle.

    ``role``: create, command, intent (opens ``step``) or outcome (closes it). When
    ``trigger`` is set the event is legal only where the machine allows that trigger and,
    if ``moves``, it moves the state where the trigger leads.
    """

    role: str
    trigger: str | None
    step: str
    moves: bool


# One row per event type: the whole lifecycle, read top to bottom.
RULES: dict[type[Event], EventRule] = {
    CampaignDrafted: EventRule("create", None, "", True),
    ConfigRevised: EventRule("command", "revise", "", True),
    CampaignCancelled: EventRule("command", "cancel", "", True),
    RunRequested: EventRule("command", None, "", False),
    ConflictResolved: EventRule("command", "resolve", "", True),
    ValidationRequested: EventRule("intent", "validate", "validation", False),
    ValidationPassed: EventRule("outcome", "validate", "validation", True),
    ValidationFailed: EventRule("outcome", None, "validation", True),
    FilterRequested: EventRule("intent", "filter", "filter", False),
    ContactsFiltered: EventRule("outcome", "filter", "filter", True),
    FilterFailed: EventRule("outcome", None, "filter", True),
    UploadRequested: EventRule("intent", "upload_contacts", "upload", False),
    ContactsUploaded: EventRule("outcome", None, "upload", True),
    UploadFailed: EventRule("outcome", None, "upload", True),
    ActivationRequested: EventRule("intent", "activate", "activation", True),
    ActivationSucceeded: EventRule("outcome", "succeed", "activation", True),
    ActivationConflicted: EventRule("outcome", "conflict", "activation", True),
    ActivationFailed: EventRule("outcome", "fail", "activation", True),
    RebaseRequested: EventRule("intent", "rebase", "rebase", False),
    ConflictRebased: EventRule("outcome", "rebase", "rebase", True),
    RebaseFailed: EventRule("outcome", None, "rebase", True),
    WebhookRegistrationRequested: EventRule("intent", "register_webhook", "webhook", False),
    WebhookRegistered: EventRule("outcome", None, "webhook", True),
    WebhookRegistrationFailed: EventRule("outcome", None, "webhook", True),
    DialingRequested: EventRule("intent", "start_dialing", "dialing", False),
    DialingStarted: EventRule("outcome", None, "dialing", True),
    DialingFailed: EventRule("outcome", None, "dialing", True),
}

STEPS: dict[str, str] = {
    rule.step: rule.trigger or "" for rule in RULES.values() if rule.role == "intent"
}
"""Each remote step and the command that opens it: ``{"validation": "validate", …}``."""


def outcomes(step: str) -> tuple[type[Event], ...]:
    """The event types that may close ``step``."""
    return tuple(t for t, r in RULES.items() if r.role == "outcome" and r.step == step)


def _may_rebase(s: CampaignState) -> bool:
    return s.rebases < s.campaign_spec.constraints.max_conflict_retries


CONDITIONS: dict[str, Callable[[CampaignState], bool]] = {
    "wants_active": lambda s: s.wants_active,
    # A spec without a webhook (the cxone dialect has no registration API) needs none.
    "webhook_missing": lambda s: s.webhook_id is None and s.campaign_spec.webhook is not None,
    "may_rebase": _may_rebase,
    # In the ACD dialect a configured skill dials only once started, a step of its own.
    "dialing_missing": lambda s: s.campaign_spec.dialect == "cxone" and not s.dialing_started,
    # In the ACD dialect the skill dials a calling list of its own: the eligible set is
    # uploaded as one before the skill is configured (again after a new filter).
    "contacts_not_uploaded": lambda s: (
        s.campaign_spec.dialect == "cxone"
        and s.eligible_digest is not None
        and s.uploaded_digest != s.eligible_digest
    ),
}
"""The predicates the machine's ``conditions`` name, evaluated on a campaign's state."""


@cache
def _route() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Per state, the triggers a run may take there, in the run's order, with the names of
    their conditions (read off the machine once)."""
    m = machine.machine()
    route: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for state in machine.STATES:
        options = []
        for trigger in machine.RUN_ORDER:
            for transition in m.events[trigger].transitions.get(state, ()):
                names = tuple(str(c.func) for c in transition.conditions)
                unknown = [n for n in names if n not in CONDITIONS]
                if unknown:
                    raise AssertionError(f"the machine names unknown conditions {unknown}")
                options.append((trigger, names))
        route[state] = tuple(options)
    return route


def next_command(s: CampaignState) -> str | None:
    """The command a run issues next on ``s`` (None: the run has nowhere to go). An open
    step comes first: it is settled by recovery, not by a next command."""
    if s.pending is not None:
        return None
    for trigger, names in _route().get(s.state, ()):
        if all(CONDITIONS[name](s) for name in names):
            return trigger
    return None


def needs_finishing(s: CampaignState) -> bool:
    """An unfinished call, or a run that was asked for and has a step left to take."""
    return s.pending is not None or (s.wants_active and next_command(s) is not None)


def worth_running(s: CampaignState) -> bool:
    """Whether asking for a run of ``s`` would take it anywhere (a run asked for a campaign
    already as far as it goes records nothing)."""
    if s.pending is not None:
        return True
    return next_command(s if s.wants_active else _Wanting(s)) is not None


OWED = {
    "upload_contacts": "contacts_not_uploaded",
    "register_webhook": "webhook_missing",
    "start_dialing": "dialing_missing",
}
"""The triggers a campaign may still owe in its state, and the condition that says it does."""

WAITS_FOR = {"activate": "contacts_not_uploaded"}
"""The commands refused while a condition holds: an ACD skill is not configured to dial
before its calling list holds the eligible contacts."""


def blocked(s: CampaignState, command: str) -> bool:
    """Whether ``command`` must wait for a step ``s`` still owes first."""
    condition = WAITS_FOR.get(command)
    return condition is not None and CONDITIONS[condition](s)


def offered(s: CampaignState) -> tuple[str, ...]:
    """The commands the machine allows in ``s``'s state, less what ``s`` does not owe (a
    webhook already registered, a skill of a dialect that has no start, …) and what must
    wait for a step it owes (an activation before the upload)."""
    return tuple(
        t
        for t in machine.allowed(s.state)
        if (t not in OWED or CONDITIONS[OWED[t]](s)) and not blocked(s, t)
    )


def finished(s: CampaignState) -> bool:
    """Active with nothing left owed (no webhook to register, no skill to start): what a
    run or a supervisor reports as done; an active campaign still owing a step is not."""
    return s.state == "active" and not worth_running(s)


class _Wanting:
    """A campaign's state as if a run had been asked for."""

    wants_active = True

    def __init__(self, s: CampaignState) -> None:
        self._s = s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s, name)
