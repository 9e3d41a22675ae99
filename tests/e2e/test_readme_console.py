"""The README's console sessions, replayed: each ``$ cxpreview …`` line is run (against a
fresh demo journal, or the bad spec the README describes) and its output checked against what
the README shows, column by column, leaving out only what changes from run to run (ids,
times, ages, latencies)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from tests.conftest import EXAMPLE_SPEC, ROOT

pytestmark = pytest.mark.slow

VARIES = re.compile(
    r"\b[0-9a-f]{16}\b"  # a campaign id
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"  # a time
    r"|\b\d+(\.\d+)? ms\b"  # a latency
    r"|\b\d+[smhd]( \d+[smhd])?\b"  # an age
)


def sessions() -> list[tuple[str, list[str]]]:
    """Every ``$ cxpreview`` command in the README's console blocks, with its shown output."""
    text = (ROOT / "README.md").read_text()
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ cxpreview "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


def shape(line: str) -> list[str]:
    """A line's cells with what varies from run to run blanked."""
    return [c for c in re.split(r"\s{2,}", VARIES.sub("…", line).strip()) if c]


def test_the_readme_console_sessions_are_what_cxpreview_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", "demo.db", "demo"]).exit_code == 0
    campaign = runner.invoke(cli, ["--db", "demo.db", "status", "--json"]).stdout
    campaign_id = re.search(r'"id": "([0-9a-f]{16})"', campaign).group(1)  # type: ignore[union-attr]
    bad = EXAMPLE_SPEC.read_text()
    bad = bad.replace('"cl-2001"', '"cl 2001"').replace("max_concurrent", "max_concurent")
    Path("bad.toml").write_text(bad)
    ran = sessions()
    assert len(ran) >= 3
    for command, shown in ran:
        words = re.sub(r"\b[0-9a-f]{16}\b", campaign_id, command).split()[1:]
        result = runner.invoke(cli, words)
        printed = (result.stdout + result.stderr).splitlines()
        assert [shape(p) for p in printed if p.strip()] == [shape(s) for s in shown if s.strip()], (
            command
        )
