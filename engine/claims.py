"""Claims on CXone campaigns: at most one live local campaign writes to each.

The journal keeps the claims (journal/claims.py: taken with a draft's append, kept by every
append of a live campaign, released when it ends, passed only forward); this module names
them and says a refusal in the operator's terms, with the commands that settle it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from engine.aggregate import CampaignState
from engine.errors import CampaignClaimed
from journal import ClaimRefused

CLAIM_PREFIX = "cxone-campaign:"


def derived_id(command_id: str) -> str:
    """The campaign id a draft with ``command_id`` gets (the same every time)."""
    return hashlib.sha256(f"draft:{command_id}".encode()).hexdigest()[:16]


def claimed(
    campaign_id: str, exc: ClaimRefused, load: Callable[[str], CampaignState]
) -> CampaignClaimed:
    """The journal's refusal, said in the operator's terms with the commands that settle it."""
    remote = exc.name.removeprefix(CLAIM_PREFIX)
    holder = exc.holder
    if exc.superseded:
        message = (
            f"campaign {campaign_id} is superseded: campaign {holder} was started for CXone "
            f"campaign {remote} after it, so it writes nothing more there; "
            f"`cxpreview cancel {campaign_id}` retires it"
        )
    else:
        state = load(holder).state
        message = (
            f"CXone campaign {remote} is claimed by campaign {holder} ({state}), which has "
            "not ended; one live campaign per CXone campaign. Settle it first: "
            f"`cxpreview run {holder}` finishes it, `cxpreview revise {holder} SPEC` gives "
            f"it a new spec, `cxpreview cancel {holder}` abandons it"
        )
    return CampaignClaimed(message, holder, superseded=exc.superseded)
