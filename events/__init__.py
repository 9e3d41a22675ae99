"""Pure data: cxpreview's events, their registry, the JSON codec and upcasters; and the two
hooks everything below the adapters is handed rather than reads itself, the clock
(events/clock.py) and the named crash points (events/crash.py).

Imports nothing of cxpreview's; everything else imports this.
"""

from events.canonical import canonical_json, content_digest, sha256_hex
from events.clock import Clock, ManualClock, SystemClock, instant, parse_utc_text, utc_text
from events.codec import CODEC, EventCodec, to_plain
from events.crash import crash_point
from events.errors import CxpreviewError, EventDecodeError, EventError, RegistryError
from events.lifecycle import (
    LANDED_HOW,
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
    FieldChange,
    FieldConflict,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    Revision,
    RunRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
    revision_text,
)
from events.registry import REGISTRY, Event, EventRegistry

__all__ = [
    "CODEC",
    "LANDED_HOW",
    "REGISTRY",
    "ActivationConflicted",
    "ActivationFailed",
    "ActivationRequested",
    "ActivationSucceeded",
    "CampaignCancelled",
    "CampaignDrafted",
    "Clock",
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
    "FieldChange",
    "FieldConflict",
    "FieldProblem",
    "FilterFailed",
    "FilterRequested",
    "ManualClock",
    "RebaseFailed",
    "RebaseRequested",
    "RegistryError",
    "Revision",
    "RunRequested",
    "SystemClock",
    "ValidationFailed",
    "ValidationPassed",
    "ValidationRequested",
    "WebhookRegistered",
    "WebhookRegistrationFailed",
    "WebhookRegistrationRequested",
    "canonical_json",
    "content_digest",
    "crash_point",
    "instant",
    "parse_utc_text",
    "revision_text",
    "sha256_hex",
    "to_plain",
    "utc_text",
]
