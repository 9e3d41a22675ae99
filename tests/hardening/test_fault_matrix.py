"""Faults on every CXone route, one cell at a time: whatever the first run does, it raises
nothing but the engine's own errors, and once the fault is gone the campaign resumes to active,
the journal verifies, no event is lost and no secret leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import EngineError
from tests.hardening import report
from tests.hardening.harness import case, draft

ROUTES = {
    "token": "token",
    "campaigns": "validate (list)",
    "campaign": "validate (read)",
    "contacts": "filter (contacts)",
    "suppressions": "filter (suppr.)",
    "put_campaign": "activate (PUT)",
    "webhooks": "webhook",
}
FAULTS: dict[str, dict[str, Any]] = {
    "429 storm (8 in a row)": {"kind": "rate_limit", "times": 8, "retry_after": "none"},
    "429 past the deadline": {"kind": "rate_limit", "times": 10_000, "retry_after": "none"},
    "500 burst (3)": {"kind": "status", "status": 500, "times": 3},
    "503 burst (3)": {"kind": "status", "status": 503, "times": 3},
    "timeout (reply after 0.6 s)": {"kind": "latency", "seconds": 0.6},
    "dropped connection (2)": {"kind": "drop", "times": 2},
    "token revoked mid-run": {"kind": "expire_tokens"},
    "401 after refresh": {"kind": "status", "status": 401, "times": 2},
}


ACD_ROUTES = {  # the same steps in the ACD dialect (no webhook; a calling list uploaded)
    "acd_token": "token",
    "acd_skills": "validate (list)",
    "acd_skill": "validate (read)",
    "acd_call_list": "filter (contacts)",
    "acd_dnc_records": "filter (suppr.)",
    "acd_call_lists": "upload (find list)",
    "acd_create_call_list": "upload (make list)",
    "acd_upload": "upload (POST)",
    "acd_upload_job": "upload (job)",
    "acd_put_retry_settings": "activate (PUT)",
    "acd_start_skill": "start dialing",
}


@pytest.mark.parametrize("dialect", ["tutorial", "cxone"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_on_every_route(tmp_path: Path, fault: str, dialect: str) -> None:
    row = fault if dialect == "tutorial" else f"{fault} [cxone]"
    results = report.MATRIX.setdefault(row, {})
    routes = ROUTES if dialect == "tutorial" else ACD_ROUTES
    for route, step in routes.items():
        paged = route in ("contacts", "acd_call_list")
        options = {**FAULTS[fault], "after": 1 if paged else 0}
        with case(tmp_path, f"{route}", timeout=0.3, dialect=dialect) as c:
            c.simulator.faults.add(route, **options)
            campaign_id = draft(c)
            try:
                after = c.engine.run(campaign_id)
                first = after.state
                if first == "active" and dialect == "tutorial" and not after.webhook_id:
                    first = "no hook"
                if first == "active" and dialect == "cxone" and not after.dialing_started:
                    first = "not dialing"  # the ACD dialect owes no webhook, but a start
            except EngineError as exc:  # anything else is a crash, and fails the test
                first = type(exc).__name__
                c.errors.append(str(exc))
            fired = sum(f.fired for f in c.simulator.faults.faults)
            c.simulator.faults.faults.clear()
            final = c.finish(campaign_id)
            lost, leaked = c.lost(campaign_id), c.leaked()
        handled = fired > 0 and final == "active" and lost == 0
        report.record(fault, handled=handled, lost=lost, leaked=leaked)
        results[step] = "absorbed" if first == "active" else f"{first} -> {final}"
        assert fired > 0, f"{fault} on {route}: the fault never fired"
        assert final == "active", f"{fault} on {route}: ended {final} (first run: {first})"
        assert (lost, leaked) == (0, 0), f"{fault} on {route}: lost {lost}, leaked {leaked}"
