"""The wheel as a new user gets it: built from this checkout, installed into a fresh venv
(not editable), and run from a directory that has nothing of the source tree in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_SPEC, ROOT

pytestmark = pytest.mark.slow


def test_the_packaged_starter_spec_is_the_example() -> None:
    packaged = ROOT / "adapters" / "cli" / "preview.toml"
    assert packaged.read_bytes() == EXAMPLE_SPEC.read_bytes(), (
        "adapters/cli/preview.toml (shipped in the wheel) must be examples/preview.toml"
    )


def test_the_wheel_runs_the_demo_from_any_directory(tmp_path: Path) -> None:
    # Built from a copy of the source alone: a build/ folder left in the checkout would
    # otherwise leak files that are gone from the tree into the wheel.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), "."],
        cwd=source,
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("cxpreview-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=900
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean["CXPREVIEW_STATE_DIR"] = str(tmp_path / "state")
    cxpreview = str(env_dir / "bin" / "cxpreview")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cxpreview, *args],
            check=False,
            cwd=work,
            env=clean,
            capture_output=True,
            text=True,
            timeout=300,
        )

    # The core alone: the served simulator is the 'simulator' extra, and says so.
    bare = run("--db", "demo.db", "demo", "--contacts", "2000")
    assert bare.returncode == 2, bare.stdout + bare.stderr
    assert "pip install 'cxpreview[simulator]'" in bare.stderr
    assert "Traceback" not in bare.stderr
    assert not (work / "demo.db").exists(), "nothing is written before the simulator is there"
    module = subprocess.run(
        [str(python), "-m", "cxpreview", "--help"],
        check=False,
        cwd=work,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert module.returncode == 0, module.stderr
    assert module.stdout.startswith("Usage: cxpreview [OPTIONS] COMMAND")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{wheel}[simulator]"],
        check=True,
        timeout=900,
    )
    demo = run("--db", "demo.db", "demo", "--contacts", "2000")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "active" in demo.stdout
    init = run("init")
    assert init.returncode == 0, init.stderr
    assert (work / "preview.toml").read_bytes() == EXAMPLE_SPEC.read_bytes()
    assert run("init").returncode == 2, "an existing spec is not overwritten"
    checked = run("check", "preview.toml")
    assert checked.returncode == 0, checked.stderr
    status = run("--db", "demo.db", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert '"state": "active"' in status.stdout
