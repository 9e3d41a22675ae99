"""A PostgreSQL append in one round trip, when the writer knows the chain's head.

Every append locks the one ``chain`` row and moves it on, so a writer whose last commit left
the chain at ``(seq, hash)`` knows, if the chain is still there, that nothing was appended
since, by anyone: the stream's version, its command ids and its claim are as that writer's
snapshot shows them. Such an append is one statement, sent alone on the autocommit writer
connection (its own transaction, its own durable commit): a CTE ``ok`` that locks the chain
row and yields a row only if the chain is where this writer left it, the stream at the
expected version, the lease still the writer's (read ``FOR SHARE``, as the long way does),
the claim held by the stream and the command id unknown; every write (the rows, the head,
the command, the chain's new head) is made from ``ok``, so when any check fails the statement
writes nothing and returns no row, and the append goes the long way (journal/postgres.py),
which reads everything again under the lock and says what failed.

What is not on this path goes the long way: a group of several callers, an append without a
head, one that takes, releases or moves a claim, one whose events tell supervisors there is
work (their ``NOTIFY``), more than ``MOST_ROWS`` events.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from journal.heads import HEAD_COLUMNS, head_row
from journal.recorder import Row
from journal.schema import EVENT_COLUMNS
from journal.sqlite_append import Queued

MOST_ROWS = 8
_EVENT_TYPES = (
    "bigint",  # seq
    "text",  # stream_id
    "integer",  # version
    "text",  # type
    "integer",  # schema
    "text",  # data
    "text",  # meta
    "text",  # recorded_at
    "text",  # state_digest
    "text",  # prev_hash
    "text",  # hash
)
_HEAD_TYPES = dict(
    zip(
        HEAD_COLUMNS,
        (
            "text",
            "bigint",
            "integer",
            "text",
            "text",
            "text",
            "text",
            "integer",
            "text",
            "bigint",
            "text",
            "text",
        ),
        strict=True,
    )
)
_KEPT = ", ".join(
    f"{c} = excluded.{c}" for c in HEAD_COLUMNS if c not in ("stream_id", "first_seq")
)


def fits(queued: Queued) -> bool:
    """Whether ``queued`` may go in one round trip (before its rows are known)."""
    claims = queued.claims
    return queued.head is not None and (
        claims is None or (claims.claim is not None and claims.release is None and not claims.fresh)
    )


def _casts(types: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"%s::{t}" for t in types)


@cache
def statement(rows: int, fence: bool, claim: bool, command: bool) -> str:
    """The one statement of an append of ``rows`` events (with its checks)."""
    ctes = []
    checks = [
        "c.seq = %s",
        "c.hash = %s",
        "(SELECT coalesce(max(version), 0) FROM events WHERE stream_id = %s) = %s",
    ]
    if fence:
        ctes.append(
            "lease AS (SELECT 1 FROM leases WHERE name = %s AND owner = %s AND fence = %s "
            "FOR SHARE)"
        )
        checks.append("EXISTS (SELECT 1 FROM lease)")
    if claim:
        checks.append(
            "EXISTS (SELECT 1 FROM claims WHERE name = %s AND stream_id = %s AND held = 1)"
        )
    if command:
        checks.append("NOT EXISTS (SELECT 1 FROM commands WHERE command_id = %s)")
    # Every piece below is a constant of this module: no input ever reaches the text.
    ctes.append(f"ok AS (SELECT 1 FROM chain c WHERE {' AND '.join(checks)} FOR UPDATE OF c)")  # noqa: S608
    ctes.extend(
        f"e{i} AS (INSERT INTO events ({EVENT_COLUMNS}) SELECT {_casts(_EVENT_TYPES)} FROM ok)"  # noqa: S608
        for i in range(rows)
    )
    ctes.append(
        f"h AS (INSERT INTO heads ({', '.join(HEAD_COLUMNS)}) "  # noqa: S608
        f"SELECT {_casts([_HEAD_TYPES[c] for c in HEAD_COLUMNS])} FROM ok "
        f"ON CONFLICT (stream_id) DO UPDATE SET {_KEPT})"
    )
    if command:
        ctes.append(
            "cm AS (INSERT INTO commands "
            "SELECT %s::text, %s::text, %s::bigint, %s::bigint, %s::text FROM ok)"
        )
    return (
        f"WITH {', '.join(ctes)} "  # noqa: S608 - made of constants only
        "UPDATE chain SET seq = %s, hash = %s FROM ok RETURNING chain.seq"
    )


def parameters(queued: Queued, rows: list[Row], tip: tuple[int, str]) -> tuple[Any, ...]:
    """The statement's parameters, in the order its text names them."""
    params: list[Any] = []
    if queued.fence is not None:
        params.extend(queued.fence)
    params.extend((tip[0], tip[1], queued.stream_id, queued.expected_version))
    if queued.claims is not None:
        params.extend((queued.claims.claim, queued.stream_id))
    if queued.command is not None:
        params.append(queued.command[0])
    for row in rows:
        params.extend(row)
    last = rows[-1]
    assert queued.head is not None
    params.extend(head_row(queued.head, rows[0][0], last))
    if queued.command is not None:
        params.extend((queued.command[0], queued.stream_id, rows[0][0], last[0], queued.command[1]))
    params.extend((last[0], last[10]))
    return tuple(params)
