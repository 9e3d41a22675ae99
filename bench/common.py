"""What every benchmark shares: a row of results and the table they are printed in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Figure:
    """One measured figure, its same-run baseline, and the target for their ratio."""

    name: str
    value: float
    baseline: float
    unit: str
    target: str  # e.g. ">= 0.8" (ratio) or "<= 100" (value)
    higher_is_better: bool = True
    absolute: bool = False  # the target bounds the value itself, not its ratio to the baseline

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool:
        if not self.target:  # a figure reported for its own sake, with nothing to compare
            return True
        op, bound = self.target.split()
        absolute = self.absolute or (self.unit == "us" and op == "<=")
        subject = self.value if absolute else self.ratio
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


@contextmanager
def simulator_process(contacts: int, suppressions: int) -> Iterator[str]:
    """The simulator in a process of its own, as CXone would be; yields its base URL."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "simulator",
            "--contacts",
            str(contacts),
            "--suppressions",
            str(suppressions),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.communicate(timeout=30)


@contextmanager
def bare_client(base_url: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """A plain reused ``httpx.Client`` and the simulator's bearer header: the baselines."""
    with httpx.Client(timeout=30) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": "cxpreview",
            "client_secret": "simulated-secret",
        }
        token = client.post(f"{base_url}/api/v2/oauth/token", data=form).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}"}
