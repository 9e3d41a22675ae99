"""Pure data: cxpreview's events, their registry, the JSON codec and upcasters.

Imports nothing of cxpreview's; everything else imports this.
"""

from events.canonical import canonical_json, content_digest, sha256_hex
from events.codec import CODEC, EventCodec, to_plain
from events.errors import CxpreviewError, EventDecodeError, EventError, RegistryError
from events.lifecycle import (
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
    FieldConflict,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    RunRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
)
from events.registry import REGISTRY, Event, EventRegistry

__all__ = [
    "CODEC",
    "REGISTRY",
    "ActivationConflicted",
    "ActivationFailed",
    "ActivationRequested",
    "ActivationSucceeded",
    "CampaignCancelled",
    "CampaignDrafted",
    "ConfigRevised",
    "ConflictRebased",
    "ConflictResolved",
    "ContactsFiltered",
    "CxpreviewError",
    "Event",
    "EventCodec",
    "EventDecodeError",
    "EventError",
    "EventRegistry",
    "FieldConflict",
    "FieldProblem",
    "FilterFailed",
    "FilterRequested",
    "RebaseFailed",
    "RebaseRequested",
    "RegistryError",
    "RunRequested",
    "ValidationFailed",
    "ValidationPassed",
    "ValidationRequested",
    "WebhookRegistered",
    "WebhookRegistrationFailed",
    "WebhookRegistrationRequested",
    "canonical_json",
    "content_digest",
    "sha256_hex",
    "to_plain",
]
