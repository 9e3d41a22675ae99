"""The simulator's fault plan: what goes wrong, on which route, for how many calls.

Kinds: ``status`` (answer with that status), ``rate_limit`` (429 with ``Retry-After`` as
seconds, as an HTTP date, or absent), ``latency`` (answer late), ``drop`` (start the reply, then
cut the connection), ``expire_tokens`` (every issued token stops working) and
``concurrent_edit`` (someone else edits the campaign just before this PUT, so it meets a 412)
and ``chaos`` (the call is served, then its reply is spoiled: ``variant`` is one of
``truncated wrong_types missing_fields enormous content_type html null``).
A fault skips the first ``after`` matching calls, then fires on the next ``times``.

The same plan comes from Python (``FaultPlan().add(...)``) or a TOML file::

    [[fault]]
    route = "contacts"      # token campaigns campaign put_campaign contacts suppressions webhooks *
    kind = "rate_limit"
    times = 3
    retry_after = "date"    # "seconds" (default), "date" or "none"
"""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

import attrs

from adapters.simulator.chaos import VARIANTS

ROUTES = (
    "token",
    "campaigns",
    "campaign",
    "put_campaign",
    "contacts",
    "suppressions",
    "webhooks",
    "*",
)
KINDS = ("status", "rate_limit", "latency", "drop", "expire_tokens", "concurrent_edit", "chaos")


@attrs.define
class Fault:
    """One planned misbehaviour."""

    route: str = attrs.field(validator=attrs.validators.in_(ROUTES))
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    times: int = 1
    after: int = 0
    status: int = 500
    retry_after: str = attrs.field(
        default="seconds", validator=attrs.validators.in_(("seconds", "date", "none"))
    )
    seconds: float = 1.0
    field: str = "name"  # what a concurrent_edit changes
    variant: str = attrs.field(  # how chaos spoils the reply (adapters/simulator/chaos.py)
        default="truncated", validator=attrs.validators.in_(VARIANTS)
    )
    size: int = 20 * 1024 * 1024  # bytes of an enormous reply
    seen: int = attrs.field(default=0, init=False)
    fired: int = attrs.field(default=0, init=False)


class FaultPlan:
    """Faults in order; the first live one matching a route fires. Thread-safe."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults = list(faults or [])
        self._lock = threading.Lock()

    def add(self, route: str, kind: str, **options: Any) -> FaultPlan:
        """Plan a fault (see the module docstring); returns the plan for chaining."""
        with self._lock:
            self.faults.append(Fault(route, kind, **options))
        return self

    def take(self, route: str) -> Fault | None:
        """The fault to inject into this call of ``route``, if any."""
        with self._lock:
            for fault in self.faults:
                if fault.route not in (route, "*") or fault.fired >= fault.times:
                    continue
                fault.seen += 1
                if fault.seen > fault.after:
                    fault.fired += 1
                    return fault
            return None

    @classmethod
    def from_toml(cls, path: str | Path) -> FaultPlan:
        """A plan from a TOML file of ``[[fault]]`` tables; ``ValueError`` names a bad entry."""
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data) - {"fault"}
        if unknown:
            raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)}; use [[fault]]")
        faults = []
        for i, entry in enumerate(data.get("fault", [])):
            try:
                faults.append(Fault(**entry))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: fault[{i}]: {exc}") from None
        return cls(faults)
