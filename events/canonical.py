"""Canonical JSON and content digests: the one byte form that hashes and digests are taken of.

Sorted keys, no insignificant white space, UTF-8 text, and no NaN or infinity: the same value
gives the same bytes in every process and on every Python version (float ``repr`` has been the
shortest round-tripping form since 3.1), so a digest written today verifies tomorrow.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# JSONEncoder.encode builds a new C encoder on every call, which costs three times the encoding
# of a small event; build it once. (The C encoder is CPython's; elsewhere, the public path.)
_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = (
    _MAKE_C_ENCODER(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        True,
        False,
        False,
    )
    if _MAKE_C_ENCODER is not None
    else None
)


_CONTAINERS = (dict, list)


def canonical_json(value: Any) -> str:
    """Serialise ``value`` (JSON-compatible: dicts, lists, tuples, str, numbers, bool, None)."""
    if _C_ENCODER is not None and type(value) in _CONTAINERS:
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)


def sha256_hex(text: str | bytes) -> str:
    """SHA-256 of ``text`` (UTF-8 when it is a str), as 64 lowercase hex digits."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def content_digest(value: Any) -> str:
    """The digest of a JSON-compatible value: ``sha256:`` and the hex of its canonical form."""
    return "sha256:" + sha256_hex(canonical_json(value))


_STRING = json.encoder.encode_basestring  # the C function where CPython has it, as the encoder's
_LITERALS = {None: "null", True: "true", False: "false"}


def value_json(value: Any) -> str:
    """``canonical_json(value)``, quickly for a string, an integer, a boolean or null: for
    code that lays out an object of known keys itself (a state digest) instead of building a
    dict for ``canonical_json`` to sort."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool or value is None:
        return _LITERALS[value]
    if kind is tuple and not value:
        return "[]"
    return canonical_json(value)
