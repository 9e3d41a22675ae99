"""The HTTP gateway against the simulator in process: every call, every fault, waits recorded."""

from __future__ import annotations

import pytest

from adapters.cxone import HttpCXoneGateway
from adapters.simulator import Dialect, Simulator
from engine import (
    AuthError,
    RemoteConflict,
    RemoteRejected,
    RemoteUnavailable,
)
from tests.adapters.conftest import make_gateway
from tests.conftest import RecordedTime


def routes(sim: Simulator) -> list[tuple[str, int]]:
    return [(e["route"], e["status"]) for e in sim.log]


def test_reads_every_page(gateway: HttpCXoneGateway, sim: Simulator) -> None:
    contacts = list(gateway.iter_contacts("cl-2001"))
    assert len(contacts) == 1200
    assert len({c.id for c in contacts}) == 1200
    pages = [e["page"] for e in sim.log if e["route"] == "contacts"]
    assert pages[0] == 1  # the others by number, several at once: in any order
    assert sorted(pages) == [1, 2, 3, 4, 5]
    assert len(list(gateway.iter_suppressed_numbers())) == 300
    assert gateway.count_active_previews() == 2


def test_counts_active_previews_over_every_page(gateway: HttpCXoneGateway, sim: Simulator) -> None:
    for n in range(250):
        sim.add_campaign(f"busy-{n}", status="active")
    assert gateway.count_active_previews() == 252  # the tutorial stopped at its first page
    assert sum(e["route"] == "campaigns" for e in sim.log) == 3


def test_one_token_serves_many_calls(gateway: HttpCXoneGateway, sim: Simulator) -> None:
    gateway.count_active_previews()
    gateway.read_campaign("cmp-1001")
    assert sum(e["route"] == "token" for e in sim.log) == 1


def test_a_token_is_refreshed_before_it_expires(
    gateway: HttpCXoneGateway, sim: Simulator, time_: RecordedTime
) -> None:
    gateway.read_campaign("cmp-1001")
    time_.now += sim.token_ttl - 30  # inside the 60 s margin
    gateway.read_campaign("cmp-1001")
    assert [r for r in routes(sim) if r[0] == "token"] == [("token", 200), ("token", 200)]
    assert ("campaign", 401) not in routes(sim)


@pytest.mark.parametrize("window", [1, 4])
def test_a_token_revoked_while_paging_is_replaced_once(
    sim: Simulator, time_: RecordedTime, window: int
) -> None:
    gateway = make_gateway(sim, time_)
    gateway.contact_window = window
    sim.faults.add("contacts", "expire_tokens", after=2)
    assert len(list(gateway.iter_contacts("cl-2001"))) == 1200
    refused = routes(sim).count(("contacts", 401))
    # Pages in flight together may each meet the revoked token; one new token serves them.
    assert refused == 1 if window == 1 else 1 <= refused <= window
    assert routes(sim).count(("token", 200)) == 2
    gateway.close()


def test_refused_credentials_are_an_auth_error_without_the_secret(
    sim: Simulator, time_: RecordedTime
) -> None:
    gateway = make_gateway(sim, time_, secret="wrong-secret")
    with pytest.raises(AuthError) as caught:
        gateway.read_campaign("cmp-1001")
    assert "cxpreview" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert "wrong-secret" not in repr(gateway) + repr(gateway.credentials)
    gateway.close()


@pytest.mark.parametrize(
    ("retry_after", "expected"), [("seconds", 7.0), ("date", 7.0), ("none", 0.25)]
)
def test_429_waits_as_told(
    gateway: HttpCXoneGateway,
    sim: Simulator,
    time_: RecordedTime,
    retry_after: str,
    expected: float,
) -> None:
    sim.faults.add("campaign", "rate_limit", times=2, seconds=7, retry_after=retry_after)
    assert gateway.read_campaign("cmp-1001").version == 4
    assert len(time_.sleeps) == 2
    # A date has one-second resolution; no header means jittered backoff (jitter fixed at 0.5).
    first = time_.sleeps[0]
    assert expected - 1.5 <= first <= expected + 0.01
    if retry_after == "none":
        assert time_.sleeps == [0.25, 0.5]


def test_5xx_bursts_are_retried_with_backoff(
    gateway: HttpCXoneGateway, sim: Simulator, time_: RecordedTime
) -> None:
    sim.faults.add("suppressions", "status", status=502, times=3, after=0)
    assert len(list(gateway.iter_suppressed_numbers())) == 300
    assert time_.sleeps == [0.25, 0.5, 1.0]


