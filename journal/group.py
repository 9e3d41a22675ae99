"""Group commit: appends queued by several threads share one transaction and one commit.

A caller queues its append and waits. Whoever finds no commit under way becomes the leader:
it takes every append queued so far and commits them together (the backend runs them, a
savepoint each); when it is done it wakes every waiting caller. A caller whose append was in
that group returns at once, whatever the next leader is doing; one whose append was queued
too late for it leads the next group. No caller ever waits for a commit its append is not in,
apart from the one under way when it queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from journal.recorder import Appended
from journal.sqlite_append import Queued


class GroupCommit:
    """The queue in front of one connection's write transactions."""

    def __init__(self, commit: Callable[[list[Queued]], None]) -> None:
        self._commit = commit  # commits a group; sets each one's result or error, and done
        self._state = threading.Condition(threading.Lock())
        self._queue: list[Queued] = []
        self._leading = False
        self.groups = 0  # groups committed (for tests and benchmarks)

    def submit(self, mine: Queued) -> Appended:
        """Queue ``mine``; return once it is committed (its result) or failed (its error)."""
        with self._state:
            self._queue.append(mine)
            while self._leading and not mine.done:
                self._state.wait()
            if not mine.done:
                self._leading = True
                group, self._queue = self._queue, []
        if not mine.done:
            try:
                self._commit(group)
            finally:
                with self._state:
                    for queued in group:
                        queued.done = True
                    self.groups += 1
                    self._leading = False
                    self._state.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result
