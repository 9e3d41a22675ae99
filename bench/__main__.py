"""``python -m bench``: every benchmark under bench/, one table (``--quick`` for a smoke run)."""

from __future__ import annotations

import os
import sys
import tempfile

from bench import concurrency, journal, postgres, recovery, scale
from bench import filter as filter_bench
from bench.common import table


def main() -> None:
    """Run each benchmark module's ``run()`` and print all figures together."""
    quick = "--quick" in sys.argv
    # The journals' head marks go with the benchmark's throwaway journals, not into the home.
    with tempfile.TemporaryDirectory(prefix="cxpreview-bench-state-") as state:
        os.environ["CXPREVIEW_STATE_DIR"] = state
        figures = [
            *journal.run(quick),
            *filter_bench.run(quick),
            *recovery.run(quick),
            *scale.run(quick),
            *concurrency.run(quick),
            *postgres.run(quick),  # when a server answers; else it says so
        ]
    print(table(figures))


if __name__ == "__main__":
    main()