def test_a_429_storm_past_the_deadline_is_a_typed_error_not_a_hang(
    sim: Simulator, time_: RecordedTime
) -> None:
    gateway = make_gateway(sim, time_, deadline=20)
    sim.faults.add("contacts", "rate_limit", times=1000, seconds=3)
    with pytest.raises(RemoteUnavailable, match=r"no answer within the 20s deadline \(6 attempts"):
        list(gateway.iter_contacts("cl-2001"))
    assert sum(time_.sleeps) <= 20
    assert time_.sleeps == [3, 3, 3, 3, 4]  # the server's 3 s, then the floor's 4 s
    gateway.close()


def test_retry_after_zero_forever_is_not_a_request_storm(
    sim: Simulator, time_: RecordedTime
) -> None:
    gateway = make_gateway(sim, time_, deadline=30)
    sim.faults.add("contacts", "rate_limit", times=100_000, seconds=0)
    with pytest.raises(RemoteUnavailable, match="no answer within the 30s deadline"):
        list(gateway.iter_contacts("cl-2001"))
    assert len(time_.sleeps) <= 10, time_.sleeps  # 678 requests in 30 s before the floor
    assert time_.sleeps[:4] == [0.25, 0.5, 1.0, 2.0]
    gateway.close()


def test_other_4xx_are_never_retried(
    gateway: HttpCXoneGateway, sim: Simulator, time_: RecordedTime
) -> None:
    with pytest.raises(RemoteRejected) as caught:
        gateway.read_campaign("cmp-404")
    assert caught.value.status == 404
    assert "Campaign cmp-404 not found" in str(caught.value)
    assert time_.sleeps == []


def test_put_with_if_match_and_a_stale_version(gateway: HttpCXoneGateway, sim: Simulator) -> None:
    config = {"type": "preview", "name": "ours"}
    assert gateway.put_preview_config("cmp-1001", config, 4).version == 5
    with pytest.raises(RemoteConflict) as caught:
        gateway.put_preview_config("cmp-1001", config, 4)
    assert caught.value.remote_version == 5
    put = [e for e in sim.log if e["route"] == "put_campaign"]
    assert [(e["status"], e["if_match"]) for e in put] == [(200, "4"), (412, "4")]


def test_a_put_is_not_retried_after_a_500(
    gateway: HttpCXoneGateway, sim: Simulator, time_: RecordedTime
) -> None:
    sim.faults.add("put_campaign", "status", status=500)
    with pytest.raises(RemoteUnavailable, match="may or may not have been applied"):
        gateway.put_preview_config("cmp-1001", {"type": "preview"}, 4)
    assert time_.sleeps == []


def test_a_put_is_retried_after_a_429_with_a_fresh_body(
    gateway: HttpCXoneGateway, sim: Simulator
) -> None:
    sim.faults.add("put_campaign", "rate_limit", seconds=1)
    result = gateway.put_preview_config("cmp-1001", {"type": "preview", "name": "n"}, 4)
    assert result.version == 5
    assert sim.campaigns["cmp-1001"]["name"] == "n", "the retried request carried its body"


def test_webhook_registration_is_idempotent(gateway: HttpCXoneGateway, sim: Simulator) -> None:
    first = gateway.ensure_webhook("launch", "https://hooks.example.com/a", "preview.launched")
    again = gateway.ensure_webhook("launch", "https://hooks.example.com/a", "preview.launched")
    assert (first.created, again.created, first.id) == (True, False, again.id)
    assert len(sim.webhooks) == 1
    (hook,) = sim.webhooks.values()  # the body the tutorial gives, field for field
    assert {k: hook[k] for k in ("name", "enabled", "eventFilter", "uri", "method")} == {
        "name": "launch",
        "enabled": True,
        "eventFilter": "preview.launched",
        "uri": "https://hooks.example.com/a",
        "method": "POST",
    }
    with pytest.raises(RemoteRejected, match="exists with another URI"):
        gateway.ensure_webhook("launch", "https://hooks.example.com/b", "preview.launched")


@pytest.mark.parametrize(
    "dialect",
    [
        Dialect(items_key="entities"),
        Dialect(next_key="nextUri"),
        Dialect(absolute_next=True),
        Dialect(last_page_next="absent"),
        Dialect(last_page_next="empty"),
    ],
)
def test_real_world_shape_variants(sim: Simulator, time_: RecordedTime, dialect: Dialect) -> None:
    sim.dialect = dialect
    gateway = make_gateway(sim, time_)
    assert len(list(gateway.iter_contacts("cl-2001"))) == 1200
    gateway.close()
