"""Time, handed in rather than read: a ``Clock`` for wall time and for measuring latency.

Nothing below the adapters reads the system clock directly, so tests and replays are
deterministic: they hand in a ``ManualClock`` and move it themselves.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time (aware, UTC) and a monotonic counter in seconds for latencies."""

    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; only differences mean anything."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: ``advance(seconds)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._mono = 0.0

    def now(self) -> datetime:
        """The time it was last set to."""
        return self._now

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def __repr__(self) -> str:
        return f"ManualClock({utc_text(self._now)})"


def utc_text(moment: datetime) -> str:
    """``moment`` as fixed-width ISO-8601 UTC with microseconds and ``Z``: sorts as it compares."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous: pass an aware UTC time")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat, not strftime: several times faster, and this runs on every append.
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc_text(text: str) -> datetime:
    """The inverse of ``utc_text``."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def instant(time: str | datetime) -> str:
    """``time`` (ISO-8601 text, UTC unless it says otherwise, or a datetime) as ``utc_text``,
    so that it compares with recorded times as an instant, not as a string."""
    if isinstance(time, str):
        try:
            moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{time!r} is not an ISO-8601 time") from None
    else:
        moment = time
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_text(moment)
