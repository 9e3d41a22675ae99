"""A journal writer run as a separate process by the process tests (never imported by them).

append-loop DB STREAM N TAG   append N events one at a time, retrying on version clashes
batches DB STREAM SIZE MAX    append up to MAX batches of SIZE events, one line per commit
arm-then-batch DB STREAM SIZE one batch, then arm journal-mid-append and try another
threads DB STREAM SIZE N      N threads appending batches of SIZE to streams STREAM-0..N-1
                              (group commits), until each committed two; then one thread arms
                              journal-mid-append and the process dies inside a group
"""

from __future__ import annotations

import sys
import threading

from events import ValidationRequested, crash
from journal import ConcurrencyError, Journal, SQLiteJournal, open_journal


def append_loop(journal: Journal, stream: str, n: int, tag: str) -> None:
    done = 0
    while done < n:
        version = journal.stream_version(stream)
        try:
            journal.append(stream, [ValidationRequested(f"{tag}-{done}")], version)
        except ConcurrencyError:
            continue
        done += 1


def batches(journal: Journal, stream: str, size: int, most: int) -> None:
    for i in range(most):
        version = journal.stream_version(stream)
        journal.append(stream, [ValidationRequested(f"b{i}-{k}") for k in range(size)], version)
        print(f"committed {i + 1}", flush=True)


def threads(journal: Journal, stream: str, size: int, n: int) -> None:
    committed = [0] * n
    both = threading.Barrier(n)

    def work(k: int) -> None:
        both.wait()
        for i in range(10_000):  # bounded: the crash comes long before
            if k == 0 and min(committed) >= 2:
                crash.arm("journal-mid-append")
            name = f"{stream}-{k}"
            batch = [ValidationRequested(f"t{k}-{i}-{j}") for j in range(size)]
            journal.append(name, batch, journal.stream_version(name))
            committed[k] += 1

    workers = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def main(mode: str, db: str, stream: str, *args: str) -> None:
    journal: Journal
    if db.startswith("postgresql://"):
        journal = open_journal(db, create=True)
    else:
        journal = SQLiteJournal(db, busy_timeout=30)
    if mode == "append-loop":
        print("ready", flush=True)
        sys.stdin.readline()  # the parent says go to every writer at once
        append_loop(journal, stream, int(args[0]), args[1])
    elif mode == "batches":
        batches(journal, stream, int(args[0]), int(args[1]))
    elif mode == "threads":
        threads(journal, stream, int(args[0]), int(args[1]))
    elif mode == "arm-then-batch":
        batches(journal, stream, int(args[0]), 1)
        crash.arm("journal-mid-append")
        batches(journal, stream, int(args[0]), 1)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
