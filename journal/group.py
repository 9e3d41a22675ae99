"""Group commit: appends queued by several threads share one transaction and one commit.

A caller that finds no commit under way leads: it commits its own append, and every append
queued meanwhile waits for the next group. When a leader is done it hands the lead to the
first caller queued, who takes everything queued by then as its group, and it wakes the
callers of its own group, each on its own lock: a caller is woken once, when its append is
durable or failed (or when it is to lead), never to find that it has to wait on. No caller
waits for a commit its append is not in, apart from the one under way when it queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from journal.recorder import Appended
from journal.sqlite_append import Queued


class GroupCommit:
    """The queue in front of one connection's write transactions."""

    def __init__(self, commit: Callable[[list[Queued]], None]) -> None:
        self._commit = commit  # commits a group; sets each one's result or error
        self._state = threading.Lock()
        self._queue: list[Queued] = []
        self._leading = False
        self.groups = 0  # groups committed (for tests and benchmarks)

    def submit(self, mine: Queued) -> Appended:
        """Queue ``mine``; return once it is committed (its result) or failed (its error)."""
        with self._state:
            if self._leading:
                mine.wake = threading.Lock()
                mine.wake.acquire()
                self._queue.append(mine)
            else:
                self._leading = True
        if mine.wake is not None:
            try:
                mine.wake.acquire()  # released by a leader: mine is done, or mine is to lead
            except BaseException:  # interrupted (Ctrl-C in a REPL): leave nothing hanging
                self._abandon(mine)
                raise
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _lead(self, mine: Queued) -> None:
        """Commit ``mine`` and whatever is queued, then hand on the lead and wake the group."""
        with self._state:
            # mine heads the queue when it was handed the lead; else it found no one leading
            waiting = self._queue
            group = waiting if waiting and waiting[0] is mine else [mine, *waiting]
            self._queue = []
        try:
            self._commit(group)
        finally:
            for queued in group:
                queued.done = True
            with self._state:
                self.groups += 1
                if self._queue:  # the first queued leads next: all queued by when it wakes
                    following: Queued | None = self._queue[0]
                    self._queue[0].lead = True
                else:
                    following = None
                    self._leading = False
            for queued in group:
                if queued is not mine and queued.wake is not None:
                    queued.wake.release()
            if following is not None:
                assert following.wake is not None
                following.wake.release()

    def _abandon(self, mine: Queued) -> None:
        """``mine``'s caller stopped waiting: out of the queue if no group has it; if it was
        handed the lead, it leads once anyway, so the appends queued behind it are not left
        waiting for a leader that never comes."""
        with self._state:
            if mine.done:
                return
            if not mine.lead:
                self._queue.remove(mine)
                mine.error = mine.error or RuntimeError("interrupted before it was committed")
                return
        self._lead(mine)
