"""``FakeCXoneGateway``: an in-memory CXone behind the gateway port, for tests and the REPL.

It keeps campaigns with versions and enforces ``If-Match`` the way CXone does, records every call
in ``calls``, and takes scripted faults: ``fail_next("put_preview_config", RemoteUnavailable(…))``
raises once; ``edit_remotely(id, …)`` is someone else's edit, so the next stale PUT conflicts.
A campaign's revision moves on with every change: an integer version goes up by one, as the
tutorial's does; an opaque one (a string, as an ETag is) becomes a new string.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from adapters.cxone.tutorial import preview_config
from engine import (
    CampaignSpec,
    Contact,
    RemoteCampaign,
    RemoteConflict,
    RemoteError,
    RemoteRejected,
    UploadRef,
    WebhookRef,
)
from events import Revision


class FakeCXoneGateway:
    """Campaigns, contacts, suppressions and webhooks in dicts, with a call log."""

    def __init__(
        self,
        *,
        campaigns: Iterable[RemoteCampaign] = (),
        contacts: Iterable[Contact] = (),
        suppressed: Iterable[str] = (),
        active_previews: int = 0,
    ) -> None:
        self.campaigns = {c.id: c for c in campaigns}
        self.contacts = list(contacts)
        self.suppressed = list(suppressed)
        self.active_previews = active_previews
        self.webhooks: dict[str, tuple[str, str, str]] = {}
        # Calling lists by id: (name, the campaign they were uploaded for, their lines).
        self.calling_lists: dict[str, tuple[str, str, bytes]] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._faults: dict[str, list[RemoteError]] = {}
        self._webhook_ids = (f"wh-{n}" for n in itertools.count(1))
        self._etags = (f'W/"{n:08x}"' for n in itertools.count(0x5EED))

    def _next(self, revision: Revision) -> Revision:
        """The revision a change moves ``revision`` on to."""
        return revision + 1 if isinstance(revision, int) else next(self._etags)

    def fail_next(self, method: str, *errors: RemoteError) -> None:
        """Make the next calls of ``method`` raise ``errors``, one each, in order."""
        self._faults.setdefault(method, []).extend(errors)

    def edit_remotely(self, campaign_id: str, **config: Any) -> RemoteCampaign:
        """Someone else's edit in CXone: merges ``config`` and bumps the version."""
        c = self.campaigns[campaign_id]
        edited = RemoteCampaign(c.id, self._next(c.version), c.status, {**c.config, **config})
        self.campaigns[campaign_id] = edited
        return edited

    def _enter(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        queue = self._faults.get(method)
        if queue:
            raise queue.pop(0)

    def configuration(self, spec: CampaignSpec) -> dict[str, Any]:
        """The tutorial dialect's configuration for ``spec`` (as the HTTP gateway's)."""
        return preview_config(spec)

    def __repr__(self) -> str:
        return (
            f"<FakeCXoneGateway {len(self.campaigns)} campaigns, {len(self.contacts)} contacts, "
            f"{len(self.calls)} calls>"
        )

    def count_active_previews(self) -> int:
        """The number given at construction (plus campaigns this fake activated)."""
        self._enter("count_active_previews")
        return self.active_previews

    def read_campaign(self, campaign_id: str) -> RemoteCampaign:
        """The campaign; ``RemoteRejected`` 404 when there is none."""
        self._enter("read_campaign", campaign_id)
        try:
            return self.campaigns[campaign_id]
        except KeyError:
            raise RemoteRejected(f"CXone has no campaign {campaign_id!r} (404)", 404) from None

    def iter_contacts(self, contact_list_id: str) -> Iterator[Contact]:
        """The contacts, one at a time."""
        self._enter("iter_contacts", contact_list_id)
        yield from self.contacts

    def iter_suppressed_numbers(self) -> Iterator[str]:
        """The suppressed numbers, as given."""
        self._enter("iter_suppressed_numbers")
        yield from self.suppressed

    def put_preview_config(
        self, campaign_id: str, config: Mapping[str, Any], if_match: Revision
    ) -> RemoteCampaign:
        """Apply ``config`` if ``if_match`` is the current revision, as CXone does; else 412."""
        self._enter("put_preview_config", campaign_id, if_match)
        current = self.campaigns.get(campaign_id)
        if current is None:
            raise RemoteRejected(f"CXone has no campaign {campaign_id!r} (404)", 404)
        if current.version != if_match:
            raise RemoteConflict(
                f"campaign {campaign_id} is at version {current.version}, not {if_match} (412)",
                current.version,
            )
        updated = RemoteCampaign(campaign_id, self._next(if_match), "active", dict(config))
        self.campaigns[campaign_id] = updated
        self.active_previews += 1
        return updated

    def ensure_webhook(self, name: str, uri: str, event: str) -> WebhookRef:
        """Found by name and URI, or created."""
        self._enter("ensure_webhook", name, uri, event)
        for hook_id, (n, u, _) in self.webhooks.items():
            if (n, u) == (name, uri):
                return WebhookRef(hook_id, created=False)
        hook_id = next(self._webhook_ids)
        self.webhooks[hook_id] = (name, uri, event)
        return WebhookRef(hook_id, created=True)

    def upload_contacts(self, campaign_id: str, list_name: str, eligible: bytes) -> UploadRef:
        """The calling list ``list_name`` holding ``eligible``; found when it exists."""
        self._enter("upload_contacts", campaign_id, list_name)
        if campaign_id not in self.campaigns:
            raise RemoteRejected(f"CXone has no campaign {campaign_id!r} (404)", 404)
        records = eligible.count(b"\n")
        for list_id, (name, _, _) in self.calling_lists.items():
            if name == list_name:
                return UploadRef(list_id, f"job-{list_id}", records, found=True)
        list_id = f"list-{len(self.calling_lists) + 1}"
        self.calling_lists[list_id] = (list_name, campaign_id, eligible)
        return UploadRef(list_id, f"job-{list_id}", records, found=False)

    def start_dialing(self, campaign_id: str) -> bool:
        """The campaign's status ``dialing``; True when it was already."""
        self._enter("start_dialing", campaign_id)
        current = self.campaigns.get(campaign_id)
        if current is None:
            raise RemoteRejected(f"CXone has no campaign {campaign_id!r} (404)", 404)
        if current.status == "dialing":
            return True
        self.campaigns[campaign_id] = attrs.evolve(current, status="dialing")
        return False
