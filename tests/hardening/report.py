"""The hardening report: per fault or input class, how many cases were tried, how many were
detected and handled, how many events were lost and how many secrets leaked.

Tests add to it as they go; the session prints it as a table at the end (tests/conftest.py).
"""

from __future__ import annotations

import attrs


@attrs.define
class Row:
    cases: int = 0
    handled: int = 0
    lost: int = 0
    leaked: int = 0


ROWS: dict[str, Row] = {}
MATRIX: dict[str, dict[str, str]] = {}
"""fault -> step -> what happened (the fault x step matrix)."""


def record(kind: str, *, handled: bool, lost: int = 0, leaked: int = 0) -> None:
    """One case of ``kind``: whether it was detected and handled, and what it cost."""
    row = ROWS.setdefault(kind, Row())
    row.cases += 1
    row.handled += int(handled)
    row.lost += lost
    row.leaked += leaked


def render() -> str:
    """The table, one line per kind, in the order the kinds were first seen."""
    width = max(len(k) for k in ROWS)
    head = (
        f"{'fault or input class':<{width}}  {'cases':>6}  {'handled':>8}  {'lost':>5}  "
        f"{'leaked':>6}"
    )
    lines = [head, "-" * len(head)]
    for kind, row in ROWS.items():
        lines.append(
            f"{kind:<{width}}  {row.cases:>6}  {row.handled:>8}  {row.lost:>5}  {row.leaked:>6}"
        )
    return "\n".join(lines)


def render_matrix() -> str:
    """The fault x step matrix: what the first run did, and that the resumed one ended active."""
    if not MATRIX:
        return ""
    steps = list(dict.fromkeys(step for row in MATRIX.values() for step in row))
    fault_width = max(len(f) for f in MATRIX)
    widths = [max(len(step), *(len(r.get(step, "")) for r in MATRIX.values())) for step in steps]
    head = f"{'fault':<{fault_width}}  " + "  ".join(
        f"{s:<{w}}" for s, w in zip(steps, widths, strict=True)
    )
    lines = [head, "-" * len(head)]
    for fault, row in MATRIX.items():
        cells = "  ".join(f"{row.get(s, ''):<{w}}" for s, w in zip(steps, widths, strict=True))
        lines.append(f"{fault:<{fault_width}}  {cells}")
    return "\n".join(lines)
