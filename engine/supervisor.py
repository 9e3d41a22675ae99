"""The supervisor: finds campaigns left unfinished and finishes them, exactly once.

A campaign needs it when an intent has no outcome (a process died mid-call), or when a run was
asked for and has not reached its end (active with its webhook, or an outcome that needs a
person). For each, the supervisor takes a lease on the campaign (so two processes, supervisors
or runs, never work on one campaign at once), recovers it (engine.recovery), carries the run
on, and releases the lease; up to ``workers`` campaigns at once, each on a thread of its own.
The lease is kept alive while calls are in flight (engine.leasing); every event written
carries its owner and fence in its meta, and a supervisor that lost its lease (it was frozen
past expiry and another took over) writes nothing more. A campaign superseded by a newer one
for the same CXone campaign is left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import attrs

from engine.engine import Engine
from engine.errors import CampaignClaimed, EngineError
from engine.leasing import LeaseHolder, lease_name
from engine.lifecycle import needs_finishing
from engine.replay import replay_all
from events import parse_utc_text
from journal import JournalBehind, JournalError

log = logging.getLogger("cxpreview.supervisor")
MAX_WORKERS = 256
"""Campaigns in flight at once in one supervisor, at most."""


@attrs.frozen
class Decision:
    """What one supervisor pass did with one campaign."""

    campaign_id: str
    before: str
    after: str
    outcome: str


class Supervisor:
    """Finishes interrupted campaigns in one journal; several may run side by side."""

    def __init__(
        self,
        engine: Engine,
        owner: str,
        *,
        lease_ttl: float = 60.0,
        retry_after: float = 60.0,
        workers: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be from 1 to {MAX_WORKERS}, not {workers!r}")
        self.engine = engine
        self.owner = owner
        self.workers = workers
        self.lease_ttl = lease_ttl
        self.retry_after = retry_after
        self._monotonic = monotonic
        self.stop = threading.Event()
        # Told, after every pass, how many campaigns it saw in each state (a service's
        # metrics listen here).
        self.on_pass: Callable[[dict[str, int]], None] | None = None
        self._census: dict[str, int] = {}
        self._expiry_lock = threading.Lock()
        self._soonest_expiry: str | None = None  # of a lease that kept a campaign from a pass

    def __repr__(self) -> str:
        return f"Supervisor({self.owner!r}, workers={self.workers}, lease_ttl={self.lease_ttl:g})"

    def candidates(self) -> list[str]:
        """Campaigns that need finishing, in the order they were drafted: an index lookup
        on the campaigns' heads (journal/heads.py), or, on a journal whose heads are not
        built, a fold of every campaign."""
        journal = self.engine.journal
        if journal.heads_ready():
            self._census = journal.census()
            return [h.stream_id for h in journal.heads(unfinished=True)]
        states = replay_all(journal)
        self._census = dict(Counter(s.state for s in states.values()))
        return [cid for cid, s in states.items() if needs_finishing(s)]

    def run_once(self) -> list[Decision]:
        """One pass over every campaign that needs finishing (until ``stop`` is set);
        ``JournalBehind`` on a journal that lost events this machine saw."""
        if self.engine.journal.behind is not None:
            raise JournalBehind(self.engine.journal.behind)
        decisions = [d for d in self._finish_all(self.candidates()) if d is not None]
        if self.on_pass is not None:
            census = dict(self._census)
            for d in decisions:  # what the pass itself moved
                if d.before != d.after and d.before in census:
                    census[d.before] -= 1
                    census[d.after] = census.get(d.after, 0) + 1
            self.on_pass(census)
        return decisions

    def _finish_all(self, campaign_ids: list[str]) -> list[Decision | None]:
        """``finish`` each, up to ``workers`` at once; once ``stop`` is set no campaign is
        started (None), and those in flight end after their current step."""

        def one(campaign_id: str) -> Decision | None:
            return None if self.stop.is_set() else self.finish(campaign_id)

        if self.workers == 1 or len(campaign_ids) <= 1:
            return [one(c) for c in campaign_ids if not self.stop.is_set()]
        # Threads, not processes: the work is waiting on CXone, and one process shares one
        # HTTP pool, one token, one request budget and one journal connection among them.
        with ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.owner} worker") as pool:
            return list(pool.map(one, campaign_ids))

    def run_forever(self, interval: float) -> None:
        """Passes every ``interval`` seconds until ``stop`` is set; logs its start, every pass
        that did something, and its stop."""
        self.engine.journal.listen_for_work()  # what is asked for from now on is heard
        log.info(
            "%s: supervising (a pass every %gs, leases of %gs, %d worker(s))",
            self.owner,
            interval,
            self.lease_ttl,
            self.workers,
            extra={"owner": self.owner, "decision": "start"},
        )
        passes = 0
        while not self.stop.is_set():
            try:
                decisions = self.run_once()
            except JournalBehind:
                raise  # no one acts on a journal that went back
            except JournalError as exc:  # the server away, the file busy: the next pass
                log.warning(
                    "%s: pass %d could not read the journal: %s; trying again in %gs",
                    self.owner,
                    passes + 1,
                    exc,
                    interval,
                    extra={"owner": self.owner, "decision": "journal-error"},
                )
                self.stop.wait(interval)
                continue
            passes += 1
            moved = [d for d in decisions if d.before != d.after]
            if moved:
                finished = sum(d.outcome == "finished" for d in decisions)
                log.info(
                    "%s: pass %d: %d campaign(s) moved on, %d finished, %d looked at",
                    self.owner,
                    passes,
                    len(moved),
                    finished,
                    len(decisions),
                    extra={"owner": self.owner, "decision": "pass"},
                )
            self._wait(interval)
        log.info(
            "%s: stopped after %d pass(es); every lease released",
            self.owner,
            passes,
            extra={"owner": self.owner, "decision": "stop"},
        )

    def _wait(self, interval: float) -> None:
        """Until the next pass: ``interval``, cut short when another process says there is
        work (a PostgreSQL journal's ``NOTIFY``) or when a lease that kept a campaign from
        this pass runs out (its holder may be gone)."""
        wait = interval
        with self._expiry_lock:
            soonest, self._soonest_expiry = self._soonest_expiry, None
        if soonest is not None:
            left = (parse_utc_text(soonest) - self.engine.clock.now()).total_seconds()
            wait = min(wait, max(left, 0.0) + 0.05)
        if self.engine.journal.wait_for_work(wait, self.stop):
            log.info(
                "%s: woken: another process asked for work",
                self.owner,
                extra={"owner": self.owner, "decision": "woken"},
            )

    def _held_elsewhere(self, campaign_id: str) -> None:
        """Note when the lease another process holds on ``campaign_id`` runs out."""
        current = self.engine.journal.current_lease(lease_name(campaign_id))
        if current is None:
            return
        with self._expiry_lock:
            if self._soonest_expiry is None or current.expires_at < self._soonest_expiry:
                self._soonest_expiry = current.expires_at

    def finish(self, campaign_id: str) -> Decision:
        """Lease, recover and carry on one campaign; release the lease whatever happens."""
        held = LeaseHolder(
            self.engine.journal,
            campaign_id,
            self.owner,
            self.lease_ttl,
            monotonic=self._monotonic,
            is_dead=self.engine.is_dead,
        )
        if held.acquire() is None:
            self._held_elsewhere(campaign_id)
            return Decision(campaign_id, "?", "?", "skipped: another process holds it")
        seen = ["?"]  # the state last seen, for the decision when something fails
        try:
            return self._carry_on(campaign_id, held, seen)
        except CampaignClaimed as exc:
            decision, outcome, level = "superseded", f"left alone: {exc}", logging.INFO
        except (EngineError, JournalError) as exc:
            decision, outcome, level = "error", f"error: {exc}", logging.WARNING
        except Exception as exc:
            decision, outcome = "error", f"error: {type(exc).__name__}: {exc}"
            level = logging.ERROR
        finally:
            held.release()
        log.log(
            level,
            "%s: campaign %s stays %s: %s",
            self.owner,
            campaign_id,
            seen[-1],
            outcome,
            extra={"campaign_id": campaign_id, "decision": decision},
        )
        return Decision(campaign_id, seen[0], seen[-1], outcome)

    def _carry_on(self, campaign_id: str, held: LeaseHolder, seen: list[str]) -> Decision:
        s = self.engine.load(campaign_id)
        before = s.state
        seen[:] = [before]
        if not needs_finishing(s):  # another supervisor finished it since we looked
            return Decision(campaign_id, before, before, "nothing to do")
        waiting = self._still_waiting(campaign_id)
        if waiting is not None:
            return Decision(campaign_id, before, before, waiting)
        pending = f" with an unfinished {s.pending.step} step" if s.pending else ""
        log.info(
            "%s: resuming campaign %s from %s%s (fence %d)",
            self.owner,
            campaign_id,
            before,
            pending,
            held.fence,
            extra={"campaign_id": campaign_id, "decision": "resume"},
        )
        engine = self.engine.bound(held.check, lease_owner=self.owner, fence=held.fence)
        s = engine.advance(campaign_id, should_stop=self.stop.is_set)
        outcome = "finished" if not needs_finishing(s) else "left for a later pass"
        log.info(
            "%s: campaign %s is %s (%s)",
            self.owner,
            campaign_id,
            s.state,
            outcome,
            extra={"campaign_id": campaign_id, "decision": outcome},
        )
        return Decision(campaign_id, before, s.state, outcome)

    def _still_waiting(self, campaign_id: str) -> str | None:
        """Whether the campaign's last step failed retryably less than ``retry_after`` ago:
        retried on every pass, a lasting outage (or a full preview limit) would fill the
        journal with failures."""
        last = self.engine.journal.read_stream(campaign_id)[-1]
        if not getattr(last.event, "retryable", False):
            return None
        age = (self.engine.clock.now() - parse_utc_text(last.recorded_at)).total_seconds()
        if age >= self.retry_after:
            return None
        return f"waiting: {last.type} {age:.0f}s ago; retried after {self.retry_after:g}s"
