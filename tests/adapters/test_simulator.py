"""The simulator refuses what CXone refuses; and over a real socket, it times out and drops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.simulator import Dataset, FaultPlan, Simulator, SimulatorServer
from adapters.simulator.inprocess import InProcessTransport
from engine import RemoteUnavailable
from tests.adapters.conftest import SECRET


@pytest.fixture
def raw(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=InProcessTransport(sim.app), base_url="http://sim") as client:
        token = client.post(
            "/api/v2/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "cxpreview",
                "client_secret": SECRET,
            },
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_no_token_is_401_with_an_error_body(sim: Simulator) -> None:
    with httpx.Client(transport=InProcessTransport(sim.app), base_url="http://sim") as client:
        reply = client.get(
            "/api/v2/outbound/campaigns/cmp-1001", headers={"Authorization": "Bearer nonsense"}
        )
    assert reply.status_code == 401
    assert set(reply.json()) == {"message", "code", "status", "contextId"}


def test_basic_auth_also_gets_a_token(sim: Simulator) -> None:
    with httpx.Client(transport=InProcessTransport(sim.app), base_url="http://sim") as client:
        reply = client.post(
            "/api/v2/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("cxpreview", SECRET),
        )
    assert reply.status_code == 200
    assert reply.json()["expires_in"] == 600


def test_put_needs_if_match_and_the_current_version(raw: httpx.Client, sim: Simulator) -> None:
    path, body = "/api/v2/outbound/campaigns/cmp-1001", {"type": "preview"}
    assert raw.put(path, json=body).status_code == 428
    stale = raw.put(path, json=body, headers={"If-Match": '"3"'})
    assert (stale.status_code, stale.headers["etag"]) == (412, '"4"')
    fresh = raw.put(path, json=body, headers={"If-Match": '"4"'})
    assert (fresh.status_code, fresh.json(), fresh.headers["etag"]) == (
        200,
        {"version": 5, "status": "active"},
        '"5"',
    )
    assert [e["changed"] for e in sim.log if e["route"] == "put_campaign"] == [False, False, True]


def test_pages_are_clamped(raw: httpx.Client) -> None:
    page = raw.get("/api/v2/outbound/contactlists/cl-2001/contacts", params={"limit": 10_000})
    assert len(page.json()["entity"]) == 250
    assert page.json()["nextPageUri"].endswith("limit=250&page=2")


def test_a_concurrent_edit_makes_the_next_put_stale(raw: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("put_campaign", "concurrent_edit")
    reply = raw.put(
        "/api/v2/outbound/campaigns/cmp-1001", json={"type": "preview"}, headers={"If-Match": '"4"'}
    )
    assert reply.status_code == 412
    assert sim.campaigns["cmp-1001"]["name"].endswith("(edited)")


def test_the_dataset_is_deterministic_and_suppressions_overlap_contacts() -> None:
    a, b = (
        Dataset(seed=3, contacts=500, suppressions=100),
        Dataset(seed=3, contacts=500, suppressions=100),
    )
    assert [a.contact(i) for i in range(500)] == [b.contact(i) for i in range(500)]
    assert a.contact(1) != Dataset(seed=4, contacts=500).contact(1)
    digits = {
        "".join(ch for ch in str(a.contact(i).get("phoneNumber")) if ch.isdigit())[-10:]
        for i in range(500)
    }
    overlapping = sum(
        "".join(ch for ch in a.suppression(j)["phoneNumber"] if ch.isdigit())[-10:] in digits
        for j in range(100)
    )
    assert 80 <= overlapping < 100


def test_a_fault_plan_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(
        '[[fault]]\nroute = "contacts"\nkind = "rate_limit"\ntimes = 2\nretry_after = "date"\n'
    )
    plan = FaultPlan.from_toml(path)
    assert [(f.route, f.kind, f.times, f.retry_after) for f in plan.faults] == [
        ("contacts", "rate_limit", 2, "date")
    ]
    path.write_text('[[fault]]\nroute = "nowhere"\nkind = "status"\n')
    with pytest.raises(ValueError, match=r"fault\[0\].*route"):
        FaultPlan.from_toml(path)


# --- over a real socket ------------------------------------------------------------------------


def socket_gateway(url: str, *, timeout: float, deadline: float) -> HttpCXoneGateway:
    return HttpCXoneGateway(
        Credentials(url, "cxpreview", Secret(SECRET)),
        timeout=timeout,
        policy=RetryPolicy(deadline=deadline, base=0.01, cap=0.05),
    )


def test_a_slow_reply_times_out_and_is_retried() -> None:
    sim = Simulator(Dataset(contacts=300))
    sim.faults.add("contacts", "latency", seconds=1.0)
    with SimulatorServer(sim) as server:
        gateway = socket_gateway(server.base_url, timeout=0.2, deadline=10)
        assert len(list(gateway.iter_contacts("cl-2001"))) == 300
        gateway.close()
    # The slow first reply is logged when it finally completes, after the retry's.
    pages = sorted(e["page"] for e in sim.log if e["route"] == "contacts")
    assert pages == [1, 1, 2], "the slow first page was asked for again"


def test_a_dropped_connection_is_retried_for_reads_and_in_doubt_for_a_put() -> None:
    sim = Simulator(Dataset(contacts=300))
    sim.faults.add("contacts", "drop").add("put_campaign", "drop")
    with SimulatorServer(sim) as server:
        gateway = socket_gateway(server.base_url, timeout=5, deadline=10)
        assert len(list(gateway.iter_contacts("cl-2001"))) == 300
        with pytest.raises(RemoteUnavailable, match="may or may not have been applied"):
            gateway.put_preview_config("cmp-1001", {"type": "preview"}, 4)
        gateway.close()
    assert sum(1 for e in sim.log if e.get("dropped")) == 2
