"""The engine: commands on campaigns, each remote step bracketed by an intent and an outcome.

The side-effect protocol (the README's "Crashes, conflicts and the supervisor"): append the
intent and commit; call the gateway; append the outcome at the next version and commit, with
the call's latency. A crash in between leaves
an intent with no outcome, which is how the journal says "this call's result is unknown". A
read step (validate, filter, webhook look-up) left open is simply redone by the same command;
an open activation is never guessed at (``StepInDoubt``): recovery settles it by reading CXone.
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from engine import machine
from engine.activation import ActivationSteps
from engine.aggregate import CampaignState, steps
from engine.claims import claim_name, claimed, derived_id
from engine.contacts import Progress, filter_contacts
from engine.errors import (
    CampaignClaimed,
    EngineError,
    InvalidTransition,
    RemoteError,
    SpecError,
    StepInDoubt,
)
from engine.handle import Campaign
from engine.leasing import LeaseHolder
from engine.plan import changes
from engine.ports import CXoneGateway
from engine.queries import Queries
from engine.recovery import may_rebase, rebase, recover, resolve
from engine.replay import replay_all
from engine.spec import CampaignSpec
from engine.steplog import STEP_LOG, log_transitions
from events import (
    CampaignCancelled,
    CampaignDrafted,
    ConfigRevised,
    ContactsFiltered,
    Event,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RunRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
    content_digest,
    to_plain,
)
from journal import (
    ClaimRefused,
    Clock,
    Journal,
    SystemClock,
    crash_point,
)

T = TypeVar("T")


def random_ids() -> str:
    """A fresh 64-bit random id in hex (the default id factory)."""
    return secrets.token_hex(8)


class Engine(Queries, ActivationSteps):
    """Drafts campaigns and drives them through the state machine, journaling every step."""

    def __init__(
        self,
        journal: Journal,
        gateway: CXoneGateway | None = None,
        *,
        clock: Clock | None = None,
        ids: Callable[[], str] = random_ids,
        actor: str = "cxpreview",
        owner: str | None = None,
        is_dead: Callable[[str], bool] | None = None,
    ) -> None:
        self.journal = journal
        self._gateway = gateway
        self.clock = clock or SystemClock()
        self.ids = ids
        self.actor = actor
        # The name its runs take leases under: one per engine, so a run that stopped on an
        # error can be started again at once from the same session.
        self.owner = owner or f"{actor}:{secrets.token_hex(4)}"
        # Whether a lease's owner is certainly gone (its lease may be taken over at once).
        self.is_dead = is_dead
        self.extra_meta: dict[str, Any] = {}
        self.before_append: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"Engine({self.journal!r}, actor={self.actor!r})"

    def bound(self, before_append: Callable[[], None] | None = None, **meta: Any) -> Engine:
        """This engine, writing ``meta`` into every event's meta and calling ``before_append``
        before every write (a lease holder checks its lease there, and stops if it lost it),
        after this engine's own hook if it has one."""
        clone = copy.copy(self)
        clone.extra_meta = {**self.extra_meta, **meta}
        outer = self.before_append
        if outer is not None and before_append is not None:
            inner = before_append

            def both() -> None:
                outer()
                inner()

            clone.before_append = both
        else:
            clone.before_append = before_append or outer
        return clone

    @property
    def gateway(self) -> CXoneGateway:
        """The CXone gateway; an engine opened without one can read and draft, not call out."""
        if self._gateway is None:
            raise EngineError(
                "this engine has no CXone gateway: it can draft and read, "
                "but not validate, filter, activate or register webhooks"
            )
        return self._gateway

    # --- queries (the rest in engine.queries) -----------------------------------------

    def get(self, campaign_id: str) -> Campaign:
        """A handle on the campaign, for driving it by hand."""
        return Campaign(self, self.load(campaign_id))

    def campaigns(self, state: str | None = None) -> list[Campaign]:
        """Every campaign (in the order they were drafted), or those in ``state``."""
        states = replay_all(self.journal).values()
        return [Campaign(self, s) for s in states if state is None or s.state == state]

    # --- commands -----------------------------------------------------------------------

    def draft(
        self,
        spec: CampaignSpec,
        *,
        command_id: str | None = None,
        run: bool = False,
        campaign_id: str | None = None,
    ) -> Campaign:
        """Create a campaign from ``spec`` (already checked whole by the spec loader).

        With ``run``, the request to take it to active is journaled in the same transaction,
        so no crash can leave a campaign drafted for a run that a supervisor would not finish.
        """
        if not isinstance(spec, CampaignSpec):
            raise TypeError("draft takes a CampaignSpec: use load_spec(path) or parse_spec(text)")
        if campaign_id is None:
            # The same command id drafts the same campaign: asked twice, the first is returned.
            campaign_id = derived_id(command_id) if command_id else self.ids()
        events: list[Event] = [CampaignDrafted(spec.to_dict())]
        if run:
            events.append(RunRequested())
        start = CampaignState(campaign_id, 0, "", "", {})
        return Campaign(self, self._append(start, events, command_id or self.ids()))

    def run_spec(
        self,
        spec: CampaignSpec,
        progress: Progress | None = None,
        *,
        announce: Callable[[CampaignState, bool], None] | None = None,
        owner: str | None = None,
        lease_ttl: float = 60.0,
        command_id: str | None = None,
    ) -> CampaignState:
        """Draft a campaign from ``spec`` and run it, or carry on the live one that has it.

        At most one live campaign writes to a CXone campaign: when one holds it already and
        was drafted from this very spec, that one is run (a run started again after an
        interruption); with another spec, ``CampaignClaimed`` names it and how to settle it.
        The new campaign's lease is taken before its draft is written, so no supervisor can
        pick the run's own campaign up. ``announce(state, drafted)`` is called before
        anything is sent to CXone (the CLI prints the campaign's id there).
        """
        owner = owner or self.owner
        campaign_id = derived_id(command_id) if command_id else self.ids()
        with self._leased(campaign_id, owner, lease_ttl) as engine:
            try:
                drafted = engine.draft(
                    spec, run=True, campaign_id=campaign_id, command_id=command_id
                )
                s = drafted.snapshot
            except CampaignClaimed as exc:
                holder = self.load(exc.holder)
                same = content_digest(holder.spec) == content_digest(spec.to_dict())
                if exc.superseded or not same:
                    raise
            else:
                if announce is not None:
                    announce(s, True)
                return engine.advance(campaign_id, progress)
        if announce is not None:
            announce(holder, False)
        return self.run(holder.id, progress, owner=owner, lease_ttl=lease_ttl)

    def revise(self, campaign_id: str, spec: CampaignSpec, reason: str = "") -> CampaignState:
        """Replace the spec; the campaign is a draft again and must be validated anew."""
        s = self._ready(self.load(campaign_id), "revise")
        return self._append(s, [ConfigRevised(spec.to_dict(), reason)], self.ids())

    def cancel(self, campaign_id: str, reason: str = "") -> CampaignState:
        """Abandon the campaign for good."""
        s = self._ready(self.load(campaign_id), "cancel")
        return self._append(s, [CampaignCancelled(reason)], self.ids())

    def validate(self, campaign_id: str) -> CampaignState:
        """Check the spec, then CXone: the preview limit, and the campaign's current version."""
        s = self.load(campaign_id)
        if s.pending is None:
            s = self._ready(s, "validate")
            try:
                spec = CampaignSpec.from_dict(s.spec)
            except SpecError as exc:
                step_id = self.ids()
                failed = ValidationFailed(step_id, exc.problems, retryable=False, latency_ms=0.0)
                return self._append(s, [ValidationRequested(step_id), failed], self.ids())
        else:
            spec = CampaignSpec.from_dict(s.spec)
        s, step_id, cause = self._open(s, "validation", ValidationRequested)
        result, ms = self._call(
            lambda: (
                self.gateway.count_active_previews(),
                self.gateway.read_campaign(spec.campaign_id),
            )
        )
        if isinstance(result, RemoteError):
            path = "campaign_id" if getattr(result, "status", None) == 404 else "(remote)"
            outcome: Event = ValidationFailed(
                step_id, (FieldProblem(path, str(result)),), result.retryable, ms
            )
        else:
            active, remote = result
            limit = spec.constraints.max_concurrent_previews
            if active >= limit:
                problem = FieldProblem(
                    "constraints.max_concurrent_previews",
                    f"{active} preview campaigns are already active in CXone; the limit is {limit}",
                )
                outcome = ValidationFailed(step_id, (problem,), True, ms)
            else:
                outcome = ValidationPassed(step_id, active, remote.version, remote.config, ms)
        return self._close(s, outcome, cause, "validation")

    def filter(self, campaign_id: str, progress: Progress | None = None) -> CampaignState:
        """Stream the contacts through the rules and the suppressions; store the eligible set."""
        s = self.load(campaign_id)
        if s.pending is None:
            s = self._ready(s, "filter")
        spec = CampaignSpec.from_dict(s.spec)
        s, step_id, cause = self._open(s, "filter", FilterRequested)
        result, ms = self._call(lambda: filter_contacts(self.gateway, spec, progress))
        if isinstance(result, RemoteError):
            outcome: Event = FilterFailed(step_id, str(result), result.retryable, ms)
        elif result.eligible < spec.constraints.min_eligible:
            outcome = FilterFailed(
                step_id,
                f"{result.eligible} contacts are eligible; the spec needs at least "
                f"{spec.constraints.min_eligible} (constraints.min_eligible)",
                False,
                ms,
                result.eligible,
            )
        else:
            digest = self.journal.put_blob(result.eligible_set)
            rules = tuple(to_plain(r) for r in spec.filter)
            outcome = ContactsFiltered(
                step_id,
                rules,
                result.total,
                result.matched,
                result.suppressed,
                result.eligible,
                result.excluded,
                digest,
                ms,
            )
        return self._close(s, outcome, cause, "filter")

    def activate(self, campaign_id: str) -> CampaignState:
        """PUT the preview configuration with ``If-Match`` on the version last read; with an
        empty plan (CXone held our configuration when last read) nothing is sent: a read
        confirms it, and the activation is recorded as landed."""
        s = self._ready(self.load(campaign_id), "activate")
        s, step_id, cause, config = self.open_activation(s)
        assert s.pending is not None
        assert s.pending.expected_version is not None
        if not changes(config, s.remote_config or {}):
            return self.confirm_and_close(s, step_id, cause, config)
        return self.put_and_close(s, step_id, cause, config, s.pending.expected_version)

    def register_webhook(self, campaign_id: str) -> CampaignState:
        """Make sure the launch webhook exists (looked up by name and URI before creating)."""
        s = self.load(campaign_id)
        if s.pending is None:
            s = self._ready(s, "register_webhook")
        hook = CampaignSpec.from_dict(s.spec).webhook
        s, step_id, cause = self._open(
            s, "webhook", lambda i: WebhookRegistrationRequested(i, hook.name, hook.callback_uri)
        )
        result, ms = self._call(
            lambda: self.gateway.ensure_webhook(hook.name, hook.callback_uri, hook.event)
        )
        if isinstance(result, RemoteError):
            outcome: Event = WebhookRegistrationFailed(step_id, str(result), result.retryable, ms)
        else:
            outcome = WebhookRegistered(step_id, result.id, result.created, ms)
        return self._close(s, outcome, cause, "webhook")

    def run(
        self,
        campaign_id: str,
        progress: Progress | None = None,
        *,
        owner: str | None = None,
        lease_ttl: float = 60.0,
    ) -> CampaignState:
        """Take the campaign as far as it will go: validate, filter, activate, webhook.

        Works under the campaign's lease (as ``owner``, by default the engine's own), as a
        supervisor does (``CampaignBusy`` when another process holds it): renewed while calls
        are in flight, its owner and fence in every event's meta. First journals that a run
        was asked for, so that a supervisor finishes it if this process dies. Settles an
        unfinished step first (``recover``), rebases a conflict automatically up to
        ``max_conflict_retries`` times, and stops at the first step that does not move the
        campaign forward, returning the state there.
        """
        with self._leased(campaign_id, owner or self.owner, lease_ttl) as engine:
            s = engine.load(campaign_id)
            unfinished = s.state in ("draft", "validated", "filtered", "conflicted") or (
                s.state == "active" and s.webhook_id is None
            )
            if not s.wants_active and unfinished and s.pending is None:
                s = engine._append(s, [RunRequested()], self.ids())
            return engine.advance(campaign_id, progress)

    @contextmanager
    def _leased(self, campaign_id: str, owner: str, ttl: float) -> Iterator[Engine]:
        """This engine under the campaign's lease: checked before every write, owner and
        fence in every event's meta; released at the end."""
        with LeaseHolder(self.journal, campaign_id, owner, ttl, is_dead=self.is_dead) as held:
            yield self.bound(held.check, lease_owner=owner, fence=held.fence)

    def advance(
        self,
        campaign_id: str,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> CampaignState:
        """Run's loop: one step at a time while steps move the campaign on (and, between
        steps, until ``should_stop`` says so)."""
        s = recover(self, campaign_id, progress)
        while should_stop is None or not should_stop():
            before = (s.state, s.webhook_id, s.version)
            if s.state == "draft":
                s = self.validate(campaign_id)
            elif s.state == "validated":
                s = self.filter(campaign_id, progress)
            elif s.state == "filtered":
                s = self.activate(campaign_id)
            elif s.state == "active" and s.webhook_id is None:
                s = self.register_webhook(campaign_id)
            elif s.state == "conflicted" and s.wants_active and may_rebase(s):
                s = self.rebase(campaign_id)
            if (s.state, s.webhook_id) == before[:2]:
                return s
        return s

    def rebase(self, campaign_id: str) -> CampaignState:
        """Read CXone's campaign and merge: disjoint changes go back to filtered."""
        return rebase(self, campaign_id)

    def resolve(self, campaign_id: str, side: str) -> CampaignState:
        """Settle an unmergeable conflict with ``"ours"`` or ``"theirs"`` on every field."""
        return resolve(self, campaign_id, side)

    def recover(self, campaign_id: str, progress: Progress | None = None) -> CampaignState:
        """Settle an unfinished remote step from the journal and CXone (see engine.recovery)."""
        return recover(self, campaign_id, progress)

    # --- the protocol -------------------------------------------------------------------

    def intent_command_id(self, s: CampaignState) -> str:
        """The command id of the open intent (the newest event: nothing follows an open
        intent), which its outcome names as its cause, whoever settles it."""
        last = self.journal.read_stream(s.id, up_to_version=s.version)[-1]
        return str(last.meta.get("command_id") or self.ids())

    def _ready(self, s: CampaignState, command: str) -> CampaignState:
        if s.pending is not None:
            raise StepInDoubt(
                f"campaign {s.id} has an unfinished {s.pending.step} step "
                f"({s.pending.step_id}); finish it before {command}"
            )
        if command not in machine.allowed(s.state):
            raise InvalidTransition(s.id, s.state, command, machine.allowed(s.state))
        return s

    def _open(
        self,
        s: CampaignState,
        step: str,
        intent: Callable[[str], Event],
    ) -> tuple[CampaignState, str, str]:
        """Append the intent (or pick up this step's unfinished one, for a read)."""
        if s.pending is not None:
            if s.pending.step != step or step == "activation":
                self._ready(s, step)  # raises StepInDoubt
            self.check(s.id)  # the step is redone: act on an intact campaign only
            return s, s.pending.step_id, self.intent_command_id(s)
        command_id = self.ids()
        s = self._append(s, [intent(self.ids())], command_id)
        assert s.pending is not None
        crash_point(f"after-{step}-intent")
        return s, s.pending.step_id, command_id

    def _call(self, fn: Callable[[], T]) -> tuple[T | RemoteError, float]:
        started = self.clock.monotonic()
        try:
            result: T | RemoteError = fn()
        except RemoteError as exc:
            result = exc
        return result, round((self.clock.monotonic() - started) * 1000, 3)

    def _close(self, s: CampaignState, outcome: Event, cause: str, step: str) -> CampaignState:
        crash_point(f"after-{step}-response")
        return self._append(s, [outcome], self.ids(), causation=cause)

    def _append(
        self,
        s: CampaignState,
        events: Sequence[Event],
        command_id: str,
        causation: str | None = None,
    ) -> CampaignState:
        if self.before_append is not None:
            self.before_append()
        if causation is None and s.version:
            # A command or an intent: act only on a campaign whose rows are as written. (An
            # outcome closes the intent this process just appended after the same check.)
            self.check(s.id)
        after = steps(s, events)
        meta: dict[str, Any] = {**self.extra_meta, "actor": self.actor, "command_id": command_id}
        if causation is not None:
            meta["causation_id"] = causation
        # The campaign's claim on its CXone campaign: kept by every append while it lives,
        # taken afresh when it is pointed at one (drafted, or revised to another), released
        # when it ends.
        now, was = after[-1], claim_name(s.spec) if s.version else None
        name = claim_name(now.spec)
        live = now.state not in machine.FINAL
        try:
            stored = self.journal.append(
                s.id,
                events,
                s.version,
                command_id=command_id,
                meta=meta,
                state_digests=[a.digest() for a in after],
                claim=name if live else None,
                release=(was if was != name or not live else None) if was else None,
                fresh_claim=was != name,
            )
        except ClaimRefused as exc:
            raise self._claimed(s.id, exc) from exc
        if stored[-1].version != after[-1].version:  # the command had been applied before
            return self.load(s.id)
        if STEP_LOG.isEnabledFor(logging.INFO):
            log_transitions(s, stored, after)
        return after[-1]

    def _claimed(self, campaign_id: str, exc: ClaimRefused) -> CampaignClaimed:
        """The journal's refusal of a claim, in the operator's terms."""
        return claimed(campaign_id, exc, self.load)
