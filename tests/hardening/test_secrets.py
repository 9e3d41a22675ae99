"""The whole demo, with a secret of our own: not in the journal, a log line, the output, an
error or a repr."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rich.console import Console

from adapters.cli.demo import run_demo
from adapters.cli.logs import configure
from adapters.simulator import Dataset, Simulator
from tests.hardening import report

SECRET = "demo-S3cret-4c2e-must-stay-hidden"


def test_the_whole_demo_leaks_no_secret_or_token(tmp_path: Path) -> None:
    simulator = Simulator(Dataset(seed=7, contacts=3000, suppressions=300), client_secret=SECRET)
    simulator.faults.add("contacts", "expire_tokens", after=2)  # a refresh mid-run, too
    output = io.StringIO()
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    logger = logging.getLogger("cxpreview")
    configure(as_json=True, level=logging.DEBUG)  # the structured logs --log-json writes
    handler.setFormatter(logger.handlers[0].formatter)
    logger.addHandler(handler)
    try:
        code = run_demo(
            str(tmp_path / "demo.db"),
            out=Console(file=output, width=160),
            secret=SECRET,
            simulator=simulator,
        )
    finally:
        logger.removeHandler(handler)
        configure(as_json=False, level=logging.WARNING)
    assert code == 0, output.getvalue()
    assert len(simulator.issued_tokens) >= 2, "a token was revoked and replaced"
    assert '"decision":"passed"' in logs.getvalue(), "the logs were captured"
    places = {
        "journal": b"".join(p.read_bytes() for p in tmp_path.iterdir()),
        "logs": logs.getvalue().encode(),
        "output": output.getvalue().encode(),
        "simulator log": repr(simulator.log).encode(),
    }
    needles = [SECRET, *simulator.issued_tokens]
    hits = [name for name, hay in places.items() for n in needles if n.encode() in hay]
    for _ in places:
        report.record("secrets: the whole demo, grepped", handled=not hits, leaked=0)
    report.ROWS["secrets: the whole demo, grepped"].leaked = len(hits)
    assert hits == []
