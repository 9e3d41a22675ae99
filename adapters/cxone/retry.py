"""The retry policy: which failures are worth another try, and how long to wait for it.

Retried: 429 (honouring ``Retry-After`` in seconds or as an HTTP date, or a rate-limit reset
header), 5xx and transport errors, with jittered exponential backoff when the server gives no
hint. Never retried: any other 4xx. Everything is bounded by one overall deadline measured on
an injected clock, and the sleep is injected too, so tests record the waits instead of waiting.
Each retry is reported to the engine (``engine.ports.retried``): outcome events count them.
The tutorial slept a fixed 2 s once and then gave up, or looped forever on contact pages.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import attrs
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from engine.ports import retried

T = TypeVar("T")
log = logging.getLogger("cxpreview.http")


class Retryable(Exception):
    """A failure worth another try; ``wait_hint`` is what the server asked us to wait."""

    def __init__(
        self, cause: str, wait_hint: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.wait_hint = wait_hint
        self.status = status


class DeadlineExceeded(Exception):
    """The deadline came before an answer; ``last`` is the last failure seen."""

    def __init__(self, last: Retryable, attempts: int, waited: float) -> None:
        super().__init__(last.cause)
        self.last, self.attempts, self.waited = last, attempts, waited


def wait_hint(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds or HTTP date), or a
    rate-limit reset header (``inin-ratelimit-reset``, ``x-ratelimit-reset``: seconds from now,
    or an epoch timestamp)."""
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now())
        except (TypeError, ValueError):
            return None
    for name in ("inin-ratelimit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        reset = response.headers.get(name)
        if reset:
            try:
                seconds = float(reset)
            except ValueError:
                continue
            # Large values are epoch timestamps, small ones a delay.
            return max(0.0, seconds - now()) if seconds > 1e9 else max(0.0, seconds)
    return None


@attrs.frozen
class RetryPolicy:
    """How long to keep trying, and how to wait between tries."""

    deadline: float = 30.0
    base: float = 0.5
    cap: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        return float(self.jitter() * min(self.cap, self.base * 2 ** (attempt - 1)))

    def floor(self, attempt: int) -> float:
        """The least wait before the ``attempt``-th retry, whatever the server says."""
        return float(min(self.cap, self.base * 2 ** (attempt - 1))) / 2

    def run(self, attempt: Callable[[], T]) -> T:
        """Call ``attempt`` until it returns or raises something other than ``Retryable``;
        ``DeadlineExceeded`` if the deadline would pass before the next try."""
        started = self.clock()
        last: list[Retryable] = []

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            assert isinstance(error, Retryable)
            last[:] = [error]
            if error.wait_hint is not None:
                # The server's word, but never less than half the backoff without its jitter:
                # "Retry-After: 0" on every reply must not turn into a request storm.
                return max(float(error.wait_hint), self.floor(state.attempt_number))
            return self.backoff(state.attempt_number)

        def tell(state: RetryCallState) -> None:
            retried()  # counted for the outcome event of the step making this call
            log.info(
                "%s; retrying in %.2fs (attempt %d)",
                last[0].cause,
                state.upcoming_sleep,
                state.attempt_number + 1,
                extra={"attempt": state.attempt_number + 1, "decision": "retry"},
            )

        def stop(state: RetryCallState) -> bool:
            return self.clock() - started + state.upcoming_sleep > self.deadline

        def give_up(state: RetryCallState) -> Any:
            raise DeadlineExceeded(last[0], state.attempt_number, self.clock() - started)

        retrying = Retrying(
            retry=retry_if_exception_type(Retryable),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            retry_error_callback=give_up,
            before_sleep=tell,
        )
        result: T = retrying(attempt)
        return result
