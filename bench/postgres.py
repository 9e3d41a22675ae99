"""bench/postgres.py: the PostgreSQL journal, when a server is reachable (else it says so).

- single-event appends through the journal (chain row locked, version checked, head kept,
  group commit) vs raw psycopg INSERTs of the same rows, one transaction each, both with
  ``synchronous_commit=on``;
- 4 supervisor processes on one PostgreSQL journal recovering 400 interrupted activations
  against the simulator at 50 ms a call, vs one process recovering 100 (campaigns/s; 4
  workers each), and the PUTs CXone applied twice (from the simulator's log).

The server: ``CXPREVIEW_BENCH_POSTGRES``, else ``CXPREVIEW_TEST_POSTGRES``, else
``postgresql://root@127.0.0.1:5432/test``; each run works in a schema of its own, dropped
afterwards.

    python -m bench.postgres [--quick]
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import quote

import httpx

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from bench.common import Figure, simulator_process, table
from bench.concurrency import _interrupted, _latency
from bench.journal import HEAD
from engine import Engine
from events import ValidationRequested
from journal.postgres import PostgresJournal

DEFAULT = "postgresql://root@127.0.0.1:5432/test"
RAW_INSERT = f"INSERT INTO raw VALUES ({', '.join(['%s'] * 11)})"  # noqa: S608 - constants only


def server() -> str | None:
    """The server's URL when one answers, else None (and why, on stderr)."""
    url = os.environ.get("CXPREVIEW_BENCH_POSTGRES") or os.environ.get(
        "CXPREVIEW_TEST_POSTGRES", DEFAULT
    )
    try:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception as exc:
        print(f"bench/postgres.py: no PostgreSQL at {url} ({exc}); skipped", file=sys.stderr)
        return None


@contextmanager
def schema(url: str) -> Iterator[str]:
    """A URL to a new schema, dropped afterwards."""
    import psycopg  # noqa: PLC0415

    name = f"bench_{secrets.token_hex(5)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def appends(url: str, n: int) -> tuple[float, float]:
    """Events/s: the journal's single-event appends, and raw INSERTs of the same rows."""
    import psycopg  # noqa: PLC0415

    event = [ValidationRequested("step-0001")]
    with schema(url) as here, PostgresJournal(here) as journal:
        journal.append("warm", event, 0, head=HEAD)
        started = time.perf_counter()
        for version in range(n):
            journal.append("c", event, version, head=HEAD)
        ours = n / (time.perf_counter() - started)
        rows = list(journal.raw_rows())
        with psycopg.connect(here) as conn:
            conn.execute("SET synchronous_commit = on")
            conn.execute("CREATE TABLE raw (LIKE events INCLUDING ALL)")
            conn.commit()
            started = time.perf_counter()
            for row in rows[1:]:
                conn.execute(RAW_INSERT, tuple(row))
                conn.commit()
            raw = (len(rows) - 1) / (time.perf_counter() - started)
    return ours, raw


def _supervisors(
    where: str, processes: int, env: dict[str, str]
) -> tuple[list[tuple[str, str]], float]:
    """``processes`` processes of ``supervise --once --workers 4`` on the journal at
    ``where``, all at once: what each printed (stdout, stderr), and the seconds until the
    last ended. Each writes to files of its own: read through pipes one process at a time,
    the others' log lines would fill their pipes and stall them mid-pass."""
    with ExitStack() as files:
        logs = [
            (
                files.enter_context(tempfile.TemporaryFile("w+")),
                files.enter_context(tempfile.TemporaryFile("w+")),
            )
            for _ in range(processes)
        ]
        started = time.perf_counter()
        running = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adapters.cli",
                    "--db",
                    where,
                    "supervise",
                    "--once",
                    "--workers",
                    "4",
                    "--owner",
                    f"bench-{k}",
                ],
                stdout=out,
                stderr=err,
                text=True,
                env=env,
            )
            for k, (out, err) in enumerate(logs)
        ]
        for p in running:
            p.wait(timeout=900)
        took = time.perf_counter() - started
        outs = []
        for out, err in logs:
            out.seek(0)
            err.seek(0)
            outs.append((out.read(), err.read()))
    return outs, took


def recovery(url: str, quick: bool) -> list[Figure]:
    """4 supervisor processes vs 1 recovering interrupted activations at 50 ms a call."""
    alone_n, many_n = (10, 40) if quick else (100, 400)
    with (
        simulator_process(250, 25) as base_url,
        schema(url) as one,
        schema(url) as four,
        HttpCXoneGateway(Credentials(base_url, "cxpreview", Secret("simulated-secret"))) as gw,
    ):
        for where, n, tag in ((one, alone_n, "p1-"), (four, many_n, "p4-")):
            with PostgresJournal(where) as journal:
                _interrupted(Engine(journal, gw), base_url, tag, n)
        seen = len(httpx.get(f"{base_url}/_sim/log").json())
        _latency(base_url, "*", 0.05)
        env = {
            **os.environ,
            "PYTHONPATH": os.getcwd(),
            "CXONE_BASE_URL": base_url,
            "CXONE_CLIENT_ID": "cxpreview",
            "CXONE_CLIENT_SECRET": "simulated-secret",
        }
        rates = {}
        for where, n, processes in ((one, alone_n, 1), (four, many_n, 4)):
            outs = _supervisors(where, processes, env)
            finished = sum(out.count("-> active  finished") for out, _ in outs[0])
            assert finished == n, (finished, n, [err[-2000:] for _, err in outs[0]])
            rates[processes] = n / outs[1]
        log = httpx.get(f"{base_url}/_sim/log").json()[seen:]
    applied = Counter(
        e["campaign"]
        for e in log
        if e["route"] == "put_campaign"
        and e["changed"]
        and str(e["campaign"]).startswith("cmp-p4-")
    )
    assert len(applied) == many_n, "every campaign got its PUT"
    return [
        Figure(
            f"postgres: {many_n} recoveries @50ms, 4 processes vs 1 (c/s)",
            rates[4],
            rates[1],
            "c/s",
            ">= 3",
        ),
        Figure(
            "postgres: 4 processes: PUTs applied twice",
            sum(k - 1 for k in applied.values()),
            0.0,
            "PUTs",
            "<= 0",
            absolute=True,
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    """The figures, or none when no server answers."""
    url = server()
    if url is None:
        return []
    ours, raw = appends(url, 200 if quick else 2000)
    return [
        Figure(
            "postgres: append 1 event vs raw INSERT+COMMIT (events/s)", ours, raw, "ev/s", ">= 0.8"
        ),
        *recovery(url, quick),
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
