"""The campaign state machine, the aggregate, commands, the pipeline and the ports.

Imports events and journal; never an adapter (it is handed a gateway).
"""

from engine.aggregate import CampaignState, fold
from engine.audit import verify
from engine.engine import Engine
from engine.errors import (
    AuthError,
    BadResponse,
    CampaignBusy,
    CampaignClaimed,
    CampaignMoved,
    CampaignNotFound,
    EngineError,
    IllegalEvent,
    InvalidTransition,
    RemoteConflict,
    RemoteError,
    RemoteRejected,
    RemoteUnavailable,
    SpecError,
    StepInDoubt,
)
from engine.handle import Campaign
from engine.leasing import LeaseHolder
from engine.lifecycle import PendingStep, needs_finishing, next_command
from engine.machine import allowed, mermaid
from engine.plan import Plan
from engine.ports import Contact, CXoneGateway, RemoteCampaign, UploadRef, WebhookRef
from engine.replay import Replay, replay_all
from engine.spec import CampaignSpec, load_spec, parse_spec
from engine.steps import RemoteStep, Steps, random_ids
from engine.supervisor import Decision, Supervisor

__all__ = [
    "AuthError",
    "BadResponse",
    "CXoneGateway",
    "Campaign",
    "CampaignBusy",
    "CampaignClaimed",
    "CampaignMoved",
    "CampaignNotFound",
    "CampaignSpec",
    "CampaignState",
    "Contact",
    "Decision",
    "Engine",
    "EngineError",
    "IllegalEvent",
    "InvalidTransition",
    "LeaseHolder",
    "PendingStep",
    "Plan",
    "RemoteCampaign",
    "RemoteConflict",
    "RemoteError",
    "RemoteRejected",
    "RemoteStep",
    "RemoteUnavailable",
    "Replay",
    "SpecError",
    "StepInDoubt",
    "Steps",
    "Supervisor",
    "UploadRef",
    "WebhookRef",
    "allowed",
    "fold",
    "load_spec",
    "mermaid",
    "needs_finishing",
    "next_command",
    "parse_spec",
    "random_ids",
    "replay_all",
    "verify",
]
