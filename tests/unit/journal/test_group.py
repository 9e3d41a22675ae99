"""The group commit queue on its own: who leads, who is woken, and a caller that stops waiting."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from journal.group import GroupCommit
from journal.recorder import Appended
from journal.sqlite_append import Queued


def queued(name: str) -> Queued:
    return Queued(name, 0, lambda seq, version, prev: [], None, None, None, None)


class Gate:
    """A commit that records its groups and holds the first one until let go."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.inside = threading.Event()
        self.go = threading.Event()

    def __call__(self, group: list[Queued]) -> None:
        self.groups.append([q.stream_id for q in group])
        if len(self.groups) == 1:
            self.inside.set()
            assert self.go.wait(10)
        for q in group:
            q.result = Appended([(q.stream_id,)])


def test_callers_queued_behind_a_commit_share_the_next_one() -> None:
    gate = Gate()
    commits = GroupCommit(gate)
    first = threading.Thread(target=commits.submit, args=(queued("a"),))
    first.start()
    assert gate.inside.wait(10)
    later = [threading.Thread(target=commits.submit, args=(queued(n),)) for n in "bcd"]
    for t in later:
        t.start()
    while len(commits._queue) < 3:  # all three queued behind the commit under way
        threading.Event().wait(0.001)
    gate.go.set()
    for t in [first, *later]:
        t.join(10)
    assert gate.groups[0] == ["a"]
    assert sorted(gate.groups[1]) == ["b", "c", "d"], "one group for all who waited"
    assert commits.groups == 2


def test_a_caller_interrupted_while_queued_is_not_committed_and_blocks_no_one() -> None:
    gate = Gate()
    commits = GroupCommit(gate)
    first = threading.Thread(target=commits.submit, args=(queued("a"),))
    first.start()
    assert gate.inside.wait(10)
    mine = queued("mine")

    def interrupt_once_queued() -> None:
        while mine not in commits._queue:
            threading.Event().wait(0.001)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the REPL that called append

    threading.Thread(target=interrupt_once_queued).start()
    # Ctrl-C as a REPL has it, whatever handler an earlier test in this process left behind.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            commits.submit(mine)
    finally:
        signal.signal(signal.SIGINT, previous)
    gate.go.set()
    first.join(10)
    assert commits.submit(queued("after")).rows == [("after",)], "the queue still moves"
    assert all("mine" not in g for g in gate.groups), "the abandoned append was never committed"


def test_a_caller_handed_the_lead_and_interrupted_still_leads_once() -> None:
    gate = Gate()
    gate.go.set()
    commits = GroupCommit(gate)
    mine, behind = queued("mine"), queued("behind")
    behind.wake = threading.Lock()
    behind.wake.acquire()
    commits._leading, commits._queue, mine.lead = True, [mine, behind], True
    commits._abandon(mine)  # as if interrupted just after the lead was handed to it
    assert gate.groups == [["mine", "behind"]]
    assert behind.done
    assert behind.result is not None
    assert behind.wake.acquire(timeout=1), "the caller behind it was woken"
    assert not commits._leading
