"""The simulator's fault plan: what goes wrong, on which route, for how many calls.

Kinds: ``status`` (answer with that status), ``rate_limit`` (429 with ``Retry-After`` as
seconds, as an HTTP date, or absent), ``latency`` (answer late), ``drop`` (start the reply, then
cut the connection), ``expire_tokens`` (every issued token stops working) and
``concurrent_edit`` (someone else edits the campaign just before this PUT, so it meets a 412)
``refuse_items`` (a 200 whose items say ``success: false``, as the ACD API's batch endpoints
answer) and ``chaos`` (the call is served, then its reply is spoiled: ``variant`` is one of
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

import difflib
import threading
import tomllib
from pathlib import Path
from typing import Any

import attrs

from adapters.simulator.chaos import VARIANTS
from engine.spec_lines import locate

ROUTES = (
    "token",
    "campaigns",
    "campaign",
    "put_campaign",
    "contacts",
    "suppressions",
    "webhooks",
    "acd_token",
    "acd_discovery",
    "acd_skills",
    "acd_skill",
    "acd_retry_settings",
    "acd_put_retry_settings",
    "acd_start_skill",
    "acd_dnc_groups",
    "acd_dnc_records",
    "acd_call_list",
    "acd_call_lists",
    "acd_create_call_list",
    "acd_call_list_summary",
    "acd_upload",
    "acd_upload_jobs",
    "acd_upload_job",
    "*",
)
KINDS = (
    "status",
    "rate_limit",
    "latency",
    "drop",
    "expire_tokens",
    "concurrent_edit",
    "chaos",
    "refuse_items",
)


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
        """A plan from a TOML file of ``[[fault]]`` tables; ``ValueError`` listing every
        problem, each with its line and, for a near miss, what was meant."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not TOML: {exc}") from None
        problems = [
            f"{key}: unknown top-level key{_meant(key, ['fault'])}; a plan is [[fault]] tables"
            for key in data
            if key != "fault"
        ]
        entries = data.get("fault", [])
        if not isinstance(entries, list):
            entries, problems = [], [*problems, "fault: write each fault as a [[fault]] table"]
        faults = []
        for i, entry in enumerate(entries):
            found = _problems(f"fault[{i}]", entry)
            problems += found
            if not found:
                faults.append(Fault(**entry))
        if problems:
            lines = [f"  {_at(text, p)}{p}" for p in problems]
            count = len(problems)
            head = f"{path}: {count} problem{'s' * (count != 1)} in the fault plan"
            raise ValueError("\n".join([head, *lines]))
        return cls(faults)


_CHOICES: dict[str, tuple[str, ...]] = {
    "route": ROUTES,
    "kind": KINDS,
    "retry_after": ("seconds", "date", "none"),
    "variant": VARIANTS,
}
_NUMBERS: dict[str, type] = {"times": int, "after": int, "status": int, "size": int}
_OPTIONS = tuple(a.name for a in attrs.fields(Fault) if a.init)


def _problems(where: str, entry: Any) -> list[str]:
    """Everything wrong with one ``[[fault]]`` table (empty: it makes a ``Fault``)."""
    if not isinstance(entry, dict):
        return [f"{where}: a fault is a table of options"]
    out = []
    for key, value in entry.items():
        if key not in _OPTIONS:
            out.append(f"{where}.{key}: unknown option{_meant(key, _OPTIONS)}")
        elif key in _CHOICES and value not in _CHOICES[key]:
            out.append(
                f"{where}.{key}: {value!r} is not one of {', '.join(_CHOICES[key])}"
                f"{_meant(str(value), _CHOICES[key])}"
            )
        elif key in _NUMBERS and (type(value) is not int or value < 0):
            out.append(f"{where}.{key}: expected a whole number of 0 or more, found {value!r}")
        elif key == "seconds" and (type(value) not in (int, float) or not 0 <= value < 3600):
            out.append(f"{where}.seconds: expected seconds from 0 to 3600, found {value!r}")
        elif key == "field" and not isinstance(value, str):
            out.append(f"{where}.field: expected a field name, found {value!r}")
    for key in ("route", "kind"):
        if key not in entry:
            out.append(f"{where}.{key}: missing (one of {', '.join(_CHOICES[key])})")
    return out


def _meant(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _at(text: str, problem: str) -> str:
    line = locate(text, problem.split(":", 1)[0])
    return f"line {line}: " if line else ""
