"""``Campaign``: a handle on one campaign for people at a REPL.

It holds the engine and the latest state it saw. Each trigger method runs the engine's command,
keeps the new state, and returns the handle, so steps chain: ``c.validate().filter()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from engine import machine
from engine.aggregate import CampaignState

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
    def activate(self, campaign_id: str) -> CampaignState: ...
    def register_webhook(self, campaign_id: str) -> CampaignState: ...
    def rebase(self, campaign_id: str) -> CampaignState: ...
    def resolve(self, campaign_id: str, side: str) -> CampaignState: ...
    def recover(self, campaign_id: str, progress: Progress | None = None) -> CampaignState: ...
    def revise(self, campaign_id: str, spec: CampaignSpec, reason: str = "") -> CampaignState: ...
    def cancel(self, campaign_id: str, reason: str = "") -> CampaignState: ...
    def plan(self, campaign_id: str) -> Plan: ...
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
        return () if self.snapshot.pending else machine.allowed(self.state)

    def __getattr__(self, name: str) -> Any:
        # Everything else a state knows (remote_version, eligible, last_error, …) reads through.
        return getattr(self.__dict__["snapshot"], name)

    def __repr__(self) -> str:
        s = self.snapshot
        extra = f" pending={s.pending.step}" if s.pending else ""
        extra += f" error={s.last_error!r}" if s.last_error else ""
        return f"<Campaign {s.id} {s.name!r} {s.state} v{s.version}{extra}>"

    def refresh(self) -> Campaign:
        """Reload from the journal (another process may have moved it on)."""
        self.snapshot = self._engine.load(self.id)
        return self

    def history(self) -> list[StoredEvent]:
        """Its events as stored."""
        return self._engine.history(self.id)

    def validate(self) -> Campaign:
        """Check the spec and CXone's constraints; read the version to activate against."""
        self.snapshot = self._engine.validate(self.id)
        return self

    def filter(self, progress: Progress | None = None) -> Campaign:
        """Compute the eligible contacts."""
        self.snapshot = self._engine.filter(self.id, progress)
        return self

    def activate(self) -> Campaign:
        """PUT the preview configuration with ``If-Match``."""
        self.snapshot = self._engine.activate(self.id)
        return self

    def register_webhook(self) -> Campaign:
        """Make sure the launch webhook exists."""
        self.snapshot = self._engine.register_webhook(self.id)
        return self

    def rebase(self) -> Campaign:
        """After a conflict: read CXone's campaign and merge it with ours."""
        self.snapshot = self._engine.rebase(self.id)
        return self

    def resolve(self, side: str) -> Campaign:
        """Settle an unmergeable conflict: ``"ours"`` or ``"theirs"``."""
        self.snapshot = self._engine.resolve(self.id, side)
        return self

    def recover(self) -> Campaign:
        """Settle an unfinished call from the journal and CXone (what a supervisor does)."""
        self.snapshot = self._engine.recover(self.id)
        return self

    def revise(self, spec: CampaignSpec, reason: str = "") -> Campaign:
        """Replace the spec (back to draft)."""
        self.snapshot = self._engine.revise(self.id, spec, reason)
        return self

    def cancel(self, reason: str = "") -> Campaign:
        """Abandon it."""
        self.snapshot = self._engine.cancel(self.id, reason)
        return self

    def run(self, progress: Progress | None = None, *, lease_ttl: float = 60.0) -> Campaign:
        """As far as it will go, under the campaign's lease."""
        self.snapshot = self._engine.run(self.id, progress, lease_ttl=lease_ttl)
        return self

    def plan(self) -> Plan:
        """What activating would change in CXone now, field by field (reads CXone only)."""
        return self._engine.plan(self.id)
