"""bench/filter.py: filtering a large contact list against the simulator over real HTTP.

The simulator runs as its own process (``cxpreview simulator``) on 127.0.0.1, as CXone would be
elsewhere. Measured in one run: contacts/s of the real filter (gateway + rules + E.164 +
suppressions, 250 contacts a page), beside fetching the same pages with a bare reused
``httpx.Client`` and doing nothing with them; and how much the filter grows the process's
peak resident memory (the eligible set's bytes are the only thing that grows with the list).

    python -m bench.filter [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from urllib.parse import urljoin

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from bench.common import Figure, bare_client, simulator_process, table
from engine import load_spec
from engine.contacts import filter_contacts

EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "examples" / "preview.toml"


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    # Linux: writing 5 resets the peak resident set size (VmHWM) to the current one.
    Path("/proc/self/clear_refs").write_text("5")


def fetch_only(base_url: str, list_id: str) -> int:
    """Every contact page with a bare reused client: GET, follow the next link, drop the body."""
    with bare_client(base_url) as (client, headers):
        url: str | None = f"{base_url}/api/v2/outbound/contactlists/{list_id}/contacts?limit=250"
        pages = 0
        while url:
            body = client.get(url, headers=headers).json()
            pages += 1
            url = urljoin(base_url, body["nextPageUri"]) if body.get("nextPageUri") else None
        return pages


def run(quick: bool = False, contacts: int | None = None) -> list[Figure]:
    """Filter and fetch-only rates, and the filter's peak RSS growth."""
    contacts = contacts or (50_000 if quick else 1_000_000)
    suppressions = contacts // 10
    with simulator_process(contacts, suppressions) as base_url:
        spec = load_spec(EXAMPLE_SPEC)
        started = time.perf_counter()
        fetch_only(base_url, spec.contact_list_id)
        t_fetch = time.perf_counter() - started
        credentials = Credentials(base_url, "cxpreview", Secret("simulated-secret"))
        with HttpCXoneGateway(credentials) as gateway:
            _reset_peak()
            before = _rss_kib("VmRSS")
            started = time.perf_counter()
            result = filter_contacts(gateway, spec)
            t_filter = time.perf_counter() - started
            growth_mb = (_rss_kib("VmHWM") - before) / 1024
        assert result.total == contacts
    return [
        Figure(
            f"filter {contacts:,} contacts vs fetch only (contacts/s)",
            contacts / t_filter,
            contacts / t_fetch,
            "c/s",
            ">= 0.5",
        ),
        Figure(
            f"filter: peak RSS growth, {result.eligible:,} eligible (MB)",
            growth_mb,
            100.0,
            "MB",
            "<= 1.0",
        ),
    ]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
