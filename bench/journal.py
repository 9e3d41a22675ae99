"""bench/journal.py: the journal against raw sqlite3 doing the same work, in one run.

(a) one event per append transaction vs raw INSERT transactions with the same PRAGMAs and row
(b) bulk: 100k events in appends of 1,000 vs raw executemany in 1,000-row transactions
(c) full replay: fold 100k events over 10k campaigns vs raw SELECT + json.loads of the rows
(d) loading one campaign of 10 events, in microseconds, among 10k campaigns and among 100

    python -m bench.journal [--quick]
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Figure, table
from engine import fold, load_spec, replay_all
from engine.aggregate import CampaignState, steps
from events import (
    ActivationRequested,
    ActivationSucceeded,
    CampaignDrafted,
    ContactsFiltered,
    Event,
    FieldProblem,
    FilterRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistrationRequested,
)
from journal import HeadFields, SQLiteJournal
from journal.schema import EVENT_COLUMNS

EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "examples" / "preview.toml"
SPEC = load_spec(EXAMPLE_SPEC).to_dict()


def lifecycle(i: int) -> list[Event]:
    """Ten events a campaign really goes through (a failed validation, then to active)."""
    config = {"name": f"campaign {i}", "type": "preview", "dialingRules": {"maxAttempts": 3}}
    return [
        CampaignDrafted(SPEC),
        ValidationRequested(f"v{i}a"),
        ValidationFailed(
            f"v{i}a",
            (FieldProblem("constraints.max_concurrent_previews", "5 active; limit 5"),),
            True,
            41.3,
        ),
        ValidationRequested(f"v{i}b"),
        ValidationPassed(f"v{i}b", 2, 7, config, 38.9),
        FilterRequested(f"f{i}"),
        ContactsFiltered(
            f"f{i}",
            ({"field": "age", "op": "ge", "value": 21},),
            10_000,
            8_100,
            310,
            7_790,
            {"filter": 1_900, "suppressed": 310},
            "sha256:" + "ab" * 32,
            912.4,
        ),
        ActivationRequested(f"a{i}", 1, 7, "sha256:" + "cd" * 32),
        ActivationSucceeded(f"a{i}", 8, 120.5),
        WebhookRegistrationRequested(f"w{i}", "preview-launch", "https://hooks.example.com/x"),
    ]


def digests(campaign_id: str, events: list[Event]) -> list[str | None]:
    start = CampaignState(campaign_id, 0, "", "", {})
    return [s.digest() for s in steps(start, events)]


def populate(path: Path, campaigns: int) -> list[str]:
    """A journal of ``campaigns`` ten-event campaigns (written fast: synchronous OFF)."""
    ids = [f"cmp{i:06d}" for i in range(campaigns)]
    with SQLiteJournal(path, synchronous="OFF") as journal:
        for i, cid in enumerate(ids):
            events = lifecycle(i)
            journal.append(
                cid, events, 0, meta={"actor": "bench"}, state_digests=digests(cid, events)
            )
    return ids


RAW_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
RAW_SCHEMA = f"""
CREATE TABLE events ({EVENT_COLUMNS.replace("seq,", "seq INTEGER PRIMARY KEY,")});
CREATE UNIQUE INDEX ix ON events(stream_id, version);
"""


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(RAW_SCHEMA)
    return conn


def interleaved(
    rounds: int,
    ours: Callable[[], object],
    theirs: Callable[[], object],
) -> tuple[float, float]:
    """The fastest of ``rounds`` runs of each, run turn about: a noisy neighbour or a slow
    stretch of disk then hits both sides alike."""
    best_ours = best_theirs = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - started)
        started = time.perf_counter()
        theirs()
        best_theirs = min(best_theirs, time.perf_counter() - started)
    return best_ours, best_theirs


HEAD = HeadFields("validated", "spring", "cmp-1001", "validation", True, None)
"""The head every engine append writes beside its events (journal/heads.py)."""


def single_appends(tmp: Path, n: int, rounds: int = 5) -> Figure:
    """(a) one event per transaction, both with WAL and synchronous=FULL; ours also keeps
    the stream's head, as every engine append does."""
    journal = SQLiteJournal(tmp / "a.db")
    raw = raw_connection(tmp / "a_raw.db")
    event = ValidationRequested("step-0001")
    sample = journal.append("warm", [event], 0)[0]
    row = next(iter(journal.raw_rows()))
    versions = {"ours": 0, "raw": 0}

    def ours() -> None:
        for _ in range(n):
            journal.append("s", [event], versions["ours"], head=HEAD)
            versions["ours"] += 1

    def theirs() -> None:
        for _ in range(n):
            versions["raw"] += 1
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(RAW_INSERT, (None, "s", versions["raw"], *row[3:]))
            raw.execute("COMMIT")

    t_ours, t_raw = interleaved(rounds, ours, theirs)
    journal.close()
    raw.close()
    assert sample.version == 1
    return Figure(
        "(a) append, 1 event per transaction (events/s)", n / t_ours, n / t_raw, "ev/s", ">= 0.8"
    )


