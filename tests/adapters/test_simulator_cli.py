"""``cxpreview simulator`` as a new user meets it: a fault plan's every mistake with its line
and what was meant, counts that cannot be negative, a bind that stays on loopback unless asked,
a port in use said in a line, and what it serves printed as it starts."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.simulator import FaultPlan
from tests.conftest import ROOT


def test_a_fault_plan_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(
        "[[fault]]\n"  # 1
        'route = "contacts"\n'  # 2
        'kind = "rate-limit"\n'  # 3
        "times = -2\n"  # 4
        "\n"  # 5
        "[[fault]]\n"  # 6
        'route = "contcts"\n'  # 7
        'kind = "status"\n'  # 8
        "statsu = 503\n"  # 9
    )
    with pytest.raises(ValueError, match="4 problems") as caught:
        FaultPlan.from_toml(path)
    text = str(caught.value)
    assert "line 3: fault[0].kind: 'rate-limit' is not one of" in text
    assert "did you mean 'rate_limit'?" in text
    assert "line 4: fault[0].times: expected a whole number of 0 or more, found -2" in text
    assert "line 7: fault[1].route: 'contcts'" in text
    assert "did you mean 'contacts'?" in text
    assert "line 9: fault[1].statsu: unknown option; did you mean 'status'?" in text
    assert "attrs" not in text
    assert "Attribute(" not in text


def test_a_fault_plan_that_is_not_toml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text('[[fault]]\nroute = "contacts\n')
    with pytest.raises(ValueError, match=r"not TOML: .*line 2"):
        FaultPlan.from_toml(path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--contacts", "-5"], "-5 is not in the range"),
        (["--suppressions", "-1"], "-1 is not in the range"),
        (["--host", "0.0.0.0"], "--allow-remote"),  # noqa: S104 - the refused bind itself
    ],
)
def test_the_simulator_refuses_what_it_must_not_serve(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, ["simulator", *args])
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_one_line() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["simulator", "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 2
    assert f"127.0.0.1:{port} is in use; choose another --port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_it_prints_what_it_serves_as_it_starts() -> None:
    served = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "simulator", "--contacts", "50"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert served.stdout is not None
        lines = [served.stdout.readline() for _ in range(5)]
    finally:
        served.terminate()
        served.wait(timeout=10)
        if served.stdout is not None:
            served.stdout.close()
    assert lines[0].startswith("http://127.0.0.1:")
    assert "cmp-1001" in lines[1]
    assert "cl-2001 (50 contacts, 5 suppressed numbers, seed 7)" in lines[2]
    assert "client id cxpreview, client secret simulated-secret" in lines[3]
    assert served.returncode == 0  # SIGTERM stops it cleanly
