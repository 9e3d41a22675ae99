"""The side-effect protocol, as one collaborator every command, recovery and drill uses.

A remote step is: read the campaign (one read of its rows: hashes, versions and recorded state
digests checked, events folded), append the intent and commit, call CXone (timed), append the
outcome at the next version naming the intent's command as its cause. ``Steps`` holds what
that needs (the journal, the gateway, the clock, the id factory, who writes) and nothing of
any one step; ``RemoteStep`` declares one step (its intent, its call, its outcome) and
``Steps.take`` runs it. A crash between intent and outcome leaves an intent without an outcome,
which is how the journal says "this call's result is unknown" (ARCHITECTURE.md).
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import attrs

from engine import lifecycle, machine
from engine.aggregate import CampaignState, after_each, checked_fold, fold
from engine.claims import CLAIM_PREFIX, claimed
from engine.contacts import Progress
from engine.errors import (
    CampaignClaimed,
    CampaignMoved,
    CampaignNotFound,
    EngineError,
    IllegalEvent,
    InvalidTransition,
    RemoteError,
    StepInDoubt,
)
from engine.heads import head_fields
from engine.leasing import lease_name
from engine.ports import CXoneGateway, DialectGateways, counting_retries
from engine.replay import first_illegal, illegal_at
from engine.spec import CampaignSpec
from engine.steplog import STEP_LOG, log_transitions
from events import Clock, Event, EventDecodeError, crash_point
from journal import ClaimRefused, ConcurrencyError, Journal, JournalCorrupt, StoredEvent
from journal.verify import check_stream_rows

T = TypeVar("T")


def random_ids() -> str:
    """A fresh 64-bit random id in hex (the default id factory)."""
    return secrets.token_hex(8)


def claim_name(spec: dict[str, Any]) -> str:
    """The claim a campaign holds on the CXone campaign its spec names (engine/claims.py)."""
    return f"{CLAIM_PREFIX}{spec.get('campaign_id', '')}"


@attrs.frozen
class RemoteStep(Generic[T]):
    """One remote step, declared: ``Steps.take`` runs it under the protocol.

    ``intent(s, step_id)`` is the event that opens it; ``call(steps, gateway, s, progress)``
    asks CXone (``steps`` for what the journal holds: the eligible set, …); ``outcome(steps,
    s, step_id, result, ms)`` is the event that closes it, given the call's result or the
    ``RemoteError`` it raised. ``local(s)``, when given, may settle the
    step without calling out: it gives the outcome for a step id, appended with its intent.
    """

    step: str
    command: str
    intent: Callable[[CampaignState, str], Event]
    call: Callable[[Steps, CXoneGateway, CampaignState, Progress | None], T]
    outcome: Callable[[Steps, CampaignState, str, T | RemoteError, float], Event]
    local: Callable[[CampaignState], Callable[[str], Event] | None] | None = None
    # Whether its outcome is decided and written one campaign at a time in this process (a
    # decision that counts other campaigns must not race another worker's same decision).
    serial: bool = False


class Steps:
    """Reading, checking and writing one journal's campaigns, and timing calls to CXone."""

    def __init__(
        self,
        journal: Journal,
        gateway: CXoneGateway | DialectGateways | None,
        *,
        clock: Clock,
        ids: Callable[[], str],
        actor: str,
    ) -> None:
        self.journal = journal
        self._gateway = gateway
        self.clock = clock
        self.ids = ids
        self.actor = actor
        self.meta: dict[str, Any] = {}
        self.before_append: Callable[[], None] | None = None
        # Per campaign, the version last read whole and checked here, and its newest event's
        # command id: a command acting on that version needs no second read.
        self._seen: dict[str, tuple[int, str | None]] = {}
        # Per thread, the retries of the calls made since the step in hand began: its outcome
        # records them (``close``).
        self._retries = threading.local()
        self._serial = threading.Lock()  # RemoteStep.serial: shared by every bound copy

    def bound(self, before_append: Callable[[], None] | None = None, **meta: Any) -> Steps:
        """These steps writing ``meta`` into every event's meta and calling ``before_append``
        before every write (after the hook they had, if any)."""
        clone = copy.copy(self)
        clone.meta = {**self.meta, **meta}
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
        """The CXone gateway, when there is one for every dialect (see ``gateway_for``)."""
        if isinstance(self._gateway, DialectGateways):
            raise EngineError("this engine has a gateway per dialect: ask gateway_for(spec)")
        if self._gateway is None:
            raise EngineError(
                "this engine has no CXone gateway: it can draft and read, "
                "but not validate, filter, activate or register webhooks"
            )
        return self._gateway

    def gateway_for(self, spec: CampaignSpec) -> CXoneGateway:
        """The gateway speaking ``spec``'s dialect. One gateway that names its dialect
        serves only that dialect's campaigns: a campaign never reaches the other API."""
        if isinstance(self._gateway, DialectGateways):
            try:
                return self._gateway.for_dialect(spec.dialect)
            except KeyError:
                raise EngineError(
                    f"this engine has no gateway for the {spec.dialect} dialect"
                ) from None
        gateway = self.gateway
        speaks = getattr(gateway, "dialect", None)
        if speaks is not None and speaks != spec.dialect:
            raise EngineError(
                f"the spec speaks the {spec.dialect} dialect, but this engine's gateway "
                f"speaks {speaks}: nothing was sent"
            )
        return gateway

    # --- reading --------------------------------------------------------------------------

    def load(self, campaign_id: str) -> CampaignState:
        """The campaign's state folded from its events (the lean read: nothing checked)."""
        events = self.journal.read_events(campaign_id)
        if not events:
            raise CampaignNotFound(f"no campaign {campaign_id!r} in {self.journal.recorder.where}")
        try:
            return fold(campaign_id, events)
        except IllegalEvent:
            return self.read(campaign_id)  # names the seq, or the row that was changed

    def read(self, campaign_id: str) -> CampaignState:
        """The campaign's state from one read of its rows, each as written (hash, version)
        and each recorded state digest what the fold gives: ``JournalCorrupt`` names the
        seq of the first that is not."""
        return self.read_whole(campaign_id)[0]

    def read_whole(self, campaign_id: str) -> tuple[CampaignState, list[StoredEvent]]:
        """``read``, with the campaign's events as stored."""
        raw = self.journal.stream_raw(campaign_id)
        if not raw:
            raise CampaignNotFound(f"no campaign {campaign_id!r} in {self.journal.recorder.where}")
        check_stream_rows(campaign_id, raw)
        try:
            stored = [row.decoded() for row in raw]
        except EventDecodeError as exc:
            bad = next(r for r in raw if _undecodable(r))
            raise JournalCorrupt(f"seq {bad.seq} (stream {campaign_id!r}): {exc}", bad.seq) from exc
        try:
            state, mismatch = checked_fold(
                campaign_id, [e.event for e in stored], [e.state_digest for e in stored]
            )
        except IllegalEvent as exc:
            raise illegal_at(stored[first_illegal(campaign_id, stored)].seq, exc) from exc
        if mismatch is not None:
            seq = stored[mismatch].seq
            raise JournalCorrupt(
                f"seq {seq}: the state digest recorded with it is not the state its "
                f"campaign's events give; campaign {campaign_id} is left as it is",
                seq,
            )
        self._seen[campaign_id] = (state.version, stored[-1].meta.get("command_id"))
        self._retries.count = 0  # a step begins with a read: calls before it were another's
        return state, stored

    def checked(self, s: CampaignState) -> CampaignState:
        """``s`` if it is the version last read whole here; else the campaign read anew (a
        command acts only on a campaign whose rows are as written)."""
        if self._seen.get(s.id, (None,))[0] == s.version:
            return s
        fresh = self.read(s.id)
        if fresh.version != s.version:
            return s  # moved on meanwhile: the append's version check refuses it
        return fresh

    def cause_of(self, s: CampaignState) -> str:
        """The command id of the open intent (the newest event: nothing follows an open
        intent), which its outcome names as its cause, whoever settles it."""
        seen = self._seen.get(s.id)
        if seen is not None and seen[0] == s.version and seen[1]:
            return seen[1]
        last = self.journal.read_stream(s.id, up_to_version=s.version)[-1]
        return str(last.meta.get("command_id") or self.ids())

    # --- the protocol -----------------------------------------------------------------------

    def ready(self, s: CampaignState, command: str) -> CampaignState:
        """``s`` if ``command`` may be issued on it now; ``StepInDoubt`` while a step is
        open, ``InvalidTransition`` where the state does not allow it."""
        if s.pending is not None:
            raise StepInDoubt(
                f"campaign {s.id} has an unfinished {s.pending.step} step "
                f"({s.pending.step_id}); `cxpreview recover {s.id}` (or a supervisor, or "
                f"`cxpreview run {s.id}`) settles it before {command}"
            )
        if command not in machine.allowed(s.state) or lifecycle.blocked(s, command):
            raise InvalidTransition(s.id, s.state, command, lifecycle.offered(s))
        return s

    def open(
        self, s: CampaignState, step: str, intent: Callable[[str], Event]
    ) -> tuple[CampaignState, str, str]:
        """Append the intent (or pick up this step's unfinished one, for a read step); the
        state after, the step id and the command id its outcome names as cause."""
        if s.pending is not None:
            if s.pending.step != step or step == "activation":
                self.ready(s, step)  # raises StepInDoubt
            s = self.checked(s)  # the step is redone: act on an intact campaign only
            assert s.pending is not None
            return s, s.pending.step_id, self.cause_of(s)
        self._retries.count = 0
        command_id = self.ids()
        s = self.append(s, [intent(self.ids())], command_id)
        assert s.pending is not None
        crash_point(f"after-{step}-intent")
        return s, s.pending.step_id, command_id

    def call(self, fn: Callable[[], T]) -> tuple[T | RemoteError, float]:
        """``fn()`` timed in milliseconds; a ``RemoteError`` it raises is returned. The
        retries the gateway reports meanwhile are counted for the step's outcome."""
        started = self.clock.monotonic()
        with counting_retries() as tally:
            try:
                result: T | RemoteError = fn()
            except RemoteError as exc:
                result = exc
        self._retries.count = getattr(self._retries, "count", 0) + tally[0]
        return result, round((self.clock.monotonic() - started) * 1000, 3)

    def close(self, s: CampaignState, outcome: Event, cause: str, step: str) -> CampaignState:
        """Append the outcome of the step whose intent was command ``cause``, with the
        retries its calls took."""
        retries, self._retries.count = getattr(self._retries, "count", 0), 0
        if hasattr(outcome, "retries"):  # every outcome event has them (events/lifecycle.py)
            outcome = attrs.evolve(outcome, retries=retries)  # type: ignore[misc]
        crash_point(f"after-{step}-response")
        return self.append(s, [outcome], self.ids(), causation=cause)

    def take(
        self, step: RemoteStep[Any], campaign_id: str, progress: Progress | None = None
    ) -> CampaignState:
        """Run a declared step on the campaign (redoing its open intent, for a read)."""
        s = self.read(campaign_id)
        gateway = self.gateway_for(s.campaign_spec)  # before any intent: none is left open
        if s.pending is None:
            s = self.ready(s, step.command)
            settled = step.local(s) if step.local is not None else None
            if settled is not None:
                step_id = self.ids()
                return self.append(s, [step.intent(s, step_id), settled(step_id)], self.ids())
        s, step_id, cause = self.open(s, step.step, lambda i: step.intent(s, i))
        result, ms = self.call(lambda: step.call(self, gateway, s, progress))
        if not step.serial:
            return self.close(s, step.outcome(self, s, step_id, result, ms), cause, step.step)
        with self._serial:
            return self.close(s, step.outcome(self, s, step_id, result, ms), cause, step.step)

    def append(
        self,
        s: CampaignState,
        events: Sequence[Event],
        command_id: str,
        causation: str | None = None,
    ) -> CampaignState:
        """Append ``events`` after ``s`` (a command or an intent on a campaign read whole
        first; an outcome names the intent's command as ``causation``), keeping the
        campaign's claim on its CXone campaign; the state after."""
        if self.before_append is not None:
            self.before_append()
        if causation is None and s.version:
            s = self.checked(s)
        after, digests = after_each(s, events)
        meta: dict[str, Any] = {**self.meta, "actor": self.actor, "command_id": command_id}
        if causation is not None:
            meta["causation_id"] = causation
        # The claim on its CXone campaign: kept by every append while the campaign lives,
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
                state_digests=digests,
                claim=name if live else None,
                release=(was if was != name or not live else None) if was else None,
                fresh_claim=was != name,
                head=head_fields(now),
                fence=self._fence(s.id),
            )
        except ClaimRefused as exc:
            raise self.claimed(s.id, exc) from exc
        except ConcurrencyError as exc:
            raise CampaignMoved(s.id, exc.expected, exc.actual) from exc
        if stored[-1].version != after[-1].version:  # the command had been applied before
            return self.load(s.id)
        self._seen[s.id] = (after[-1].version, command_id)
        if STEP_LOG.isEnabledFor(logging.INFO):
            log_transitions(s, stored, after)
        return after[-1]

    def _fence(self, campaign_id: str) -> tuple[str, str, int] | None:
        """The lease these steps write under (bound with ``lease_owner`` and ``fence``): the
        journal checks it in the append's own transaction, so a writer that stalled past its
        lease and was taken over writes nothing, whatever its own checks said before."""
        owner, fence = self.meta.get("lease_owner"), self.meta.get("fence")
        if not isinstance(owner, str) or not isinstance(fence, int):
            return None
        return lease_name(campaign_id), owner, fence

    def hold_claim(self, s: CampaignState) -> None:
        """Before a write to CXone: the campaign still holds its CXone campaign's claim."""
        try:
            self.journal.hold_claim(claim_name(s.spec), s.id)
        except ClaimRefused as exc:
            raise self.claimed(s.id, exc) from exc

    def claimed(self, campaign_id: str, exc: ClaimRefused) -> CampaignClaimed:
        """The journal's refusal of a claim, in the operator's terms."""
        return claimed(campaign_id, exc, self.load)


def _undecodable(row: Any) -> bool:
    try:
        row.decoded()
    except EventDecodeError:
        return True
    return False
