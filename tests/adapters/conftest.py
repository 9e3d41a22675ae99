"""Fixtures for the adapters: the simulator in process, and a gateway whose waits are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.simulator import Dataset, Simulator
from adapters.simulator.inprocess import InProcessTransport
from tests.conftest import RecordedTime

SECRET = "simulated-secret"


@pytest.fixture
def sim(time_: RecordedTime) -> Simulator:
    return Simulator(Dataset(seed=7, contacts=1200, suppressions=300), clock=time_.clock)


def make_gateway(
    sim: Simulator, time_: RecordedTime, *, deadline: float = 30.0, secret: str = SECRET
) -> HttpCXoneGateway:
    policy = RetryPolicy(
        deadline=deadline, sleep=time_.sleep, clock=time_.clock, jitter=lambda: 0.5
    )
    client = httpx.Client(transport=InProcessTransport(sim.app))
    credentials = Credentials("https://cxone.test", "cxpreview", Secret(secret))
    gateway = HttpCXoneGateway(credentials, client=client, policy=policy)
    gateway._owns_client = True  # this test's client: closed with the gateway
    return gateway


@pytest.fixture
def gateway(sim: Simulator, time_: RecordedTime) -> Iterator[HttpCXoneGateway]:
    gw = make_gateway(sim, time_)
    yield gw
    gw.close()
