"""Chaos: a real reply, spoiled on its way out, the ways a broken proxy or service spoils one.

The route's handler runs for real first (a PUT is applied), then the reply is replaced by one of
the variants below, so a client sees a malformed answer to a request that may have taken effect:
exactly the case in which it must neither crash nor guess.

- ``truncated``: the JSON cut in half;
- ``wrong_types``: every top-level value of another JSON type (a string becomes a list, a number
  a string, a list an object...);
- ``missing_fields``: an empty object, and no ``ETag``;
- ``enormous``: a streamed body of ``size`` bytes with no ``Content-Length``;
- ``content_type``: the right JSON declared ``text/plain``;
- ``html``: a 200 whose body is a proxy's HTML page;
- ``null``: the JSON ``null``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

_CHUNK = b'{"id": "c-chaos", "phoneNumber": "+14155550100", "fields": {}},' * 1024


def spoil(response: Response, variant: str, size: int) -> Response:
    """``response`` (a JSON reply already produced) as ``variant`` spoils it."""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    try:
        how = _SPOILERS[variant]
    except KeyError:
        raise ValueError(
            f"unknown chaos variant {variant!r}; one of {', '.join(VARIANTS)}"
        ) from None
    return how(bytes(response.body), response.status_code, headers, size)


def _truncated(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    return _json(body[: len(body) // 2], status, headers)


def _wrong_types(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    if not body:  # a reply of no content (a 204): nothing to change the types of
        return _json(body, status, headers)
    value = json.loads(body)
    if isinstance(value, dict):
        value = {k: _other_type(v) for k, v in value.items()}
    else:
        value = _other_type(value)
    return _json(json.dumps(value).encode(), status, headers)


def _missing_fields(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    return _json(b"{}", status, {k: v for k, v in headers.items() if k.lower() != "etag"})


def _enormous(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    return StreamingResponse(_endless(size), status, headers, media_type="application/json")


def _content_type(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    return Response(body, status, headers, media_type="text/plain")


def _html(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return Response(page, 200, headers, media_type="text/html")


def _null(body: bytes, status: int, headers: dict[str, str], size: int) -> Response:
    return _json(b"null", status, headers)


_SPOILERS: dict[str, Callable[[bytes, int, dict[str, str], int], Response]] = {
    "truncated": _truncated,
    "wrong_types": _wrong_types,
    "missing_fields": _missing_fields,
    "enormous": _enormous,
    "content_type": _content_type,
    "html": _html,
    "null": _null,
}
VARIANTS = tuple(_SPOILERS)


def _json(body: bytes, status: int, headers: dict[str, str]) -> Response:
    return Response(body, status, headers, media_type="application/json")


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        return [value]
    return {}


async def _endless(size: int) -> AsyncIterator[bytes]:
    yield b'{"entity": ['
    sent = 0
    while sent < size:
        yield _CHUNK
        sent += len(_CHUNK)
    yield b'{"id": "last"}]}'
