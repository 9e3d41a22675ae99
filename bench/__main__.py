"""``python -m bench``: every benchmark under bench/, one table (``--quick`` for a smoke run)."""

from __future__ import annotations

import sys

from bench import filter as filter_bench
from bench import journal, recovery
from bench.common import table


def main() -> None:
    """Run each benchmark module's ``run()`` and print all figures together."""
    quick = "--quick" in sys.argv
    figures = [*journal.run(quick), *filter_bench.run(quick), *recovery.run(quick)]
    print(table(figures))


if __name__ == "__main__":
    main()
