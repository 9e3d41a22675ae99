"""Leases: which supervisor owns a campaign for now, with a fence that grows on every acquire.

A lease expires unless renewed. The fence is the proof of ownership that outlives a pause: a
holder that stalled past expiry and was taken over holds a smaller fence than the new owner, so
its renewals and releases are refused (``LeaseLost``) and what it writes is attributable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta

from journal.clock import Clock, utc_text
from journal.errors import LeaseLost
from journal.records import Lease

Transaction = Callable[[str], AbstractContextManager[sqlite3.Connection]]


def check_ttl(ttl: float) -> timedelta:
    """A lease's time to live, refused unless positive and finite."""
    if not ttl > 0 or ttl == float("inf"):
        raise ValueError(f"a lease's ttl must be a positive number of seconds, not {ttl!r}")
    return timedelta(seconds=ttl)


def is_held(owner: str | None, expires_at: str, now: str) -> bool:
    """A lease row is held while it has an owner and has not expired."""
    return owner is not None and expires_at > now


class LeaseBook:
    """The ``leases`` table, each operation one write transaction."""

    def __init__(self, transaction: Transaction, clock: Clock) -> None:
        self._transaction = transaction
        self._clock = clock

    def acquire(
        self, name: str, owner: str, ttl: float, replace: str | None = None
    ) -> Lease | None:
        """Take ``name`` if it is free, expired, already ``owner``'s, or held by ``replace``
        (a holder known to be dead); the fence grows."""
        span = check_ttl(ttl)
        now = self._clock.now()
        with self._transaction("acquire_lease") as conn:
            row = conn.execute(
                "SELECT owner, fence, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if (
                row is not None
                and is_held(row[0], row[2], utc_text(now))
                and row[0] not in (owner, replace)
            ):
                return None
            lease = Lease(name, owner, (row[1] if row else 0) + 1, utc_text(now + span))
            conn.execute(
                "INSERT INTO leases VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "owner = excluded.owner, fence = excluded.fence, expires_at = excluded.expires_at",
                (lease.name, lease.owner, lease.fence, lease.expires_at),
            )
        return lease

    def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease``; ``LeaseLost`` when it was released or taken (the fence moved)."""
        span = check_ttl(ttl)
        renewed = Lease(lease.name, lease.owner, lease.fence, utc_text(self._clock.now() + span))
        with self._transaction("renew_lease") as conn:
            cursor = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? AND fence = ?",
                (renewed.expires_at, lease.name, lease.owner, lease.fence),
            )
            if cursor.rowcount != 1:
                raise LeaseLost(
                    f"lease {lease.name!r} (fence {lease.fence}) is no longer held by "
                    f"{lease.owner!r}: stop working on it"
                )
        return renewed

    def release(self, lease: Lease) -> bool:
        """Free ``lease`` (keeping its fence); false when it had already been lost."""
        with self._transaction("release_lease") as conn:
            cursor = conn.execute(
                "UPDATE leases SET owner = NULL, expires_at = '' "
                "WHERE name = ? AND owner = ? AND fence = ?",
                (lease.name, lease.owner, lease.fence),
            )
            return cursor.rowcount == 1

    def current(self, name: str) -> Lease | None:
        """The unexpired lease on ``name``, if any."""
        with self._transaction("read_lease") as conn:
            row = conn.execute(
                "SELECT owner, fence, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
        if row is None or not is_held(row[0], row[2], utc_text(self._clock.now())):
            return None
        return Lease(name, row[0], row[1], row[2])
