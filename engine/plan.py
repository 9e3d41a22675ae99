"""What an activation would change in CXone, field by field, and whether CXone holds ours.

Both compare values as canonical JSON, so ``true`` is not ``1`` and a reordered object is the
same object. A field is a dotted path into the configuration (``dialingRules.maxAttempts``);
lists are compared whole, as the merge does. Only the top-level fields we send are looked at:
CXone's other fields are not ours to change.
"""

from __future__ import annotations

from typing import Any

import attrs

from events import FieldChange, Revision, canonical_json


def flatten(value: dict[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: every leaf (a non-object, or an empty object)
    at its dotted path (the merge compares fields the same way)."""
    return _flatten(value, "", {})


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value
    return out


def changes(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The fields where ``ours`` differs from ``theirs``, sorted by path (``ours`` None: the
    PUT drops a nested field CXone has)."""
    mine = flatten(dict(ours))
    there = flatten({k: theirs.get(k) for k in ours})
    out = []
    for path in sorted(mine.keys() | there.keys()):
        a, b = mine.get(path), there.get(path)
        if canonical_json(a) != canonical_json(b):
            out.append(FieldChange(path, b, a))
    return tuple(out)


def holds(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether CXone's configuration ``theirs`` already has every field of ``ours``."""
    return all(canonical_json(v) == canonical_json(theirs.get(k)) for k, v in ours.items())


@attrs.frozen
class Plan:
    """What activating would do now: CXone's campaign as just read, the version an activation
    would send in ``If-Match``, and the fields it would change (none: nothing would be sent)."""

    campaign_id: str | None
    remote_id: str
    remote_version: Revision
    if_match: Revision | None
    changes: tuple[FieldChange, ...]

    @property
    def empty(self) -> bool:
        """Whether CXone already holds our configuration."""
        return not self.changes

    @property
    def stale(self) -> bool:
        """Whether CXone moved on since the version the campaign would send in If-Match (the
        PUT would be answered 412, and the campaign rebased)."""
        return self.if_match is not None and self.if_match != self.remote_version
