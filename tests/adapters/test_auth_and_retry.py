"""Credentials, the token cache under threads, and the wait the server asks for."""

from __future__ import annotations

import re
import threading
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from adapters.cxone import Credentials, HttpCXoneGateway, Secret, SettingsError, TokenCache
from adapters.cxone.retry import wait_hint
from adapters.simulator import Simulator
from tests.conftest import RecordedTime


def test_a_secret_never_prints() -> None:
    secret = Secret("hunter2")
    creds = Credentials("https://x", "id", secret)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr(creds), str(creds)):
        assert "hunter2" not in text
    assert secret.reveal() == "hunter2"


def test_credentials_from_the_environment(tmp_path: Path) -> None:
    env = {
        "CXONE_BASE_URL": "https://api.example",
        "CXONE_CLIENT_ID": "id",
        "CXONE_CLIENT_SECRET": "s",
    }
    assert Credentials.from_env(env).client_secret.reveal() == "s"
    with pytest.raises(SettingsError, match="missing from the environment: CXONE_CLIENT_ID"):
        Credentials.from_env({"CXONE_BASE_URL": "x", "CXONE_CLIENT_SECRET": "s"})
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    secret_file.chmod(0o644)
    env = {**env, "CXONE_CLIENT_SECRET_FILE": str(secret_file)}
    del env["CXONE_CLIENT_SECRET"]
    with pytest.raises(SettingsError, match=r"readable by group or others \(mode 644\); chmod 600"):
        Credentials.from_env(env)
    secret_file.chmod(0o600)
    assert Credentials.from_env(env).client_secret.reveal() == "from-a-file"


@pytest.mark.parametrize(
    ("url", "insecure", "refused"),
    [
        ("https://api.example.com", False, None),
        ("http://127.0.0.1:8700", False, None),
        ("http://127.9.9.9", False, None),
        ("http://localhost:8700", False, None),
        ("http://[::1]:8700", False, None),
        ("http://api.example.com", False, "refusing http://api.example.com"),
        ("http://10.0.0.8", False, "refusing http://10.0.0.8"),
        ("http://api.example.com", True, None),
        ("ftp://api.example.com", True, "must be https://host"),
        ("api.example.com", False, "must be https://host"),
        ("https://user:pw@api.example.com", False, "must not carry a user or password"),
    ],
)
def test_plain_http_only_to_loopback_or_when_told(
    url: str, insecure: bool, refused: str | None
) -> None:
    credentials = Credentials(url, "id", Secret("s3cret"))
    if refused is None:
        HttpCXoneGateway(credentials, insecure=insecure).close()
        return
    with pytest.raises(SettingsError, match=re.escape(refused)) as caught:
        HttpCXoneGateway(credentials, insecure=insecure)
    assert "s3cret" not in str(caught.value)
    assert "pw" not in str(caught.value)


def test_one_refresh_serves_every_waiting_thread() -> None:
    gate = threading.Event()
    calls: list[int] = []

    def slow_fetch() -> tuple[str, float]:
        calls.append(1)
        gate.wait(timeout=5)
        return f"token-{len(calls)}", 600.0

    cache = TokenCache(slow_fetch, clock=lambda: 0.0)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get())) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert results == ["token-1"] * 8
    assert len(calls) == 1


def test_invalidating_a_stale_token_keeps_a_fresher_one() -> None:
    tokens = iter(["a", "b"])
    cache = TokenCache(lambda: (next(tokens), 600.0), clock=lambda: 0.0)
    assert cache.get() == "a"
    cache.invalidate("a")
    assert cache.get() == "b"
    cache.invalidate("a")  # a late 401 for the old token
    assert cache.get() == "b"


def test_a_short_lived_token_is_used_for_half_its_life() -> None:
    now = [0.0]
    tokens = iter(["a", "b"])
    cache = TokenCache(lambda: (next(tokens), 30.0), clock=lambda: now[0], margin=60)
    assert cache.get() == "a"
    now[0] = 14.0
    assert cache.get() == "a"
    now[0] = 15.0
    assert cache.get() == "b"


def test_threads_share_one_token_through_the_gateway(
    sim: Simulator, time_: RecordedTime, gateway: HttpCXoneGateway
) -> None:
    errors: list[BaseException] = []

    def read() -> None:
        try:
            gateway.read_campaign("cmp-1001")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    assert sum(e["route"] == "token" for e in sim.log) == 1


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"Retry-After": formatdate(1_700_000_030, usegmt=True)}, 30.0),
        ({"Retry-After": "soon"}, None),
        ({"inin-ratelimit-reset": "4"}, 4.0),
        ({"x-ratelimit-reset": "1700000009"}, 9.0),  # an epoch timestamp
        ({}, None),
    ],
)
def test_wait_hints(headers: dict[str, str], hint: float | None) -> None:
    response = httpx.Response(429, headers=headers)
    assert wait_hint(response, now=lambda: 1_700_000_000.0) == hint
