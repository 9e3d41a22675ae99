"""The engine: commands on campaigns, each remote step run under the side-effect protocol.

Every command reads its campaign once (engine/steps.py: rows checked, events folded), decides
from the lifecycle table (engine/lifecycle.py) and writes through ``Steps``. A read step left
open is simply redone by the same command; an open activation is never guessed at
(``StepInDoubt``): recovery settles it by reading CXone (engine/recovery.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from engine import activation, lifecycle
from engine.aggregate import CampaignState
from engine.claims import derived_id
from engine.contacts import Progress
from engine.errors import CampaignClaimed
from engine.handle import Campaign
from engine.leasing import LeaseHolder
from engine.pipeline import DIALING, FILTER, REBASE, UPLOAD, VALIDATE, WEBHOOK
from engine.plan import Plan
from engine.ports import CXoneGateway, DialectGateways
from engine.queries import Queries
from engine.recovery import recover, resolve
from engine.replay import replay_all
from engine.spec import CampaignSpec
from engine.steps import Steps, random_ids
from events import (
    CampaignCancelled,
    CampaignDrafted,
    Clock,
    ConfigRevised,
    Event,
    RunRequested,
    SystemClock,
    content_digest,
)
from journal import Journal


class Engine(Queries):
    """Drafts campaigns and drives them through the state machine, journaling every step."""

    def __init__(
        self,
        journal: Journal,
        gateway: CXoneGateway | DialectGateways | None = None,
        *,
        clock: Clock | None = None,
        ids: Callable[[], str] = random_ids,
        actor: str = "cxpreview",
        owner: str | None = None,
        is_dead: Callable[[str], bool] | None = None,
    ) -> None:
        self.steps = Steps(journal, gateway, clock=clock or SystemClock(), ids=ids, actor=actor)
        # The name its runs take leases under: one per engine, so a run that stopped on an
        # error can be started again at once from the same session.
        self.owner = owner or f"{actor}:{secrets.token_hex(4)}"
        # Whether a lease's owner is certainly gone (its lease may be taken over at once).
        self.is_dead = is_dead

    def __repr__(self) -> str:
        return f"Engine({self.journal!r}, actor={self.actor!r})"

    @property
    def journal(self) -> Journal:
        """The journal it reads and writes."""
        return self.steps.journal

    @property
    def clock(self) -> Clock:
        """Its clock (wall time for events, monotonic for latencies)."""
        return self.steps.clock

    @property
    def ids(self) -> Callable[[], str]:
        """Its id factory (campaigns, steps, commands)."""
        return self.steps.ids

    @property
    def actor(self) -> str:
        """Who its events say wrote them."""
        return self.steps.actor

    @property
    def gateway(self) -> CXoneGateway:
        """The CXone gateway; an engine opened without one can read and draft, not call out."""
        return self.steps.gateway

    def bound(self, before_append: Callable[[], None] | None = None, **meta: Any) -> Engine:
        """This engine, writing ``meta`` into every event's meta and calling ``before_append``
        before every write (a lease holder checks its lease there, and stops if it lost it)."""
        clone = Engine.__new__(Engine)
        clone.__dict__.update(self.__dict__)
        clone.steps = self.steps.bound(before_append, **meta)
        return clone

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
        return Campaign(self, self.steps.append(start, events, command_id or self.ids()))

    def run_spec(
        self,
        spec: CampaignSpec,
        progress: Progress | None = None,
        *,
        announce: Callable[[CampaignState, bool], None] | None = None,
        owner: str | None = None,
        lease_ttl: float = 60.0,
        command_id: str | None = None,
        should_stop: Callable[[], bool] | None = None,
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
                return engine.advance(campaign_id, progress, should_stop)
        if announce is not None:
            announce(holder, False)
        return self.run(
            holder.id, progress, owner=owner, lease_ttl=lease_ttl, should_stop=should_stop
        )

    def revise(self, campaign_id: str, spec: CampaignSpec, reason: str = "") -> CampaignState:
        """Replace the spec; the campaign is a draft again and must be validated anew."""
        s = self.steps.ready(self.steps.read(campaign_id), "revise")
        return self.steps.append(s, [ConfigRevised(spec.to_dict(), reason)], self.ids())

    def cancel(self, campaign_id: str, reason: str = "") -> CampaignState:
        """Abandon the campaign for good."""
        s = self.steps.ready(self.steps.read(campaign_id), "cancel")
        return self.steps.append(s, [CampaignCancelled(reason)], self.ids())

    def validate(self, campaign_id: str) -> CampaignState:
        """Check the spec, then CXone: the preview limit, and the campaign's current version."""
        return self.steps.take(VALIDATE, campaign_id)

    def filter(self, campaign_id: str, progress: Progress | None = None) -> CampaignState:
        """Stream the contacts through the rules and the suppressions; store the eligible set."""
        return self.steps.take(FILTER, campaign_id, progress)

    def upload_contacts(self, campaign_id: str) -> CampaignState:
        """Upload the eligible set as the skill's calling list (the ACD dialect), following
        the upload job to its end; an earlier attempt's list and job are found, not redone."""
        return self.steps.take(UPLOAD, campaign_id)

    def activate(self, campaign_id: str) -> CampaignState:
        """PUT the preview configuration with ``If-Match`` on the version last read; with an
        empty plan (CXone held our configuration when last read) nothing is sent: a read
        confirms it, and the activation is recorded as landed."""
        return activation.activate(self.steps, campaign_id)

    def register_webhook(self, campaign_id: str) -> CampaignState:
        """Make sure the launch webhook exists (looked up by name and URI before creating)."""
        return self.steps.take(WEBHOOK, campaign_id)

    def start_dialing(self, campaign_id: str) -> CampaignState:
        """Start the campaign's skill dialing (the ACD dialect), unless it dials already."""
        return self.steps.take(DIALING, campaign_id)

    def rebase(self, campaign_id: str) -> CampaignState:
        """Read CXone's campaign and merge: disjoint changes go back to filtered."""
        return self.steps.take(REBASE, campaign_id)

    def resolve(self, campaign_id: str, side: str) -> CampaignState:
        """Settle an unmergeable conflict with ``"ours"`` or ``"theirs"`` on every field."""
        return resolve(self.steps, campaign_id, side)

    def recover(self, campaign_id: str, progress: Progress | None = None) -> CampaignState:
        """Settle an unfinished remote step from the journal and CXone (see engine.recovery)."""
        return recover(self.steps, campaign_id, progress)

    def settle(
        self, campaign_id: str, *, owner: str | None = None, lease_ttl: float = 60.0
    ) -> CampaignState:
        """``recover`` under the campaign's lease, as a supervisor would (``CampaignBusy``
        while another process holds it), and nothing more: the run is not carried on."""
        with self._leased(campaign_id, owner or self.owner, lease_ttl) as engine:
            return engine.recover(campaign_id)

    def plan(self, campaign_id: str) -> Plan:
        """What activating the campaign would change in CXone now; changes nothing."""
        return activation.plan(self.steps, campaign_id)

    def plan_spec(self, spec: CampaignSpec) -> Plan:
        """What a campaign drafted from ``spec`` would change in CXone now; changes nothing."""
        return activation.plan_spec(self.steps, spec)

    def run(
        self,
        campaign_id: str,
        progress: Progress | None = None,
        *,
        owner: str | None = None,
        lease_ttl: float = 60.0,
        should_stop: Callable[[], bool] | None = None,
    ) -> CampaignState:
        """Take the campaign as far as it will go: validate, filter, activate, webhook.

        Works under the campaign's lease (as ``owner``, by default the engine's own), as a
        supervisor does (``CampaignBusy`` when another process holds it): renewed while calls
        are in flight, its owner and fence in every event's meta. First journals that a run
        was asked for, so that a supervisor finishes it if this process dies. Settles an
        unfinished step first (``recover``), rebases a conflict automatically up to
        ``max_conflict_retries`` times, and stops at the first step that does not move the
        campaign forward, returning the state there (or between two steps, once
        ``should_stop`` says so: a supervisor carries the run on).
        """
        with self._leased(campaign_id, owner or self.owner, lease_ttl) as engine:
            s = engine.steps.read(campaign_id)
            if not s.wants_active and s.pending is None and lifecycle.worth_running(s):
                s = engine.steps.append(s, [RunRequested()], self.ids())
            return engine.advance(campaign_id, progress, should_stop)

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
        """Run's loop: settle an open step, then the lifecycle's next command while it moves
        the campaign on (and, between steps, until ``should_stop`` says so)."""
        s = recover(self.steps, campaign_id, progress)
        commands: dict[str, Callable[[str], CampaignState]] = {
            "validate": self.validate,
            "filter": lambda cid: self.filter(cid, progress),
            "upload_contacts": self.upload_contacts,
            "activate": self.activate,
            "register_webhook": self.register_webhook,
            "start_dialing": self.start_dialing,
            "rebase": self.rebase,
        }
        while should_stop is None or not should_stop():
            command = lifecycle.next_command(s)
            if command is None:
                return s
            before = (s.state, s.webhook_id, s.dialing_started, s.uploaded_digest)
            s = commands[command](campaign_id)
            if (s.state, s.webhook_id, s.dialing_started, s.uploaded_digest) == before:
                return s
        return s
