"""A journal writer run as a separate process by the process tests (never imported by them).

append-loop DB STREAM N TAG   append N events one at a time, retrying on version clashes
batches DB STREAM SIZE MAX    append up to MAX batches of SIZE events, one line per commit
arm-then-batch DB STREAM SIZE one batch, then arm journal-mid-append and try another
"""

from __future__ import annotations

import sys

from events import ValidationRequested, crash
from journal import ConcurrencyError, SQLiteJournal


def append_loop(journal: SQLiteJournal, stream: str, n: int, tag: str) -> None:
    done = 0
    while done < n:
        version = journal.stream_version(stream)
        try:
            journal.append(stream, [ValidationRequested(f"{tag}-{done}")], version)
        except ConcurrencyError:
            continue
        done += 1


def batches(journal: SQLiteJournal, stream: str, size: int, most: int) -> None:
    for i in range(most):
        version = journal.stream_version(stream)
        journal.append(stream, [ValidationRequested(f"b{i}-{k}") for k in range(size)], version)
        print(f"committed {i + 1}", flush=True)


def main(mode: str, db: str, stream: str, *args: str) -> None:
    journal = SQLiteJournal(db, busy_timeout=30)
    if mode == "append-loop":
        print("ready", flush=True)
        sys.stdin.readline()  # the parent says go to every writer at once
        append_loop(journal, stream, int(args[0]), args[1])
    elif mode == "batches":
        batches(journal, stream, int(args[0]), int(args[1]))
    elif mode == "arm-then-batch":
        batches(journal, stream, int(args[0]), 1)
        crash.arm("journal-mid-append")
        batches(journal, stream, int(args[0]), 1)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
