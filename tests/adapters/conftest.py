"""Fixtures for the adapters: the simulator in process, and a gateway whose waits are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.simulator import Dataset, Simulator
from adapters.simulator.inprocess import InProcessTransport

SECRET = "simulated-secret"


class RecordedTime:
    """A monotonic clock that moves only when something 'sleeps' on it; the sleeps are kept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def time_() -> RecordedTime:
    return RecordedTime()


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
    credentials = Credentials("http://cxone.test", "cxpreview", Secret(secret))
    gateway = HttpCXoneGateway(credentials, client=client, policy=policy)
    gateway._owns_client = True  # this test's client: closed with the gateway
    return gateway


@pytest.fixture
def gateway(sim: Simulator, time_: RecordedTime) -> Iterator[HttpCXoneGateway]:
    gw = make_gateway(sim, time_)
    yield gw
    gw.close()
