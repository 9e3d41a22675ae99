"""bench/concurrency.py: many writers at once (the first figure of several to come).

- 32 threads appending single events to 32 campaigns (group commit: one transaction and one
  fsync for every append waiting) vs one thread appending alone, both ``synchronous=FULL``.

    python -m bench.concurrency [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Figure, table
from bench.journal import HEAD
from events import ValidationRequested
from journal import SQLiteJournal


def appends(path: Path, threads: int, each: int) -> float:
    """Events per second, ``threads`` threads appending ``each`` single events apiece."""
    event = [ValidationRequested("step-0001")]
    with SQLiteJournal(path) as journal:
        start = threading.Barrier(threads + 1)

        def work(k: int) -> None:
            start.wait()
            for version in range(each):
                journal.append(f"c{k}", event, version, head=HEAD)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        began = time.perf_counter()
        for w in workers:
            w.join()
        return threads * each / (time.perf_counter() - began)


def run(quick: bool = False) -> list[Figure]:
    """The figures (``quick``: fewer appends, for a smoke run)."""
    alone_n, each = (60, 4) if quick else (600, 40)
    with tempfile.TemporaryDirectory(dir=".") as d:
        best_alone = best_many = 0.0
        for r in range(1 if quick else 3):  # turn about: a slow stretch hits both
            best_alone = max(best_alone, appends(Path(d) / f"one{r}.db", 1, alone_n))
            best_many = max(best_many, appends(Path(d) / f"many{r}.db", 32, each))
    return [
        Figure(
            "32 threads appending, vs 1 thread alone (events/s)",
            best_many,
            best_alone,
            "ev/s",
            ">= 4",
        )
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
