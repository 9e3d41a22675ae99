"""Reading CXone's replies: JSON bodies, the shapes' real-world variants, and error bodies.

Tolerated: ``entity`` or ``entities`` for a page's items, ``nextPageUri`` or ``nextUri`` for
the next page (absolute or relative, or missing on the last page). Anything else that is not
the promised shape is a ``BadResponse`` naming the endpoint and the field.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from engine import BadResponse

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
    """The reply's JSON; ``BadResponse`` if it is too large, not declared JSON, or not JSON."""
    content = response.content
    if len(content) > MAX_BODY:
        raise BadResponse(
            f"{endpoint}: reply of {len(content):,} bytes is over the {MAX_BODY:,}-byte limit"
        )
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
    return response.reason_phrase or f"HTTP {response.status_code}"
