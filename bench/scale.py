"""bench/scale.py: what looking across campaigns costs on big journals, against raw SQL.

Journals of N campaigns x 11 events (drafted, a refused validation, validated, filtered,
activated, the webhook registered; 10 of them left with an open activation, for the supervisor
to find), built with synchronous OFF. Each figure is beside the raw SQL lower bound
measured in the same run: for a CLI command, a ``python -c`` process running the same query
with sqlite3 alone (interpreter start-up included on both sides); RSS is the whole process's
peak (``wait4``).

- the supervisor's candidate query (its census and the unfinished campaigns), in process;
- ``status --json`` over every campaign, and ``status --limit 50``, as whole CLI processes;
- ``metrics --json``;
- ``audit verify``: events per second and RSS, against reading and hashing every row.

    python -m bench.scale [--quick]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from bench.common import Figure, table
from bench.journal import digests, lifecycle
from engine import Engine, Supervisor
from engine.aggregate import CampaignState, steps
from engine.heads import head_fields
from events import ContactsFiltered, Event, WebhookRegistered
from journal import SQLiteJournal

UNFINISHED = 10
CANDIDATE_ROUNDS = 200
"""The candidate query takes ~0.1 ms: the best of many runs, or one scheduler hiccup in a
handful decides the 100k/10k ratio."""
CLI = [sys.executable, "-m", "adapters.cli"]


def build(path: Path, campaigns: int) -> None:
    """``campaigns`` campaigns through ``Journal.append`` with their heads, 10 of them
    stopped after their activation intent."""
    stuck = {campaigns * k // UNFINISHED for k in range(UNFINISHED)}
    with SQLiteJournal(path, synchronous="OFF") as journal:
        eligible = journal.put_blob(b"c1\t+14155550101\n")  # verify checks the set is there
        for i in range(campaigns):
            cid = f"cmp{i:07d}"
            events: list[Event] = [*lifecycle(i), WebhookRegistered(f"w{i}", f"wh{i}", True, 80.2)]
            events = [
                attrs.evolve(e, eligible_digest=eligible) if isinstance(e, ContactsFiltered) else e
                for e in events
            ]
            if i in stuck:
                events = events[:8]  # ... activation.requested: the PUT's outcome unknown
            final = steps(CampaignState(cid, 0, "", "", {}), events)[-1]
            journal.append(
                cid,
                events,
                0,
                meta={"actor": "bench"},
                state_digests=digests(cid, events),
                head=head_fields(final),
            )


def best_of(rounds: int, fn: object) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
"""GNU time, when there is one: it reports the command's own peak RSS. ``wait4`` from this
process would floor every figure at this process's own RSS (a child starts as its copy)."""


def process(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Milliseconds and peak RSS (MB) of one process, its output discarded."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        command = [GNU_TIME, "-f", "%M", "-o", rss.name, *args] if GNU_TIME else args
        started = time.perf_counter()
        # Our own CLI, or python -c with a script of this file: never input.
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            said = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(args)} exited {child.returncode}: {said}")
        peak_kb = float(rss.read().split()[-1]) if GNU_TIME else float(usage.ru_maxrss)
    return took * 1000, peak_kb / 1024


def best_process(args: list[str], env: dict[str, str], rounds: int) -> tuple[float, float]:
    runs = [process(args, env) for _ in range(rounds)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


RAW_STATUS = """
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
limit = int(sys.argv[2])
rows = conn.execute("SELECT * FROM heads ORDER BY first_seq DESC LIMIT ?", (limit,)).fetchall()
json.dump([list(r) for r in rows], sys.stdout)
"""
RAW_METRICS = """
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
n = 0
for t, d in conn.execute("SELECT type, data FROM events"):
    if t.endswith(("succeeded", "conflicted", "failed")):
        n += json.loads(d).get("latency_ms", 0) > 0
print(n)
"""
RAW_VERIFY = """
import hashlib, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
prev = "0" * 64
for row in conn.execute("SELECT * FROM events ORDER BY seq"):
    prev = hashlib.sha256((prev + "|".join(map(str, row[:9]))).encode()).hexdigest()
print(prev)
"""


ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "events", "journal", "adapters")


