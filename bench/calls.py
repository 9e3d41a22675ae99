"""How one ``Engine.activate`` over HTTP moves through the code: a reading aid, not a timing.

``PYTHONPATH=. python -m bench.calls`` drafts, validates and filters a campaign against the
simulator (in process, the real gateway over httpx), then traces the activation alone and
prints: calls that enter an ``engine/`` module from another ``engine/`` module (re-entries),
per module; calls that cross from one of the project's files to another; and the distinct
file-to-file edges crossed. Fewer re-entries is code that reads in one direction.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from adapters.cxone import Credentials, HttpCXoneGateway, Secret
from adapters.simulator import Dataset, Simulator
from adapters.simulator.inprocess import InProcessTransport
from engine import Engine, load_spec
from journal import SQLiteJournal

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("events", "journal", "engine", "adapters")


def _ours(filename: str) -> str | None:
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return str(rel) if rel.parts and rel.parts[0] in PACKAGES else None


def trace_activation() -> dict[str, Any]:
    """Trace one activation; the counts."""
    sim = Simulator(Dataset(seed=7, contacts=500, suppressions=50))
    transport = InProcessTransport(sim.app)
    creds = Credentials("http://127.0.0.1", sim.client_id, Secret("simulated-secret"))
    spec_file = ROOT / "examples" / "preview.toml"
    try:
        return _traced(sim, transport, creds, spec_file)
    finally:
        transport.close()


def _traced(sim: Any, transport: Any, creds: Any, spec_file: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        journal = SQLiteJournal(Path(folder) / "calls.db", head_mark=False)
        gateway = HttpCXoneGateway(creds, client=httpx.Client(transport=transport))
        engine = Engine(journal, gateway)
        cid = engine.draft(load_spec(spec_file)).id
        engine.validate(cid)
        engine.filter(cid)
        reentries: Counter[str] = Counter()
        crossings: Counter[tuple[str, str]] = Counter()

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event != "call":
                return
            callee = _ours(frame.f_code.co_filename)
            caller_frame = frame.f_back
            caller = _ours(caller_frame.f_code.co_filename) if caller_frame else None
            if callee is None or caller is None or callee == caller:
                return
            crossings[(caller, callee)] += 1
            if callee.startswith("engine/") and caller.startswith("engine/"):
                reentries[callee] += 1

        sys.setprofile(profile)
        try:
            state = engine.activate(cid)
        finally:
            sys.setprofile(None)
        assert state.state == "active", state
        journal.close()
        gateway.close()
    return {"reentries": reentries, "crossings": crossings}


def main() -> None:
    """Print the counts."""
    counts = trace_activation()
    reentries, crossings = counts["reentries"], counts["crossings"]
    print(f"engine-module re-entries during one activate: {sum(reentries.values())}")
    for module, n in reentries.most_common():
        print(f"  {n:4d}  {module}")
    print(f"calls crossing between project files: {sum(crossings.values())}")
    print(f"distinct file-to-file edges: {len(crossings)}")
    files = {f for edge in crossings for f in edge}
    print(f"project files touched: {len(files)}")


if __name__ == "__main__":
    main()
