"""The engine's ports: what it needs from the outside world, as ``typing.Protocol``.

The engine is handed a ``CXoneGateway``; it never imports one. A gateway raises only the
engine's ``RemoteError`` family (engine/errors.py), so the engine never sees an HTTP library's
exception. Values crossing the port are frozen attrs classes. A gateway that retries says so
with ``retried()``, and the step records the count in its outcome event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from events import Revision

if TYPE_CHECKING:
    from engine.spec import CampaignSpec


@attrs.frozen
class RemoteCampaign:
    """A campaign as CXone has it: its revision (opaque: the tutorial's integer version, an
    ETag, or a digest of the fields we manage) and its preview configuration."""

    id: str
    version: Revision  # opaque: equality only (events/lifecycle.py Revision)
    status: str
    config: dict[str, Any]


@attrs.frozen
class Contact:
    """One entry of a contact list."""

    id: str
    phone: str | None
    fields: dict[str, Any]


@attrs.frozen
class UploadRef:
    """A calling list that holds an upload: its id, the upload job's, how many records the
    upload carried, and ``found`` when both were an earlier attempt's (nothing sent again)."""

    list_id: str
    job_id: str
    records: int
    found: bool


@attrs.frozen
class WebhookRef:
    """A registered webhook; ``created`` is false when it was already there."""

    id: str
    created: bool


class CXoneGateway(Protocol):
    """Everything the engine asks of CXone."""

    def configuration(self, spec: CampaignSpec) -> dict[str, Any]:
        """The configuration an activation of ``spec`` writes, in this API's vocabulary (the
        fields the engine manages: it plans, merges and compares them, never builds them)."""
        ...

    def count_active_previews(self) -> int:
        """How many preview campaigns are active, over every page."""
        ...

    def read_campaign(self, campaign_id: str) -> RemoteCampaign:
        """The campaign's current version and configuration."""
        ...

    def iter_contacts(self, contact_list_id: str) -> Iterator[Contact]:
        """The contact list, page by page, never all in memory at once."""
        ...

    def iter_suppressed_numbers(self) -> Iterator[str]:
        """Every suppressed phone number as CXone stores it (any format), over every page."""
        ...

    def put_preview_config(
        self, campaign_id: str, config: Mapping[str, Any], if_match: Revision
    ) -> RemoteCampaign:
        """PUT the preview configuration with ``If-Match: if_match``; the campaign after.

        Raises ``RemoteConflict`` (412, or 409 version mismatch) with CXone's current version.
        """
        ...

    def ensure_webhook(self, name: str, uri: str, event: str) -> WebhookRef:
        """The webhook ``name`` at ``uri``: found by name and URI, or created."""
        ...

    def upload_contacts(self, campaign_id: str, list_name: str, eligible: bytes) -> UploadRef:
        """Upload the eligible contacts (``id<TAB>e164`` lines) as the calling list
        ``list_name`` of the campaign (the ACD dialect: of its skill), and follow the upload
        to its end. Safe to ask again: the list is found by its name and its upload among
        the list's jobs before either is made, so an earlier attempt's is never doubled."""
        ...

    def start_dialing(self, campaign_id: str) -> bool:
        """Make the campaign dial (the ACD dialect: start its skill); True when it already
        did. Safe to ask again: a dialing one is left as it is."""
        ...


class DialectGateways:
    """One gateway per dialect, each made when a campaign of its dialect first needs it (a
    spec's ``dialect``: "tutorial" or "cxone"): what an engine serving both is given. A
    dialect without a gateway is an error naming what it lacks, raised by its factory."""

    def __init__(self, factories: Mapping[str, Callable[[], CXoneGateway]]) -> None:
        self._factories = dict(factories)
        self._made: dict[str, CXoneGateway] = {}
        self._lock = threading.Lock()

    def for_dialect(self, dialect: str) -> CXoneGateway:
        """The gateway speaking ``dialect``, made on first use."""
        with self._lock:
            made = self._made.get(dialect)
            if made is None:
                factory = self._factories.get(dialect)
                if factory is None:
                    raise KeyError(dialect)
                made = self._made[dialect] = factory()
            return made

    def made(self) -> list[CXoneGateway]:
        """The gateways made so far (to close them)."""
        with self._lock:
            return list(self._made.values())


# --- retries ------------------------------------------------------------------------------

_tally: ContextVar[list[int] | None] = ContextVar("cxpreview_retries", default=None)


def retried() -> None:
    """A gateway calls this each time it sends a request again (after a 429, a 5xx, a lost
    connection), so the step whose call it is records how many times CXone was retried."""
    tally = _tally.get()
    if tally is not None:
        tally[0] += 1


@contextmanager
def counting_retries() -> Iterator[list[int]]:
    """The retries ``retried()`` reports in this thread while the block runs, as ``[n]``."""
    tally = [0]
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)
