"""The request budget: one pace for every thread of a gateway, and a 429 that holds them all."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.cxone.budget import RequestBudget
from adapters.simulator import Simulator
from adapters.simulator.inprocess import InProcessTransport
from engine import BadResponse
from tests.adapters.conftest import make_gateway
from tests.conftest import RecordedTime


def test_requests_are_spaced_evenly_at_max_rps(time_: RecordedTime) -> None:
    budget = RequestBudget(4, clock=time_.clock, sleep=time_.sleep)
    sent = []
    for _ in range(5):
        budget.take()
        sent.append(time_.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(sent)] == [0.25] * 4


def test_without_a_limit_nothing_waits(time_: RecordedTime) -> None:
    budget = RequestBudget(None, clock=time_.clock, sleep=time_.sleep)
    for _ in range(100):
        budget.take()
    assert time_.sleeps == []


def test_a_hold_delays_the_next_request_of_anyone(time_: RecordedTime) -> None:
    budget = RequestBudget(None, clock=time_.clock, sleep=time_.sleep)
    budget.hold(7)
    budget.take()
    assert time_.sleeps == [7]
    budget.hold(2)
    budget.hold(1)  # a shorter hold does not shorten a longer one
    budget.take()
    assert time_.sleeps == [7, 2]
    assert budget.holds == 3


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan")])
def test_a_rate_that_is_no_rate_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="max_rps"):
        RequestBudget(rate)


def test_one_threads_429_holds_another_threads_request(sim: Simulator) -> None:
    """Real time, real threads: thread A is told to wait 1 s by a 429; thread B, asking for
    something else meanwhile, waits for the same second instead of sending at once."""
    policy = RetryPolicy(deadline=30, jitter=lambda: 0.5)
    client = httpx.Client(transport=InProcessTransport(sim.app))
    gateway = HttpCXoneGateway(
        Credentials("https://cxone.test", "cxpreview", Secret("simulated-secret")),
        client=client,
        policy=policy,
    )
    gateway._owns_client = True
    gateway.read_campaign("cmp-1002")  # the token, before the race
    sim.faults.add("campaign", "rate_limit", times=1, seconds=1, retry_after="seconds")
    a = threading.Thread(target=gateway.read_campaign, args=("cmp-1001",))
    a.start()
    held = threading.Event()
    for _ in range(200):  # bounded: the 429 arrives within milliseconds
        if gateway.budget.holds:
            held.set()
            break
        held.wait(0.01)
    assert held.is_set()
    started = time.monotonic()
    gateway.count_active_previews()
    waited = time.monotonic() - started
    a.join()
    gateway.close()
    assert waited >= 0.8  # the hold's second, less what passed before B asked
    statuses = [(e["route"], e["status"]) for e in sim.log]
    assert statuses.count(("campaign", 429)) == 1
    assert statuses.count(("campaigns", 429)) == 0  # B never sent into the storm


def test_max_rps_paces_a_listing(sim: Simulator, time_: RecordedTime) -> None:
    gateway = make_gateway(sim, time_)
    gateway.budget = RequestBudget(10, clock=time_.clock, sleep=time_.sleep)
    gateway.contact_window = 1
    assert len(list(gateway.iter_contacts("cl-2001"))) == 1200
    # The token and five pages: six requests, 0.1 s apart.
    assert sum(time_.sleeps) == pytest.approx(0.5)


def test_contact_pages_by_number_in_order(sim: Simulator, time_: RecordedTime) -> None:
    one, four = make_gateway(sim, time_), make_gateway(sim, time_)
    one.contact_window = 1
    assert [c.id for c in four.iter_contacts("cl-2001")] == [
        c.id for c in one.iter_contacts("cl-2001")
    ]
    one.close()
    four.close()


def _pages(sizes: list[int]) -> Any:
    """A CXone that says 3 pages of 2 and then gives ``sizes`` items on pages 1..3."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t0ken", "expires_in": 3600})
        page = int(request.url.params.get("page", 1))
        n = sizes[page - 1]
        body: dict[str, Any] = {
            "entities": [{"id": f"p{page}-{k}", "phoneNumber": "+14155550123"} for k in range(n)],
            "totalRecords": 6,
        }
        if page < 3:
            body["nextPageUri"] = f"{request.url.path}?page={page + 1}"
        return httpx.Response(200, json=body)

    return httpx.MockTransport(answer)


def test_a_list_that_changes_while_read_by_number_is_refused() -> None:
    credentials = Credentials("https://cxone.test", "cxpreview", Secret("s3cret"))
    whole = HttpCXoneGateway(credentials, client=httpx.Client(transport=_pages([2, 2, 2])))
    assert len(list(whole.iter_contacts("cl-1"))) == 6
    short = HttpCXoneGateway(credentials, client=httpx.Client(transport=_pages([2, 1, 2])))
    with pytest.raises(BadResponse, match=r"page 2 of 3 holds 1 items .* changed while"):
        list(short.iter_contacts("cl-1"))
