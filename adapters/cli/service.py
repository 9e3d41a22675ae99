"""``cxpreview supervise`` as a service: Prometheus metrics and a health endpoint.

The supervisor and the engine already say what they do as structured log records (the step
log, the HTTP retries, the supervisor's passes and lease takeovers); ``SupervisorMetrics``
listens to those records and counts them, so nothing in the engine knows about Prometheus.
Campaigns by state come from each pass's own look at the journal.

Served on a loopback port by default (``--metrics-host`` to change it):

- ``/metrics``: the Prometheus text format (``prometheus_client``'s exposition);
- ``/healthz``: 200 while the supervisor's last pass ended within three intervals, else 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from engine import machine

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SupervisorMetrics(logging.Handler):
    """What one supervisor process has done, as Prometheus metrics, fed by log records."""

    def __init__(self, interval: float) -> None:
        super().__init__(level=logging.INFO)
        self.interval = interval
        self.registry = CollectorRegistry()
        self.campaigns = Gauge(
            "cxpreview_campaigns",
            "Campaigns in the journal by state, as of the last pass.",
            ["state"],
            registry=self.registry,
        )
        self.steps = Counter(
            "cxpreview_step_outcomes",
            "Remote steps settled by an outcome event, by step and outcome.",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cxpreview_step_latency_seconds",
            "How long each remote step's calls to CXone took.",
            ["step"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "cxpreview_http_retries",
            "Requests to CXone tried again (a 429, a 5xx, a dropped connection).",
            registry=self.registry,
        )
        self.conflicts = Counter(
            "cxpreview_activation_conflicts",
            "Activations answered 412 that CXone did not hold ours for.",
            registry=self.registry,
        )
        self.takeovers = Counter(
            "cxpreview_lease_takeovers",
            "Leases taken over from a holder known to be gone.",
            registry=self.registry,
        )
        self.passes = Counter(
            "cxpreview_supervisor_passes",
            "Passes over the journal.",
            registry=self.registry,
        )
        self.last_pass = Gauge(
            "cxpreview_supervisor_last_pass_timestamp_seconds",
            "When the last pass ended (Unix time).",
            registry=self.registry,
        )
        self._last_pass_monotonic: float | None = None
        self._started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        """Count what ``record`` says happened (records carry their structured fields)."""
        decision = getattr(record, "decision", None)
        latency = getattr(record, "latency_ms", None)
        if latency is not None:
            step = str(getattr(record, "step", "?"))
            self.steps.labels(step, str(decision)).inc()
            self.latency.labels(step).observe(float(latency) / 1000)
            if getattr(record, "event", None) == "activation.conflicted":
                self.conflicts.inc()
        elif decision == "retry":
            self.retries.inc()
        elif decision == "takeover":
            self.takeovers.inc()

    def passed(self, by_state: Mapping[str, int]) -> None:
        """A pass ended, having seen ``by_state`` campaigns in each state."""
        for state in machine.STATES:
            self.campaigns.labels(state).set(by_state.get(state, 0))
        self.passes.inc()
        self.last_pass.set_to_current_time()
        self._last_pass_monotonic = time.monotonic()

    def healthy(self) -> bool:
        """A pass ended within three intervals (or the first is still within its grace)."""
        since = self._last_pass_monotonic or self._started
        return time.monotonic() - since <= 3 * self.interval + 30

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
        """Serve ``/metrics`` and ``/healthz`` on ``host:port`` in a daemon thread; the
        server (its ``server_address`` has the port bound; ``shutdown()`` stops it)."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
                elif self.path.split("?")[0] == "/healthz":
                    ok = metrics.healthy()
                    self._reply(200 if ok else 503, "text/plain", b"ok\n" if ok else b"stale\n")
                else:
                    self._reply(404, "text/plain", b"try /metrics or /healthz\n")

            def _reply(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes are not worth a log line each."""

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
        return server


WATCHED = ("cxpreview.engine", "cxpreview.http", "cxpreview.supervisor", "cxpreview.lease")
"""The loggers whose records the metrics count."""