def compiled_env() -> dict[str, str]:
    """The environment CLI processes run in: the checkout on the path, its modules
    byte-compiled beforehand (``__pycache__``, ignored by git), as a pip-installed
    cxpreview's are at install. Where PYTHONDONTWRITEBYTECODE is set, each process would
    otherwise compile every module it imports: about 100 ms that no installed CLI spends."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    packages = [str(ROOT / p) for p in PACKAGES]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], env=env, check=True)
    return env


def candidates(paths: list[Path]) -> list[dict[str, float]]:
    """The supervisor's candidate query on each journal, and the raw SQL it stands for (ms):
    the best of ``CANDIDATE_ROUNDS`` runs, the journals timed turn about, so that a slow
    stretch of the machine falls on both sizes alike and not on one of the two ratios' sides."""
    best = [{"candidates": float("inf"), "candidates_raw": float("inf")} for _ in paths]
    with contextlib.ExitStack() as stack:
        journals = [stack.enter_context(SQLiteJournal(p)) for p in paths]
        supervisors = [Supervisor(Engine(j), "bench") for j in journals]
        for supervisor in supervisors:
            found = supervisor.candidates()
            assert len(found) == UNFINISHED, len(found)

        def raw_of(conn: sqlite3.Connection) -> Callable[[], None]:
            def raw_candidates() -> None:
                conn.execute("SELECT state, n FROM census WHERE n > 0").fetchall()
                conn.execute(
                    "SELECT stream_id FROM heads WHERE unfinished = 1 ORDER BY first_seq"
                ).fetchall()

            return raw_candidates

        raws = [raw_of(j.recorder.connection) for j in journals]
        for _ in range(CANDIDATE_ROUNDS):
            for mine, supervisor, raw in zip(best, supervisors, raws, strict=True):
                mine["candidates"] = min(mine["candidates"], best_of(1, supervisor.candidates))
                mine["candidates_raw"] = min(mine["candidates_raw"], best_of(1, raw))
    return [{k: v * 1000 for k, v in b.items()} for b in best]


def measure(path: Path, campaigns: int, rounds: int, env: dict[str, str]) -> dict[str, float]:
    """Every figure of one journal but the candidate query's, CLI processes run in ``env``."""
    out: dict[str, float] = {}
    db = ["--db", str(path)]
    raw = [sys.executable, "-c"]
    out["status"], out["status_rss"] = best_process([*CLI, *db, "status", "--json"], env, rounds)
    out["status_raw"], out["status_raw_rss"] = best_process(
        [*raw, RAW_STATUS, str(path), "-1"], env, rounds
    )
    out["status50"], _ = best_process([*CLI, *db, "status", "--limit", "50"], env, rounds)
    out["status50_raw"], _ = best_process([*raw, RAW_STATUS, str(path), "50"], env, rounds)
    out["metrics"], _ = best_process([*CLI, *db, "metrics", "--json"], env, 1)
    out["metrics_raw"], _ = best_process([*raw, RAW_METRICS, str(path)], env, 1)
    out["verify"], out["verify_rss"] = best_process([*CLI, *db, "audit", "verify"], env, 1)
    out["verify_raw"], out["verify_raw_rss"] = best_process([*raw, RAW_VERIFY, str(path)], env, 1)
    out["events"] = campaigns * 11 - UNFINISHED * 3
    return out


def run(quick: bool = False) -> list[Figure]:
    """The figures at two sizes (``quick``: 1k and 2k campaigns, for a smoke run)."""
    small, big = (1_000, 2_000) if quick else (10_000, 100_000)
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(dir=".") as d:
        built, paths = {}, {}
        for n in (small, big):
            paths[n] = Path(d) / f"scale-{n}.db"
            started = time.perf_counter()
            build(paths[n], n)
            print(
                f"scale: built {n:,} campaigns in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
        env = compiled_env()
        for n, found in zip((small, big), candidates([paths[small], paths[big]]), strict=True):
            built[n] = {**measure(paths[n], n, rounds, env), **found}
    s, b = built[small], built[big]
    k, sk = f"{big // 1000}k", f"{small // 1000}k"
    events_per_s = b["events"] / b["verify"] * 1000
    return [
        Figure(
            f"scale {k}: supervisor candidates (ms) <= 50",
            b["candidates"],
            b["candidates_raw"],
            "ms",
            "<= 50",
            False,
            True,
        ),
        Figure(
            f"scale {k}/{sk}: supervisor candidates (ms)",
            b["candidates"],
            s["candidates"],
            "ms",
            "<= 1.5",
            False,
        ),
        Figure(
            f"scale {k}: status --json (ms) <= 2000",
            b["status"],
            b["status_raw"],
            "ms",
            "<= 2000",
            False,
            True,
        ),
        Figure(
            f"scale {k}: status --json RSS (MB) <= 150",
            b["status_rss"],
            b["status_raw_rss"],
            "MB",
            "<= 150",
            False,
            True,
        ),
        Figure(
            f"scale {k}: status --limit 50 (ms) <= 400",
            b["status50"],
            b["status50_raw"],
            "ms",
            "<= 400",
            False,
            True,
        ),
        Figure(
            f"scale {k}: metrics --json (ms) <= 1000",
            b["metrics"],
            b["metrics_raw"],
            "ms",
            "<= 1000",
            False,
            True,
        ),
        Figure(
            f"scale {k}: audit verify (events/s) >= 50k",
            events_per_s,
            b["events"] / b["verify_raw"] * 1000,
            "ev/s",
            ">= 50000",
            True,
            True,
        ),
        Figure(
            f"scale {k}: audit verify RSS (MB) <= 200",
            b["verify_rss"],
            b["verify_raw_rss"],
            "MB",
            "<= 200",
            False,
            True,
        ),
        Figure(
            f"scale {k}/{sk}: audit verify RSS (MB)",
            b["verify_rss"],
            s["verify_rss"],
            "MB",
            "<= 1.5",
            False,
        ),
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
