"""The activation step: its plan, its PUT with If-Match (or, with nothing to change, a read),
and its outcome settled by content. Mixed into ``Engine``; recovery settles an open one with
the same pieces.

A 412 is never taken on trust as someone else's edit: it may answer our own earlier PUT (one
that outlived its process, its lease or the client's timeout), so CXone is read first, and an
activation whose configuration CXone holds is recorded as landed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from engine.claims import claim_name
from engine.errors import (
    RemoteConflict,
    RemoteError,
    RemoteRejected,
    StepInDoubt,
)
from engine.payload import preview_config
from engine.plan import Plan, changes, holds
from engine.spec import CampaignSpec
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    Event,
    content_digest,
)
from journal import ClaimRefused, crash_point

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.aggregate import CampaignState
    from engine.errors import CampaignClaimed
    from engine.ports import CXoneGateway
    from journal import Journal

T = TypeVar("T")


class ActivationSteps:
    """The activation's pieces: mixed into ``Engine``, whose protocol it uses."""

    if TYPE_CHECKING:  # what Engine provides
        journal: Journal
        ids: Callable[[], str]

        @property
        def gateway(self) -> CXoneGateway: ...

        def _open(
            self, s: CampaignState, step: str, intent: Callable[[str], Event]
        ) -> tuple[CampaignState, str, str]: ...

        def _call(self, fn: Callable[[], T]) -> tuple[T | RemoteError, float]: ...

        def _close(
            self, s: CampaignState, outcome: Event, cause: str, step: str
        ) -> CampaignState: ...

        def _claimed(self, campaign_id: str, exc: ClaimRefused) -> CampaignClaimed: ...

        def load(self, campaign_id: str) -> CampaignState: ...

    def open_activation(self, s: CampaignState) -> tuple[CampaignState, str, str, dict[str, Any]]:
        """Journal an activation's intent: its plan against the configuration last read, the
        payload's digest and the version to If-Match."""
        config = self.payload(s)
        expected = s.remote_version
        assert expected is not None, "a filtered campaign has been validated against CXone"
        plan = changes(config, s.remote_config or {})
        s, step_id, cause = self._open(
            s,
            "activation",
            lambda i: ActivationRequested(
                i, s.activation_attempts + 1, expected, content_digest(config), plan
            ),
        )
        return s, step_id, cause, config

    def plan(self, campaign_id: str) -> Plan:
        """What activating the campaign would change in CXone now, read from CXone; changes
        nothing."""
        s = self.load(campaign_id)
        return self._plan(s.id, self.payload(s), str(s.spec["campaign_id"]), s.remote_version)

    def plan_spec(self, spec: CampaignSpec) -> Plan:
        """What a campaign drafted from ``spec`` would change in CXone now; changes nothing."""
        return self._plan(None, preview_config(spec), spec.campaign_id, None)

    def _plan(
        self,
        campaign_id: str | None,
        config: dict[str, Any],
        remote_id: str,
        if_match: int | None,
    ) -> Plan:
        remote = self.gateway.read_campaign(remote_id)
        if_match = remote.version if if_match is None else if_match
        return Plan(
            campaign_id, remote_id, remote.version, if_match, changes(config, remote.config)
        )

    def confirm_and_close(
        self, s: CampaignState, step_id: str, cause: str, config: dict[str, Any]
    ) -> CampaignState:
        """An activation with nothing to change: read CXone instead of a PUT, and record it
        landed (our configuration is there) or conflicted (someone changed it since)."""
        self.hold_claim(s)
        result, ms = self._call(lambda: self.gateway.read_campaign(str(s.spec["campaign_id"])))
        if isinstance(result, RemoteError):
            raise StepInDoubt(
                f"activation of campaign {s.id} found nothing to change, but CXone could not be "
                f"read to confirm it ({result}); `cxpreview recover {s.id}` settles it"
            ) from result
        assert s.pending is not None
        assert s.pending.expected_version is not None
        if holds(config, result.config):
            outcome: Event = ActivationSucceeded(step_id, result.version, ms, True, "unchanged")
        else:
            outcome = ActivationConflicted(step_id, s.pending.expected_version, result.version, ms)
        return self._close(s, outcome, cause, "activation")

    def hold_claim(self, s: CampaignState) -> None:
        """Before a write to CXone: the campaign still holds its CXone campaign's claim."""
        try:
            self.journal.hold_claim(claim_name(s.spec), s.id)
        except ClaimRefused as exc:
            raise self._claimed(s.id, exc) from exc

    def payload(self, s: CampaignState) -> dict[str, Any]:
        """What an activation PUTs: a merged or resolved configuration, else the spec's."""
        return s.config if s.config is not None else preview_config(CampaignSpec.from_dict(s.spec))

    def put_and_close(
        self,
        s: CampaignState,
        step_id: str,
        cause: str,
        config: dict[str, Any],
        expected: int,
    ) -> CampaignState:
        """The PUT of an open activation step, and its outcome (or ``StepInDoubt``)."""
        remote_id = str(s.spec["campaign_id"])
        self.hold_claim(s)
        result, ms = self._call(
            lambda: self.gateway.put_preview_config(remote_id, config, expected)
        )
        if isinstance(result, RemoteConflict):
            # A 412 may answer our own earlier PUT (one that outlived its process, its lease or
            # its timeout): ask CXone what it holds before calling it someone else's edit.
            outcome: Event = self._after_conflict(remote_id, step_id, config, expected, ms)
        elif isinstance(result, RemoteRejected) and result.status not in (None, 401, 403):
            outcome = ActivationFailed(step_id, result.status, str(result), ms)
        elif isinstance(result, RemoteError):
            raise StepInDoubt(
                f"activation of campaign {s.id} is in doubt ({result}); its intent is "
                "journaled and recovery will settle it by reading the campaign from CXone"
            ) from result
        else:
            outcome = ActivationSucceeded(step_id, result.version, ms)
        s = self._close(s, outcome, cause, "activation")
        crash_point("after-activation-outcome")
        return s

    def _after_conflict(
        self,
        remote_id: str,
        step_id: str,
        config: dict[str, Any],
        expected: int,
        put_ms: float,
    ) -> Event:
        """The outcome of a PUT answered 412, by content: landed if CXone holds ours (the
        latency covers the PUT and the read)."""
        read, read_ms = self._call(lambda: self.gateway.read_campaign(remote_id))
        ms = round(put_ms + read_ms, 3)
        if isinstance(read, RemoteError):
            return ActivationConflicted(step_id, expected, None, ms)
        if holds(config, read.config):
            return ActivationSucceeded(step_id, read.version, ms, True, "read-after-412")
        return ActivationConflicted(step_id, expected, read.version, ms)
