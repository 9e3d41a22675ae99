"""The simulator's chaos mode on every route: a reply truncated, of the wrong types, missing
its fields, enormous, of the wrong content type, an HTML page, or ``null``. The gateway turns
each into a ``BadResponse`` naming the endpoint (and never reads more than its cap); the step
records it or is left in doubt; once the chaos stops the campaign resumes to active."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.simulator.chaos import VARIANTS
from engine import EngineError
from tests.hardening import report
from tests.hardening.harness import case, draft
from tests.hardening.test_fault_matrix import ACD_ROUTES, ROUTES

SAID = re.compile(
    r"not JSON|not application/json|over the [\d,]+-byte limit|is missing|"
    r"expected a JSON object|is (list|str|dict|int|NoneType), not|is not an object|no ETag"
)


@pytest.mark.parametrize("dialect", ["tutorial", "cxone"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_chaos_on_every_route(tmp_path: Path, variant: str, dialect: str) -> None:
    for route in ROUTES if dialect == "tutorial" else ACD_ROUTES:
        after = 1 if route in ("contacts", "acd_call_list") else 0
        with case(tmp_path, route, dialect=dialect) as c:
            c.simulator.faults.add(route, "chaos", variant=variant, after=after)
            campaign_id = draft(c)
            try:
                state = c.engine.run(campaign_id)
                said = state.last_error or ""
                first = state.state
                if first == "active" and dialect == "tutorial" and not state.webhook_id:
                    first = "no hook"
                if first == "active" and dialect == "cxone" and not state.dialing_started:
                    first = "not dialing"  # the ACD dialect owes no webhook, but a start
            except EngineError as exc:  # the PUT's reply was spoiled: in doubt, as it should be
                said, first = str(exc), type(exc).__name__
            c.errors.append(said)
            c.simulator.faults.faults.clear()
            final = c.finish(campaign_id)
            lost, leaked = c.lost(campaign_id), c.leaked()
        # A write answered 204 (the ACD API's) carries no body: spoiling the body it does not
        # have changes nothing a client sees (only an HTML page in its place, a 200, does).
        # The write applied, and the judgements below still hold.
        unreadable = route not in ("acd_put_retry_settings", "acd_start_skill") or variant == "html"
        detected = first != "active" and SAID.search(said) is not None
        if not unreadable:
            detected = first == "active"
        report.record(
            f"malformed reply: {variant}",
            handled=detected and final == "active",
            lost=lost,
            leaked=leaked,
        )
        assert detected, f"{variant} on {route}: first run {first}, said {said!r}"
        assert (final, lost, leaked) == ("active", 0, 0), f"{variant} on {route}"
