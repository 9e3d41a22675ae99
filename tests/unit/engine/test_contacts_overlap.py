"""The filter reads suppressions in a thread of its own while the contacts stream in."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from adapters.simulator import FakeCXoneGateway
from engine import RemoteUnavailable
from engine.contacts import filter_contacts
from engine.spec import CampaignSpec
from tests.conftest import make_contacts


class _SlowSuppressions(FakeCXoneGateway):
    """Suppressions that arrive only after ``before`` contacts were handed out (or fail)."""

    def __init__(self, before: int, fail: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.before, self.fail = before, fail
        self.contacts_out = threading.Event()

    def iter_contacts(self, contact_list_id: str) -> Iterator:  # type: ignore[type-arg]
        for n, contact in enumerate(super().iter_contacts(contact_list_id)):
            if n == self.before:
                self.contacts_out.set()
            yield contact
        self.contacts_out.set()

    def iter_suppressed_numbers(self) -> Iterator[str]:
        assert self.contacts_out.wait(10)  # bounded: the contacts come first
        if self.fail:
            raise RemoteUnavailable("suppressions: 503 after 3 attempts")
        yield from super().iter_suppressed_numbers()


def test_contacts_judged_before_the_suppressions_arrive_are_settled_after(
    spec: CampaignSpec,
) -> None:
    contacts = make_contacts(300)
    suppressed = ["+14155550003", "(415) 555-0150", "+14155550299"]
    slow = _SlowSuppressions(200, contacts=contacts, suppressed=suppressed)
    result = filter_contacts(slow, spec)
    at_once = filter_contacts(FakeCXoneGateway(contacts=contacts, suppressed=suppressed), spec)
    assert result == at_once  # same counts, same eligible set in list order
    assert result.suppressed >= 1
    lines = result.eligible_set.decode().splitlines()
    assert [line.split("\t")[0] for line in lines] == sorted(
        (line.split("\t")[0] for line in lines), key=lambda c: int(c[1:])
    )


def test_a_suppression_listing_that_fails_fails_the_filter(spec: CampaignSpec) -> None:
    slow = _SlowSuppressions(10, fail=True, contacts=make_contacts(50))
    with pytest.raises(RemoteUnavailable, match="suppressions"):
        filter_contacts(slow, spec)


def test_a_contact_listing_that_fails_leaves_no_thread_behind(spec: CampaignSpec) -> None:
    gateway = FakeCXoneGateway(contacts=make_contacts(10), suppressed=["+14155550001"])
    gateway.fail_next("iter_contacts", RemoteUnavailable("contacts: connection reset"))
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RemoteUnavailable, match="contacts"):
        filter_contacts(gateway, spec)
    assert "suppressions" not in {t.name for t in threading.enumerate()} - before
