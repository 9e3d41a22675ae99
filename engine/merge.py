"""Three-way merge of campaign configurations, field by field.

``base`` is the configuration we last read from CXone, ``ours`` what we mean to send, ``theirs``
what CXone has now. A field changed on one side only takes that side's value; a field changed
on both sides to different values is a conflict, reported with all three values. Nested objects
merge by their own fields; arrays are values (two edits to one list conflict).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.plan import flatten
from events import FieldConflict

_ABSENT: Any = object()


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(flat):
        node = root
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = flat[path]
    return root


def three_way(
    base: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any],
) -> tuple[dict[str, Any], tuple[FieldConflict, ...]]:
    """The merged configuration (ours where a field conflicts) and the conflicts."""
    b, o, t = flatten(base), flatten(ours), flatten(theirs)
    merged: dict[str, Any] = {}
    conflicts = []
    for path in sorted(b.keys() | o.keys() | t.keys()):
        bv, ov, tv = b.get(path, _ABSENT), o.get(path, _ABSENT), t.get(path, _ABSENT)
        if tv in (ov, bv):
            chosen = ov
        elif ov == bv:
            chosen = tv
        else:
            conflicts.append(FieldConflict(path, _shown(bv), _shown(ov), _shown(tv)))
            chosen = ov
        if chosen is not _ABSENT:
            merged[path] = chosen
    return _unflatten(merged), tuple(conflicts)


def take(
    side: str, merged: dict[str, Any], theirs: dict[str, Any], paths: Iterable[str]
) -> dict[str, Any]:
    """A merge settled for one side. ``merged`` holds ours on the conflicting ``paths``; for
    ``theirs``, each of those takes CXone's value instead (or goes, where CXone has none)."""
    flat = flatten(merged)
    if side == "theirs":
        their_flat = flatten(theirs)
        for path in paths:
            if path in their_flat:
                flat[path] = their_flat[path]
            else:
                flat.pop(path, None)
    return _unflatten(flat)


def _shown(value: Any) -> Any:
    return None if value is _ABSENT else value
