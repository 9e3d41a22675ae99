"""Leases: which process owns a campaign for now, with a fence that grows on every acquire.

A lease expires unless renewed. The fence is the proof of ownership that outlives a pause: a
holder that stalled past expiry and was taken over holds a smaller fence than the new owner, so
its renewals and releases are refused (``LeaseLost``) and what it writes is attributable.

The rules are written once here; a backend stores one row per lease and writes it only by
compare-and-set on the whole row as it was read (``Recorder.write_lease``): two processes
racing for one lease cannot both win, and a takeover decided on a row that its holder renewed
meanwhile fails instead of stealing a lease that is held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events.clock import utc_text
from journal.errors import LeaseLost
from journal.recorder import Fence, LeaseRow, Recorder
from journal.records import Lease


def check_ttl(ttl: float) -> timedelta:
    """A lease's time to live, refused unless positive and finite."""
    if not ttl > 0 or ttl == float("inf"):
        raise ValueError(f"a lease's ttl must be a positive number of seconds, not {ttl!r}")
    return timedelta(seconds=ttl)


def is_held(owner: str | None, expires_at: str, now: str) -> bool:
    """A lease row is held while it has an owner and has not expired."""
    return owner is not None and expires_at > now


def acquire(
    recorder: Recorder, name: str, owner: str, ttl: float, now: datetime, *, replace: str | None
) -> Lease | None:
    """Take ``name`` if it is free, expired, already ``owner``'s, or held by ``replace`` (a
    holder known to be dead); the fence grows. None when someone else holds it (or took it
    in the same instant)."""
    span = check_ttl(ttl)
    row = recorder.read_lease(name)
    if (
        row is not None
        and is_held(row[0], row[2], utc_text(now))
        and row[0] not in (owner, replace)
    ):
        return None
    lease = Lease(name, owner, (row[1] if row else 0) + 1, utc_text(now + span))
    if not recorder.write_lease(name, row, (owner, lease.fence, lease.expires_at)):
        return None
    return lease


def renew(recorder: Recorder, lease: Lease, ttl: float, now: datetime) -> Lease:
    """Extend ``lease``; ``LeaseLost`` when it was released or taken (the fence moved)."""
    span = check_ttl(ttl)
    renewed = Lease(lease.name, lease.owner, lease.fence, utc_text(now + span))
    new: LeaseRow = (lease.owner, lease.fence, renewed.expires_at)
    if not recorder.write_lease(lease.name, (lease.owner, lease.fence, lease.expires_at), new):
        raise LeaseLost(
            f"lease {lease.name!r} (fence {lease.fence}) is no longer held by "
            f"{lease.owner!r}: stop working on it"
        )
    return renewed


def release(recorder: Recorder, lease: Lease) -> bool:
    """Free ``lease`` (keeping its fence); false when it had already been lost."""
    held = (lease.owner, lease.fence, lease.expires_at)
    return recorder.write_lease(lease.name, held, (None, lease.fence, ""))


def current(recorder: Recorder, name: str, now: datetime) -> Lease | None:
    """The unexpired lease on ``name``, if any."""
    row = recorder.read_lease(name)
    if row is None or row[0] is None or not is_held(row[0], row[2], utc_text(now)):
        return None
    return Lease(name, row[0], row[1], row[2])


def fenced_out(row: LeaseRow | None, fence: Fence) -> LeaseLost | None:
    """Why an append under ``fence`` must write nothing, given the lease row as it is inside
    the append's transaction: someone else took the lease (its fence moved on) or it was
    released. None when the writer still holds it (expired but not taken is still its)."""
    name, owner, number = fence
    if row is not None and row[0] == owner and row[1] == number:
        return None
    now = "released" if row is None or row[0] is None else f"held by {row[0]!r}, fence {row[1]}"
    return LeaseLost(
        f"lease {name!r} (fence {number}) is no longer {owner!r}'s ({now}): nothing was "
        "written; the campaign is another process's now"
    )
