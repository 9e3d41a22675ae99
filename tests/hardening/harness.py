"""One hardening case: the simulator on loopback, the real HTTP gateway, a journal file, the
engine; and the three judgements every case ends with (resumed to active, nothing lost,
nothing leaked)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from adapters.cli.logs import JsonLines
from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret
from adapters.cxone.acd import AccessKey, AcdGateway, AcdSettings
from adapters.simulator import Dataset, Simulator, SimulatorServer
from adapters.simulator.acd import ACCESS_KEY_ID
from engine import Engine, load_spec, verify
from journal import SQLiteJournal
from tests.conftest import EXAMPLE_SPEC

SECRET = "hardened-S3cret-9f1c-never-printed"
FAST = RetryPolicy(deadline=1.0, base=0.01, cap=0.05)
"""Retries as in production, on a short fuse: a storm that outlasts it becomes an outcome."""


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@attrs.define
class Case:
    simulator: Simulator
    journal: SQLiteJournal
    gateway: HttpCXoneGateway
    engine: Engine
    db: Path
    logs: _Lines
    dialect: str = "tutorial"
    errors: list[str] = attrs.Factory(list)

    def lost(self, campaign_id: str) -> int:
        """Events the journal should hold and does not (or holds twice): an intent with no
        outcome, an outcome with no intent, a PUT CXone applied that the journal does not
        record as a success (or the reverse)."""
        history = self.engine.history(campaign_id)
        intents: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        for h in history:
            step_id = getattr(h.event, "step_id", None)
            if step_id is None:
                continue
            (outcomes if hasattr(h.event, "latency_ms") else intents)[step_id] += 1
        unpaired = sum(
            abs(intents[k] - outcomes[k]) + max(0, outcomes[k] - 1)
            for k in intents.keys() | outcomes.keys()
        )
        succeeded = sum(1 for h in history if h.type == "activation.succeeded")
        applied = len(
            self.simulator.applied_puts()
            if self.dialect == "tutorial"
            else self.simulator.acd.applied_writes()
        )
        if self.dialect == "cxone":  # and the calling list: uploaded once, if at all
            uploaded = any(h.type == "contacts.uploaded" for h in history)
            unpaired += abs(len(self.simulator.acd.uploads()) - uploaded)
        return unpaired + abs(applied - succeeded)

    def leaked(self) -> int:
        """How many of the places a secret could end up hold the client secret or a token."""
        files = b"".join(p.read_bytes() for p in self.db.parent.glob(self.db.name + "*"))
        places = [
            files,
            "\n".join(self.logs.lines).encode(),
            "\n".join(self.errors).encode(),
            "\n".join([repr(self.gateway), repr(self.gateway.credentials)]).encode(),
        ]
        needles = [SECRET.encode()] + [t.encode() for t in self.simulator.issued_tokens]
        return sum(1 for place in places if any(n in place for n in needles))

    def finish(self, campaign_id: str) -> str:
        """With the fault gone: resume the campaign; its state after (``active`` expected)."""
        state = self.engine.run(campaign_id)
        report = verify(self.journal)
        assert report.ok, report
        return state.state


@contextmanager
def case(
    tmp_path: Path,
    name: str,
    *,
    contacts: int = 300,
    timeout: float = 5.0,
    dialect: str = "tutorial",
) -> Iterator[Case]:
    """A fresh simulator, gateway (of ``dialect``), journal and engine; logs captured as JSON
    lines. Both dialects' secrets (client secret, access key secret) are ``SECRET``."""
    simulator = Simulator(
        Dataset(seed=11, contacts=contacts, suppressions=contacts // 10), client_secret=SECRET
    )
    simulator.acd.access_key = (ACCESS_KEY_ID, SECRET)
    db = tmp_path / f"{name}.db"
    logs = _Lines()
    logger = logging.getLogger("cxpreview")
    level = logger.level
    logger.addHandler(logs)
    logger.setLevel(logging.DEBUG)
    try:
        with SimulatorServer(simulator) as server, SQLiteJournal(db, busy_timeout=0.5) as journal:
            credentials = Credentials(server.base_url, simulator.client_id, Secret(SECRET))
            gateway = (
                HttpCXoneGateway(credentials, policy=FAST, timeout=timeout)
                if dialect == "tutorial"
                else AcdGateway(
                    AccessKey(ACCESS_KEY_ID, Secret(SECRET)),
                    AcdSettings(
                        auth_url=server.base_url,
                        discovery_url=server.base_url,
                        upload_poll_seconds=0.01,
                    ),
                    policy=FAST,
                    timeout=timeout,
                )
            )
            with gateway:
                engine = Engine(journal, gateway)
                yield Case(simulator, journal, gateway, engine, db, logs, dialect)
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)


def draft(c: Case) -> str:
    """Draft the example spec of the case's dialect for a run; the campaign id."""
    spec = EXAMPLE_SPEC if c.dialect == "tutorial" else EXAMPLE_SPEC.parent / "acd.toml"
    return c.engine.draft(load_spec(spec), run=True).id