def bulk_appends(tmp: Path, total: int, batch: int = 1000, rounds: int = 10) -> Figure:
    """(b) appends of ``batch`` events vs executemany of the same rows, ``batch`` a transaction.

    Turn about, each round: ours appends its share, then raw inserts exactly the rows ours
    wrote (read back untimed).
    """
    events: list[Event] = [ValidationRequested(f"step-{k:06d}") for k in range(batch)]
    per_round = total // rounds
    journal = SQLiteJournal(tmp / "b.db")
    raw = raw_connection(tmp / "b_raw.db")
    t_ours = t_raw = float("inf")
    for r in range(rounds):
        after = journal.last_seq()
        started = time.perf_counter()
        for i in range(per_round // batch):
            journal.append(f"bulk{r}-{i}", events, 0, head=HEAD)
        t_ours = min(t_ours, time.perf_counter() - started)
        rows = [list(row) for row in journal.raw_rows(after)]
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            raw.execute("BEGIN IMMEDIATE")
            raw.executemany(RAW_INSERT, rows[i : i + batch])
            raw.execute("COMMIT")
        t_raw = min(t_raw, time.perf_counter() - started)
    journal.close()
    raw.close()
    return Figure(
        f"(b) bulk append, {total:,} events in 1,000s (events/s)",
        per_round / t_ours,
        per_round / t_raw,
        "ev/s",
        ">= 0.5",
    )


def replay(path: Path, total: int, rounds: int = 7) -> Figure:
    """(c) fold every event into its campaign vs SELECT + json.loads of the same rows."""
    journal = SQLiteJournal(path)
    raw = sqlite3.connect(path)

    def ours() -> None:
        replay_all(journal)  # what Engine.campaigns() does

    def theirs() -> None:
        for _stream, _type, _schema, data in raw.execute(
            "SELECT stream_id, type, schema, data FROM events ORDER BY seq"
        ):
            json.loads(data)

    t_ours, t_raw = interleaved(rounds, ours, theirs)
    journal.close()
    raw.close()
    return Figure(
        f"(c) replay: fold {total:,} events (events/s)",
        total / t_ours,
        total / t_raw,
        "ev/s",
        ">= 0.7",
    )


def load_one(path: Path, ids: list[str], label: str, rounds: int = 7) -> Figure:
    """(d) Engine.load's work for one campaign vs SELECT + json.loads of its rows."""
    journal = SQLiteJournal(path)
    raw = sqlite3.connect(path)
    probes = ids[:: max(1, len(ids) // 200)][:200]
    query = "SELECT seq, type, schema, data FROM events WHERE stream_id = ? ORDER BY version"

    def ours() -> None:
        for cid in probes:
            fold(cid, journal.read_events(cid))  # what Engine.load() does

    def theirs() -> None:
        for cid in probes:
            for row in raw.execute(query, (cid,)):
                json.loads(row[3])

    t_ours, t_raw = interleaved(rounds, ours, theirs)
    journal.close()
    raw.close()
    per = 1e6 / len(probes)
    return Figure(
        f"(d) load a 10-event campaign among {label} (us)",
        t_ours * per,
        t_raw * per,
        "us",
        "<= 100",
        higher_is_better=False,
    )


def run(quick: bool = False) -> list[Figure]:
    """Every figure of this benchmark (``quick``: a tenth of the sizes, for a smoke run)."""
    campaigns = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory(dir=".") as d:
        tmp = Path(d)
        figures = [single_appends(tmp, 50 if quick else 200), bulk_appends(tmp, campaigns * 10)]
        small_ids = populate(tmp / "small.db", 100)
        ids = populate(tmp / "big.db", campaigns)
        figures.append(replay(tmp / "big.db", campaigns * 10))
        figures.append(load_one(tmp / "small.db", small_ids, "100"))
        figures.append(load_one(tmp / "big.db", ids, f"{campaigns:,}"))
    return figures


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
