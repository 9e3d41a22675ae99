"""Replies that are not what the endpoint promises: one BadResponse naming endpoint and field."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.cxone.responses import MAX_BODY
from engine import BadResponse

Reply = Callable[[httpx.Request], httpx.Response]


def gateway_answering(reply: Reply) -> HttpCXoneGateway:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 600})
        return reply(request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    policy = RetryPolicy(deadline=1, sleep=lambda s: None)
    return HttpCXoneGateway(
        Credentials("https://cxone.test", "id", Secret("s")), client=client, policy=policy
    )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            httpx.Response(
                200, text="<html>maintenance</html>", headers={"content-type": "text/html"}
            ),
            r"reply is text/html, not application/json",
        ),
        (
            httpx.Response(200, text='{"version": 5', headers={"content-type": "application/json"}),
            r"reply is not JSON \(Expecting ',' delimiter",
        ),
        (httpx.Response(200, json=[1, 2]), "expected a JSON object, found list"),
        (
            httpx.Response(200, json={"id": "cmp-1"}),
            "field 'version' is missing and there is no ETag",
        ),
        (httpx.Response(200, json={"version": "5"}), "field 'version' is str, not int"),
        (httpx.Response(200, json={"version": True}), "field 'version' is bool, not int"),
    ],
)
def test_a_campaign_reply_of_the_wrong_shape(reply: httpx.Response, message: str) -> None:
    gateway = gateway_answering(lambda request: reply)
    with pytest.raises(BadResponse, match=message) as caught:
        gateway.read_campaign("cmp-1")
    assert str(caught.value).startswith("read campaign cmp-1: ")


def test_the_etag_stands_in_for_a_missing_version() -> None:
    gateway = gateway_answering(lambda r: httpx.Response(200, json={}, headers={"ETag": 'W/"9"'}))
    assert gateway.read_campaign("cmp-1").version == 9


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": []}, "field 'entity' is missing"),
        ({"entity": {"id": 1}}, "field 'entity' is dict, not list"),
        ({"entity": [{"phoneNumber": "+14155550100"}]}, "field 'id' is missing"),
        ({"entity": [{"id": "c1", "fields": [1]}]}, "'fields' of contact c1 is not an object"),
        ({"entity": [], "nextPageUri": 5}, "field 'nextPageUri' is int, not str"),
        ({"entity": [], "nextPageUri": "https://elsewhere.example/steal"}, "another host"),
    ],
)
def test_a_contacts_page_of_the_wrong_shape(body: object, message: str) -> None:
    gateway = gateway_answering(lambda r: httpx.Response(200, json=body))
    with pytest.raises(BadResponse, match=message):
        list(gateway.iter_contacts("cl-1"))


def test_a_next_link_that_loops_is_refused() -> None:
    page = {
        "entity": [{"id": "c1"}],
        "nextPageUri": "/api/v2/outbound/contactlists/cl-1/contacts?page=2",
    }
    gateway = gateway_answering(lambda r: httpx.Response(200, json=page))
    with pytest.raises(BadResponse, match="repeats a page"):
        list(gateway.iter_contacts("cl-1"))


def test_an_oversized_reply_is_refused_by_its_length_unread() -> None:
    huge = b'{"entity": [' + b'{"id": "c"},' * 2_000_000 + b'{"id": "c"}]}'
    gateway = gateway_answering(
        lambda r: httpx.Response(200, content=huge, headers={"content-type": "application/json"})
    )
    with pytest.raises(BadResponse, match="over the 16,777,216-byte limit; not read"):
        list(gateway.iter_contacts("cl-1"))


def test_an_endless_reply_is_read_no_further_than_the_limit() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        yield b'{"entity": ['
        for _ in range(1000):  # 1 GiB if read to the end
            pulled += 1
            yield b'{"id": "c"},' * ((1 << 20) // 12)

    gateway = gateway_answering(
        lambda r: httpx.Response(
            200, content=endless(), headers={"content-type": "application/json"}
        )
    )
    with pytest.raises(BadResponse, match="stopped reading it"):
        list(gateway.iter_contacts("cl-1"))
    assert pulled <= MAX_BODY // (1 << 20) + 2


def test_a_token_reply_without_a_token() -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"token_type": "bearer"}))
    )
    gateway = HttpCXoneGateway(Credentials("https://cxone.test", "id", Secret("s")), client=client)
    with pytest.raises(BadResponse, match="token: field 'access_token' is missing"):
        gateway.read_campaign("cmp-1")


def test_a_compressed_reply_is_read_and_a_compressed_bomb_is_not() -> None:
    page = {"entity": [{"id": "c1", "phoneNumber": "+14155550100"}], "nextPageUri": None}
    packed = gzip.compress(json.dumps(page).encode())
    gateway = gateway_answering(
        lambda r: httpx.Response(
            200,
            stream=httpx.ByteStream(packed),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    )
    assert [c.id for c in gateway.iter_contacts("cl-1")] == ["c1"]
    bomb = gzip.compress(b'{"entity": [' + b" " * (MAX_BODY + 1024) + b"]}")
    assert len(bomb) < MAX_BODY // 100
    gateway = gateway_answering(
        lambda r: httpx.Response(
            200,
            stream=httpx.ByteStream(bomb),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    )
    with pytest.raises(BadResponse, match="stopped reading it"):
        list(gateway.iter_contacts("cl-1"))


def test_a_reply_that_does_not_decompress_is_a_bad_response() -> None:
    gateway = gateway_answering(
        lambda r: httpx.Response(
            200,
            stream=httpx.ByteStream(b"this is not gzip at all"),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    )
    with pytest.raises(BadResponse, match="does not decode as 'gzip'"):
        gateway.read_campaign("cmp-1")
