"""``Campaign``: a handle on one campaign for people at a REPL.

It holds the engine and the latest state it saw. Each trigger method runs the engine's command,
keeps the new state, and returns the handle, so steps chain: ``c.validate().filter()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from engine import lifecycle
from engine.aggregate import CampaignState
from engine.errors import EngineError
from events import instant
from journal import JournalError

if TYPE_CHECKING:
    from engine.contacts import Progress
    from engine.plan import Plan
    from engine.spec import CampaignSpec
    from journal import StoredEvent


class Commands(Protocol):
    """What a handle asks of the engine that made it (``Engine`` is one)."""

    def load(self, campaign_id: str) -> CampaignState: ...
    def history(self, campaign_id: str) -> list[StoredEvent]: ...
    def validate(self, campaign_id: str) -> CampaignState: ...
    def filter(self, campaign_id: str, progress: Progress | None = None) -> CampaignState: ...
    def upload_contacts(self, campaign_id: str) -> CampaignState: ...
    def activate(self, campaign_id: str) -> CampaignState: ...
    def register_webhook(self, campaign_id: str) -> CampaignState: ...
    def start_dialing(self, campaign_id: str) -> CampaignState: ...
    def rebase(self, campaign_id: str) -> CampaignState: ...
    def resolve(self, campaign_id: str, side: str) -> CampaignState: ...
    def recover(self, campaign_id: str, progress: Progress | None = None) -> CampaignState: ...
    def revise(self, campaign_id: str, spec: CampaignSpec, reason: str = "") -> CampaignState: ...
    def cancel(self, campaign_id: str, reason: str = "") -> CampaignState: ...
    def plan(self, campaign_id: str) -> Plan: ...
    def state_at(
        self, campaign_id: str, *, seq: int | None = None, time: str | datetime | None = None
    ) -> CampaignState: ...
    def run(
        self,
        campaign_id: str,
        progress: Progress | None = None,
        *,
        owner: str | None = None,
        lease_ttl: float = 60.0,
    ) -> CampaignState: ...


class Campaign:
    """One campaign: its current ``state`` and a method per trigger."""

    def __init__(self, engine: Commands, state: CampaignState) -> None:
        self._engine = engine
        self.snapshot = state

    @property
    def id(self) -> str:
        """The campaign's id (its journal stream)."""
        return self.snapshot.id

    @property
    def state(self) -> str:
        """The state machine's state: draft, validated, filtered, activating, active, …"""
        return self.snapshot.state

    @property
    def version(self) -> int:
        """How many events the campaign has."""
        return self.snapshot.version

    @property
    def allowed(self) -> tuple[str, ...]:
        """The commands its state allows now."""
        return () if self.snapshot.pending else lifecycle.offered(self.snapshot)

    def __getattr__(self, name: str) -> Any:
        # Everything else a state knows (remote_version, eligible, last_error, …) reads through.
        return getattr(self.__dict__["snapshot"], name)

    def __dir__(self) -> list[str]:
        """The handle's own names and every field of its state (tab completion shows them)."""
        return sorted({*super().__dir__(), *(f.name for f in attrs.fields(CampaignState))})

    def _moved(self, command: Callable[[], CampaignState]) -> Campaign:
        """Run ``command``, keep the state it leaves; when it raises (a step in doubt, a
        conflict with another process), keep what the journal now says, then raise."""
        try:
            self.snapshot = command()
        except EngineError:
            with contextlib.suppress(EngineError, JournalError):
                self.snapshot = self._engine.load(self.id)
            raise
        return self

    def __repr__(self) -> str:
        s = self.snapshot
        extra = f" pending={s.pending.step}" if s.pending else ""
        extra += f" error={s.last_error!r}" if s.last_error else ""
        return f"<Campaign {s.id} {s.name!r} {s.state} v{s.version}{extra}>"

    def refresh(self) -> Campaign:
        """Reload from the journal (another process may have moved it on)."""
        return self._moved(lambda: self._engine.load(self.id))

    def history(self, as_of: int | str | datetime | None = None) -> list[StoredEvent]:
        """Its events as stored; ``as_of`` a global seq or a time (ISO-8601 text or an aware
        datetime): only those up to it."""
        events = self._engine.history(self.id)
        if as_of is None:
            return events
        if isinstance(as_of, int):
            return [e for e in events if e.seq <= as_of]
        until = instant(as_of)
        return [e for e in events if e.recorded_at <= until]

    def at(self, seq: int | None = None, time: str | datetime | None = None) -> CampaignState:
        """Its state as it was after global ``seq``, or at ``time``."""
        return self._engine.state_at(self.id, seq=seq, time=time)

    def validate(self) -> Campaign:
        """Check the spec and CXone's constraints; read the version to activate against."""
        return self._moved(lambda: self._engine.validate(self.id))

    def filter(self, progress: Progress | None = None) -> Campaign:
        """Compute the eligible contacts."""
        return self._moved(lambda: self._engine.filter(self.id, progress))

    def upload_contacts(self) -> Campaign:
        """The ACD dialect: upload the eligible contacts as the skill's calling list."""
        return self._moved(lambda: self._engine.upload_contacts(self.id))

    def activate(self) -> Campaign:
        """PUT the preview configuration with ``If-Match``."""
        return self._moved(lambda: self._engine.activate(self.id))

    def register_webhook(self) -> Campaign:
        """Make sure the launch webhook exists."""
        return self._moved(lambda: self._engine.register_webhook(self.id))

    def start_dialing(self) -> Campaign:
        """The ACD dialect: start the skill dialing, unless it dials already."""
        return self._moved(lambda: self._engine.start_dialing(self.id))

    def rebase(self) -> Campaign:
        """After a conflict: read CXone's campaign and merge it with ours."""
        return self._moved(lambda: self._engine.rebase(self.id))

    def resolve(self, side: str) -> Campaign:
        """Settle an unmergeable conflict: ``"ours"`` or ``"theirs"``."""
        return self._moved(lambda: self._engine.resolve(self.id, side))

    def recover(self) -> Campaign:
        """Settle an unfinished call from the journal and CXone (what a supervisor does)."""
        return self._moved(lambda: self._engine.recover(self.id))

    def revise(self, spec: CampaignSpec, reason: str = "") -> Campaign:
        """Replace the spec (back to draft)."""
        return self._moved(lambda: self._engine.revise(self.id, spec, reason))

    def cancel(self, reason: str = "") -> Campaign:
        """Abandon it."""
        return self._moved(lambda: self._engine.cancel(self.id, reason))

    def run(self, progress: Progress | None = None, *, lease_ttl: float = 60.0) -> Campaign:
        """As far as it will go, under the campaign's lease."""
        return self._moved(lambda: self._engine.run(self.id, progress, lease_ttl=lease_ttl))

    def plan(self) -> Plan:
        """What activating would change in CXone now, field by field (reads CXone only)."""
        return self._engine.plan(self.id)
