"""``cxpreview supervise`` as a service: Prometheus metrics and a health endpoint on a
loopback port, fed by what the supervisor really did; SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, load_spec
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC, ROOT

pytestmark = pytest.mark.slow


def metric(text: str, name: str) -> float:
    """The value of the sample ``name`` (with its labels, as printed) in exposition text."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in the metrics"
    return float(found.group(1))


def test_a_supervisor_serves_its_metrics_and_health(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    sim = Simulator(Dataset(contacts=200, suppressions=20))
    with SimulatorServer(sim) as server:
        with SQLiteJournal(db) as journal:
            Engine(journal).draft(load_spec(EXAMPLE_SPEC), run=True)  # a run nobody finished
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CXONE_BASE_URL": server.base_url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }
        args = ["--db", str(db), "supervise", "--interval", "0.1", "--metrics-port", "0"]
        service = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert service.stdout is not None
            first = service.stdout.readline()
            url = re.match(r"metrics at (http://127\.0\.0\.1:\d+)/metrics", first)
            assert url, first
            base = url.group(1)
            deadline = time.monotonic() + 60
            text = ""
            while time.monotonic() < deadline:  # until a pass has finished the campaign
                text = httpx.get(f"{base}/metrics", timeout=5).text
                if 'cxpreview_campaigns{state="active"} 1.0' in text:
                    break
                time.sleep(0.05)
            assert 'cxpreview_campaigns{state="active"} 1.0' in text
            assert metric(text, "cxpreview_supervisor_passes_total") >= 1
            assert (
                metric(text, 'cxpreview_step_outcomes_total{outcome="succeeded",step="activation"}')
                == 1
            )
            assert metric(text, 'cxpreview_step_latency_seconds_count{step="filter"}') == 1
            assert metric(text, "cxpreview_http_retries_total") == 0
            health = httpx.get(f"{base}/healthz", timeout=5)
            assert (health.status_code, health.text) == (200, "ok\n")
            assert httpx.get(f"{base}/nothing", timeout=5).status_code == 404
        finally:
            service.send_signal(signal.SIGTERM)
            _, err = service.communicate(timeout=30)
            if service.stdout is not None:
                service.stdout.close()
        assert service.returncode == 0, err
    assert len(sim.applied_puts()) == 1
