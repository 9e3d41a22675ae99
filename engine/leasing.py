"""Holding a campaign's lease while working on it: one process at a time per campaign.

``run`` and the supervisor both work under a lease (``campaign:<id>``). It is renewed by a
heartbeat thread every third of its life, so it stays held while a call to CXone is in flight
(a slow PUT does not let another process take the campaign over), and checked again before
every journal write: a process that was stopped past its lease (SIGSTOP, a long GC pause, a
suspended VM) and taken over finds its fence moved on and writes nothing more (``LeaseLost``).
The heartbeat stops with the process, so a dead or frozen holder's lease runs out by itself;
a holder that is certainly dead (``is_dead``: the CLI knows a process of this machine that no
longer runs) is taken over at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from engine.errors import CampaignBusy
from journal import Journal, JournalError, Lease, LeaseLost

log = logging.getLogger("cxpreview.lease")


def lease_name(campaign_id: str) -> str:
    """The lease that keeps a campaign to one process."""
    return f"campaign:{campaign_id}"


class LeaseHolder:
    """A held lease on one campaign, kept alive until the ``with`` block ends, then released.

    ``check`` goes before every write (``Engine.bound(before_append=...)``): it raises
    ``LeaseLost`` once a heartbeat found the lease taken, and renews at once when the last
    renewal is older than a third of the lease (the heartbeat may have been frozen with the
    process).
    """

    def __init__(
        self,
        journal: Journal,
        campaign_id: str,
        owner: str,
        ttl: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
        is_dead: Callable[[str], bool] | None = None,
    ) -> None:
        self._journal = journal
        self.campaign_id = campaign_id
        self.owner = owner
        self.ttl = ttl
        self._monotonic = monotonic
        self._heartbeat = heartbeat
        self._is_dead = is_dead
        self._mutex = threading.Lock()
        self._released = False
        self.lost: LeaseLost | None = None
        self.lease: Lease | None = None
        self._renewed = 0.0

    def acquire(self) -> Lease | None:
        """Take the lease if it is free, or its holder is known to be dead (None when another
        process holds it)."""
        name = lease_name(self.campaign_id)
        lease = self._journal.acquire_lease(name, self.owner, self.ttl)
        if lease is None and self._is_dead is not None:
            current = self._journal.current_lease(name)
            if current is not None and self._is_dead(current.owner):
                lease = self._journal.acquire_lease(name, self.owner, self.ttl, current.owner)
                if lease is not None:
                    log.info(
                        "%s took campaign %s over from %s, which is no longer running",
                        self.owner,
                        self.campaign_id,
                        current.owner,
                        extra={"campaign_id": self.campaign_id, "decision": "takeover"},
                    )
        if lease is None:
            return None
        self.lease, self._renewed = lease, self._monotonic()
        if self._heartbeat:
            _HEARTBEAT.add(self)
        return lease

    def __enter__(self) -> LeaseHolder:
        if self.acquire() is None:
            current = self._journal.current_lease(lease_name(self.campaign_id))
            owner, until = (current.owner, current.expires_at) if current else ("?", "?")
            raise CampaignBusy(self.campaign_id, owner, until)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        """Stop renewing and give the lease up (a lost lease is left to its new owner)."""
        _HEARTBEAT.remove(self)
        with self._mutex:
            self._released = True
            if self.lease is not None and self.lost is None:
                try:
                    self._journal.release_lease(self.lease)
                except JournalError as exc:  # it runs out by itself
                    log.warning("could not release %s: %s", self.lease.name, exc)

    @property
    def fence(self) -> int:
        """The fence of the lease held (written into every event's meta)."""
        assert self.lease is not None
        return self.lease.fence

    @property
    def due(self) -> float:
        """When (on this holder's monotonic clock) it should be renewed next."""
        return self._renewed + self.ttl / 3

    def time_left(self) -> float:
        """Seconds until it is due for renewal (0 or less: due now)."""
        return self.due - self._monotonic()

    def check(self) -> None:
        """Before a write: ``LeaseLost`` unless the lease is still this holder's."""
        with self._mutex:
            if self.lost is not None:
                raise self.lost
            if self._monotonic() >= self.due:
                self._renew()

    def beat(self) -> None:
        """The heartbeat's renewal (a lost lease is remembered for ``check``, not raised)."""
        with self._mutex:
            if self._released or self.lost is not None or self._monotonic() < self.due:
                return
            try:
                self._renew()
            except LeaseLost:
                log.warning(
                    "%s lost the lease on campaign %s: it writes nothing more to it",
                    self.owner,
                    self.campaign_id,
                    extra={"campaign_id": self.campaign_id, "decision": "lease-lost"},
                )
            except JournalError as exc:  # busy: the next beat, or check(), tries again
                log.info("renewing the lease on %s failed: %s", self.campaign_id, exc)

    def _renew(self) -> None:
        assert self.lease is not None
        try:
            self.lease = self._journal.renew_lease(self.lease, self.ttl)
        except LeaseLost as exc:
            self.lost = exc
            raise
        self._renewed = self._monotonic()


class _Heartbeat:
    """One thread per process renewing every held lease when it is due: a lease per campaign
    in flight costs no thread of its own. The thread ends when no lease is held."""

    def __init__(self) -> None:
        self._holders: set[LeaseHolder] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, holder: LeaseHolder) -> None:
        with self._wake:
            self._holders.add(holder)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lease heartbeat", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def remove(self, holder: LeaseHolder) -> None:
        with self._wake:
            self._holders.discard(holder)

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._holders:
                    self._thread = None
                    return
                left = {h: h.time_left() for h in self._holders}
                soonest = min(left.values())
                if soonest > 0:
                    self._wake.wait(min(soonest, 1.0))
                    continue
                ready = [h for h, t in left.items() if t <= 0]
            for holder in ready:
                holder.beat()
                if holder.lost is not None:
                    self.remove(holder)
            with self._wake:  # a renewal that failed (journal busy) is retried, not spun on
                self._wake.wait(_RETRY)


_RETRY = 0.05
_HEARTBEAT = _Heartbeat()
