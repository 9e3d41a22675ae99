"""One request budget per process: every thread's requests to CXone share one pace.

N workers must not turn into N times the requests CXone allows, nor into a 429 storm: every
request (a retry included, the token's too) first takes a slot from the budget. Two limits:

- ``max_rps``: at most that many requests a second, spaced evenly (no burst: a pool of
  workers that all start at once still sends one request every ``1/max_rps`` seconds);
- a 429 tells everyone: its ``Retry-After`` (or, without one, the retry policy's base wait)
  holds every thread's next request until it has passed, not only the thread that got it.

The clock and the sleep are the retry policy's, so tests record the waits instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestBudget:
    """The pace every request of one gateway keeps (all its threads share it)."""

    def __init__(
        self,
        max_rps: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps is not None and not 0 < max_rps < float("inf"):
            raise ValueError(f"max_rps must be a number above 0, not {max_rps!r}")
        self.max_rps = max_rps
        self._interval = 1.0 / max_rps if max_rps else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")  # the earliest moment the next request may go
        self._held_until = float("-inf")  # a 429's wait, for everyone
        self.waited = 0.0  # seconds all threads together spent waiting for a slot
        self.holds = 0  # 429s that held everyone

    def __repr__(self) -> str:
        rate = "unlimited" if self.max_rps is None else f"{self.max_rps:g}/s"
        return f"RequestBudget({rate}, waited {self.waited:.2f}s, {self.holds} hold(s))"

    def take(self) -> None:
        """Wait until this thread's request may go, and take the slot."""
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._next, self._held_until) - now
                if wait <= 0:
                    self._next = now + self._interval
                    return
                self.waited += wait
            # Another thread may take the slot first: then this one waits for the next.
            self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """No thread sends anything for ``seconds`` from now (a 429 said so)."""
        with self._lock:
            self.holds += 1
            self._held_until = max(self._held_until, self._clock() + max(0.0, seconds))
