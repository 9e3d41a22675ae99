"""What every benchmark shares: a row of results and the table they are printed in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure, its same-run baseline, and the target for their ratio."""

    name: str
    value: float
    baseline: float
    unit: str
    target: str  # e.g. ">= 0.8" (ratio) or "<= 100" (value)
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool:
        if not self.target:  # a figure reported for its own sake, with nothing to compare
            return True
        op, bound = self.target.split()
        subject = self.value if self.unit == "us" and op == "<=" else self.ratio
        return subject >= float(bound) if op == ">=" else subject <= float(bound)


def table(figures: list[Figure]) -> str:
    """The figures as a plain-text table."""
    head = f"{'figure':<58} {'value':>12} {'baseline':>12} {'ratio':>7} {'target':>9}  met"
    lines = [head, "-" * len(head)]
    for f in figures:
        lines.append(
            f"{f.name:<58} {f.value:>12,.1f} {f.baseline:>12,.1f} {f.ratio:>7.2f} "
            f"{f.target or '-':>9}  {('yes' if f.met else 'NO') if f.target else '-'}"
        )
    return "\n".join(lines)


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeats`` runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best
