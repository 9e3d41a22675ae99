"""TLS is always verified: the simulator served over HTTPS with a certificate from a throwaway
CA is refused until that CA is trusted (``--ca-file``), and then works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from adapters.cli import cli
from adapters.cxone import Credentials, HttpCXoneGateway, Secret, SettingsError
from adapters.simulator import Simulator, SimulatorServer
from engine import RemoteRejected
from tests.conftest import EXAMPLE_SPEC


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https(ca: trustme.CA, tmp_path: Path) -> Iterator[tuple[SimulatorServer, Path]]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with SimulatorServer(Simulator(), tls_certfile=str(pem)) as server:
        yield server, ca_file


def test_an_untrusted_certificate_is_refused_at_once(https: tuple[SimulatorServer, Path]) -> None:
    server, _ = https
    assert server.base_url.startswith("https://127.0.0.1:")
    credentials = Credentials(server.base_url, "cxpreview", Secret("simulated-secret"))
    with (
        HttpCXoneGateway(credentials) as gateway,
        pytest.raises(RemoteRejected, match=r"TLS certificate of 127\.0\.0\.1:\d+ is not trusted"),
    ):
        gateway.read_campaign("cmp-1001")
    assert server.simulator.log == [], "nothing was sent: not even the client secret"


def test_a_trusted_ca_file_lets_it_through(https: tuple[SimulatorServer, Path]) -> None:
    server, ca_file = https
    credentials = Credentials(server.base_url, "cxpreview", Secret("simulated-secret"))
    with HttpCXoneGateway(credentials, ca_file=str(ca_file)) as gateway:
        assert gateway.read_campaign("cmp-1001").version == 4


def test_a_ca_file_that_is_not_one_is_a_settings_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    credentials = Credentials("https://cxone.example.com", "id", Secret("s"))
    with pytest.raises(SettingsError, match=r"cannot use .*junk\.pem as a CA file"):
        HttpCXoneGateway(credentials, ca_file=str(junk))


def test_the_cli_runs_over_https_with_ca_file(
    https: tuple[SimulatorServer, Path], tmp_path: Path
) -> None:
    server, ca_file = https
    env = {"CXONE_CLIENT_SECRET": "simulated-secret"}
    base = ["--db", str(tmp_path / "j.db"), "--base-url", server.base_url, "--client-id"]
    refused = CliRunner().invoke(cli, [*base, "cxpreview", "run", str(EXAMPLE_SPEC)], env=env)
    assert refused.exit_code == 1
    assert "is not trusted" in refused.stdout
    done = CliRunner().invoke(
        cli,
        [*base, "cxpreview", "--ca-file", str(ca_file), "run", str(EXAMPLE_SPEC)],
        env=env,
    )
    assert done.exit_code == 0, done.stderr
    assert "carried on (draft, live, from this spec)" in done.stdout  # the refused run's campaign
    assert ": active (v" in done.stdout
