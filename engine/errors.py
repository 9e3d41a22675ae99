"""The engine's errors::

CxpreviewError                          (events/errors.py)
└── EngineError
    ├── SpecError (ValueError)          a spec file with problems: every one, with its path
    ├── CampaignNotFound (LookupError)  no campaign with that id in the journal
    ├── InvalidTransition               the campaign's state does not allow that command
    ├── StepInDoubt                     an earlier call's outcome is unknown: recover first
    ├── CampaignBusy                    another process holds the campaign's lease
    ├── CampaignMoved                   another process wrote the campaign meanwhile
    ├── CampaignClaimed                 another live campaign writes to that CXone campaign
    ├── IllegalEvent                    a stored event the state machine does not allow
    └── RemoteError                     what a gateway raises; never an httpx exception
        ├── RemoteConflict              412 (or 409 version mismatch): carries the version
        ├── RemoteRejected              a non-retryable 4xx: carries the status
        │   └── AuthError               credentials refused (401/403 after a refresh)
        ├── RemoteUnavailable           retries and deadline exhausted (429s, 5xx, network)
        └── BadResponse                 a reply that is not the promised shape
"""

from __future__ import annotations

from collections.abc import Sequence

from events import CxpreviewError, FieldProblem, Revision
from events.errors import EXIT_CAMPAIGN, EXIT_HELD, EXIT_USAGE


class EngineError(CxpreviewError):
    """Base of the engine's errors."""

    exit_code = EXIT_CAMPAIGN


class SpecError(EngineError, ValueError):
    """A campaign spec with problems; ``problems`` has every one, each at a field path."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: Sequence[FieldProblem], source: str = "spec") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem{'s' * (count != 1)}\n{lines}")


class CampaignNotFound(EngineError, LookupError):
    """No campaign with that id is in the journal."""

    exit_code = EXIT_USAGE


COMMAND_FOR = {
    "upload_contacts": "run (uploads the eligible contacts as the skill's calling list)",
    "register_webhook": "run (registers the launch webhook)",
    "start_dialing": "run (starts the skill dialing)",
}
"""How an operator issues a trigger that has no command of its own."""


class InvalidTransition(EngineError):
    """A command the campaign's current state does not allow (a usage error: exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, campaign_id: str, state: str, command: str, allowed: Sequence[str]) -> None:
        self.campaign_id, self.state, self.command = campaign_id, state, command
        self.allowed = tuple(allowed)
        options = (
            ", ".join(COMMAND_FOR.get(a, a) for a in self.allowed)
            if self.allowed
            else "none (the state is final)"
        )
        super().__init__(f"campaign {campaign_id} is {state}: cannot {command}; allowed: {options}")


class StepInDoubt(EngineError):
    """The campaign has a remote call whose outcome is not in the journal."""


class CampaignBusy(EngineError):
    """Another process (a run or a supervisor) holds the campaign's lease and is working on it."""

    exit_code = EXIT_HELD

    def __init__(self, campaign_id: str, owner: str, expires_at: str) -> None:
        self.campaign_id, self.owner, self.expires_at = campaign_id, owner, expires_at
        super().__init__(
            f"campaign {campaign_id} is being worked on by {owner} (its lease runs until "
            f"{expires_at} unless renewed): leave it to that process, or try again once it "
            "has stopped; `cxpreview status` shows where it is"
        )


class CampaignMoved(EngineError):
    """Another process wrote the campaign between this command's read and its write (two
    runs racing): nothing was written by this one."""

    exit_code = EXIT_HELD

    def __init__(self, campaign_id: str, read: int, now: int) -> None:
        self.campaign_id, self.read, self.now = campaign_id, read, now
        super().__init__(
            f"campaign {campaign_id} was changed by another process while this command ran "
            f"(read at version {read}, now at {now}); nothing was written here. "
            f"`cxpreview show {campaign_id}` shows where it is; run the command again if it "
            "still applies"
        )


class CampaignClaimed(EngineError):
    """The CXone campaign is claimed by another live local campaign (``holder``), or this one
    was superseded by a newer one (``superseded``): this campaign must not write to it."""

    exit_code = EXIT_HELD

    def __init__(self, message: str, holder: str, *, superseded: bool) -> None:
        super().__init__(message)
        self.holder, self.superseded = holder, superseded


class IllegalEvent(EngineError):
    """An event that cannot follow the campaign's state: a damaged or foreign journal."""


class RemoteError(EngineError):
    """Something went wrong talking to CXone (raised by gateways, never by httpx itself)."""

    retryable = False


class RemoteConflict(RemoteError):
    """The campaign changed remotely since the version we sent in ``If-Match``."""

    def __init__(self, message: str, remote_version: Revision | None) -> None:
        super().__init__(message)
        self.remote_version = remote_version


class RemoteRejected(RemoteError):
    """CXone refused the request for a reason retrying will not fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RemoteRejected):
    """CXone refused our credentials even after fetching a fresh token."""


class RemoteUnavailable(RemoteError):
    """CXone did not answer usefully within the retry policy's deadline."""

    retryable = True


class BadResponse(RemoteError):
    """CXone answered with something that is not the shape the endpoint promises."""

    retryable = True
