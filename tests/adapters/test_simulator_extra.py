"""The served simulator (starlette, uvicorn) is an optional extra: the core works without it,
and asking for it without the extra says what to install, before anything is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

WITHOUT_EXTRA = """
import sys
for name in ("starlette", "uvicorn"):  # as if never installed: importing them fails
    sys.modules[name] = None
from click.testing import CliRunner
from adapters.cli import cli
from adapters.simulator import Dataset, FakeCXoneGateway, SimulatorMissing
from engine import Engine, RemoteCampaign, load_spec
from journal import SQLiteJournal
from tests.conftest import make_contacts

fake = FakeCXoneGateway(
    campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})], contacts=make_contacts(50)
)
with SQLiteJournal(":memory:") as journal:
    state = Engine(journal, fake).draft(load_spec("examples/preview.toml")).run()
print("core:", state.state, Dataset(contacts=3).contacts)
for args in (["--db", sys.argv[1], "demo"], ["simulator", "--port", "0"]):
    result = CliRunner().invoke(cli, args)
    print(args[-2] if args[0] == "--db" else args[0], result.exit_code, result.stderr.strip())
try:
    from adapters.simulator import Simulator
except SimulatorMissing as exc:
    print("import:", exc.exit_code, exc)
print("loaded:", sorted(n for n in ("starlette", "uvicorn") if sys.modules.get(n)))
"""


def test_the_core_runs_without_the_simulator_extra_and_the_simulator_names_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "core: active 3"
    hint = "it is the optional 'simulator' extra (pip install 'cxpreview[simulator]')"
    assert lines[1].startswith(f"{db} 2 "), "demo: exit 2"
    assert lines[2].startswith("simulator 2 "), "simulator: exit 2"
    for line in lines[1:4]:
        assert hint in line, line
        assert "Traceback" not in line
    assert lines[3].startswith("import: 2 the CXone simulator needs starlette")
    assert lines[4] == "loaded: []"
    assert not db.exists(), "the demo wrote no journal it could not fill"
