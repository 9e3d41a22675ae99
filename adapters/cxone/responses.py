"""Reading CXone's replies: JSON bodies, the shapes' real-world variants, and error bodies.

Tolerated: ``entity`` or ``entities`` for a page's items, ``nextPageUri`` or ``nextUri`` for
the next page (absolute or relative, or missing on the last page). Anything else that is not
the promised shape is a ``BadResponse`` naming the endpoint and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from adapters.cxone.retry import Retryable, wait_hint
from engine import (
    AuthError,
    BadResponse,
    Contact,
    RemoteConflict,
    RemoteRejected,
    RemoteUnavailable,
)

MAX_VERSION = 2**53 - 1  # what every JSON reader holds exactly

MAX_BODY = 16 * 1024 * 1024
"""The largest reply read (a page of contacts is tens of kilobytes)."""
MAX_DEPTH = 32
"""The deepest nesting of objects and arrays accepted in a reply (CXone's go four deep)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_limited(content: bytes | str, what: str) -> Any:
    """JSON under limits: no NaN or Infinity, nesting at most ``MAX_DEPTH`` deep;
    ``BadResponse`` naming ``what`` otherwise (never a ``RecursionError``)."""
    try:
        value = json.loads(content, parse_constant=_no_constant)
    except RecursionError:
        raise BadResponse(f"{what}: reply is nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponse(f"{what}: reply is not JSON ({str(exc)[:120]})") from None
    if _depth_over(value, MAX_DEPTH):
        raise BadResponse(f"{what}: reply is nested more than {MAX_DEPTH} deep")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iteratively: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def body_of(response: httpx.Response, endpoint: str) -> Any:
    """The reply's JSON; ``BadResponse`` if it is not declared JSON, or not JSON (its size was
    bounded by ``MAX_BODY`` as it arrived: the one place the limit is applied)."""
    content = response.content
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise BadResponse(
            f"{endpoint}: reply is {media or 'of no content type'}, not application/json "
            f"({len(content)} bytes)"
        )
    return loads_limited(content, endpoint)


def field(body: Any, name: str, kind: type | tuple[type, ...], endpoint: str) -> Any:
    """``body[name]`` checked to be of ``kind``; ``BadResponse`` naming the field otherwise."""
    if not isinstance(body, dict):
        raise BadResponse(f"{endpoint}: expected a JSON object, found {type(body).__name__}")
    if name not in body:
        raise BadResponse(f"{endpoint}: field {name!r} is missing")
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise BadResponse(
            f"{endpoint}: field {name!r} is {type(value).__name__}, "
            f"not {getattr(kind, '__name__', kind)}"
        )
    return value


def page_items(body: Any, endpoint: str) -> list[Any]:
    """A page's items, under ``entity`` or ``entities``."""
    plural = isinstance(body, dict) and "entity" not in body and "entities" in body
    items: list[Any] = field(body, "entities" if plural else "entity", list, endpoint)
    return items


def next_link(body: dict[str, Any], endpoint: str) -> str | None:
    """The next page's URI (``nextPageUri`` or ``nextUri``), ``None`` on the last page."""
    for name in ("nextPageUri", "nextUri"):
        value = body.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise BadResponse(f"{endpoint}: field {name!r} is {type(value).__name__}, not str")
        return value
    return None


def error_message(response: httpx.Response) -> str:
    """A readable summary of an error reply (``message``, ``code``, ``contextId`` if present)."""
    try:
        body = loads_limited(response.content, "error reply")
    except BadResponse:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        extra = ", ".join(f"{k} {body[k]}" for k in ("code", "contextId") if body.get(k))
        return f"{body['message'][:300]}" + (f" ({extra})" if extra else "")
    # The ACD API's (and OAuth's) shape: ``error`` and ``error_description`` (cxone-mcp
    # src/cxone.js reads error_description, then message, then error).
    if isinstance(body, dict) and isinstance(body.get("error_description"), str):
        code = body.get("error")
        suffix = f" ({code[:60]})" if isinstance(code, str) and code else ""
        return f"{body['error_description'][:300]}{suffix}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


def classify(
    response: httpx.Response, endpoint: str, idempotent: bool, scrub: Callable[[str], str]
) -> None:
    """Return for a 2xx; otherwise raise what the status means (in CXone's words, scrubbed)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"{endpoint}: {status} {scrub(error_message(response))}"
    if status == 429:
        raise Retryable(message, wait_hint(response), status)
    if status == 503 or (status >= 500 and idempotent):
        raise Retryable(message, wait_hint(response), status)
    if status >= 500:
        raise RemoteUnavailable(f"{message}; the request may or may not have been applied")
    if status == 412 or (status == 409 and "version" in message.lower()):
        raise RemoteConflict(message, etagversion(response) or bodyversion(response))
    if status in (401, 403):
        raise AuthError(message, status)
    raise RemoteRejected(message, status)


def etagversion(response: httpx.Response) -> int | None:
    tag = response.headers.get("etag", "").strip()
    tag = tag.removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() and len(tag) <= 16 and int(tag) <= MAX_VERSION else None


def bodyversion(response: httpx.Response) -> int | None:
    try:
        body = loads_limited(response.content, "conflict reply")
    except BadResponse:
        return None
    version = body.get("version") if isinstance(body, dict) else None
    return version if type(version) is int and 0 <= version <= MAX_VERSION else None


def version_of(body: Any, response: httpx.Response, endpoint: str) -> int:
    if not isinstance(body, dict):
        raise BadResponse(f"{endpoint}: expected a JSON object, found {type(body).__name__}")
    if "version" in body:
        version: int = field(body, "version", int, endpoint)
        if not 0 <= version <= MAX_VERSION:
            raise BadResponse(f"{endpoint}: field 'version' is out of range ({str(version)[:24]})")
        return version
    tagged = etagversion(response)
    if tagged is None:
        raise BadResponse(f"{endpoint}: field 'version' is missing and there is no ETag")
    return tagged


def contact(item: Any, endpoint: str) -> Contact:
    # Called once per contact: the common, well-formed case is checked inline.
    if type(item) is not dict:
        raise BadResponse(f"{endpoint}: a contact is {type(item).__name__}, not an object")
    contact_id = item.get("id")
    if type(contact_id) is not str:
        contact_id = field(item, "id", (str, int), endpoint)
    elif not contact_id.isprintable() or not 0 < len(contact_id) <= 200:
        # A TAB or a line feed in an id would forge a line of the eligible set's blob.
        raise BadResponse(f"{endpoint}: a contact id holds control characters or is too long")
    fields = item.get("fields")
    if fields is None:
        fields = {}
    elif type(fields) is not dict:
        raise BadResponse(f"{endpoint}: field 'fields' of contact {contact_id} is not an object")
    phone = item.get("phoneNumber", fields.get("phone"))
    return Contact(str(contact_id), phone if type(phone) is str else None, fields)
