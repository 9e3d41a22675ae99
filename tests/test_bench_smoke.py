"""The benchmarks run (tiny sizes) and produce every figure: they are not timed tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import concurrency, journal, postgres, recovery, scale
from bench import filter as filter_bench
from bench.common import Figure, table
from tests.postgres import server_url

pytestmark = pytest.mark.slow


def test_the_journal_benchmark_produces_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    figures = journal.run(quick=True)
    assert [f.name[:3] for f in figures] == ["(a)", "(b)", "(c)", "(d)", "(d)"]
    assert all(f.value > 0 and f.baseline > 0 for f in figures)
    assert "ratio" in table(figures)
    assert os.listdir(tmp_path) == [], "its temporary files are cleaned up"


def test_a_figure_judges_its_target() -> None:
    assert Figure("x", 80, 100, "ev/s", ">= 0.8").met
    assert not Figure("x", 79, 100, "ev/s", ">= 0.8").met
    assert Figure("d", 99.0, 50.0, "us", "<= 100", higher_is_better=False).met
    assert not Figure("d", 101.0, 50.0, "us", "<= 100", higher_is_better=False).met


def test_the_filter_benchmark_produces_its_figures() -> None:
    rate, memory = filter_bench.run(contacts=3000)
    assert rate.value > 0
    assert rate.baseline > 0
    assert memory.value < 100


def test_the_recovery_benchmark_produces_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    rate, requests, ratio = recovery.run(campaigns=20)
    assert rate.value > 0
    assert requests.value <= 2, "one GET and at most one PUT per recovered activation"
    assert ratio.baseline > 0


def test_the_scale_benchmark_produces_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    figures = scale.run(quick=True)
    assert len(figures) == 9
    assert all(f.value > 0 and f.baseline > 0 for f in figures)
    assert os.listdir(tmp_path) == [], "its journals are cleaned up"


def test_the_concurrency_benchmark_produces_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    recovered, requests, doubles, appending, ceiling, filtering = concurrency.run(quick=True)
    for figure in (recovered, appending, ceiling, filtering):
        assert figure.value > 0
        assert figure.baseline > 0
    assert 1.0 <= requests.value <= 4.0  # a read, maybe a PUT, per activation
    assert doubles.value == 0
    assert doubles.met
    assert os.listdir(tmp_path) == []


def test_the_postgres_benchmark_produces_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_url()  # skipped without a server (a failure in CI)
    monkeypatch.chdir(tmp_path)
    appending, recovered, doubles = postgres.run(quick=True)
    for figure in (appending, recovered):
        assert figure.value > 0
        assert figure.baseline > 0
    assert doubles.value == 0
