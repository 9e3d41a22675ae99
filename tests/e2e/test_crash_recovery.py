"""Crash injection with real processes on real loopback: `cxpreview run` dies (SIGKILL, no
cleanup) at every boundary, then `cxpreview supervise --once` finishes the campaign.

After each: the campaign is active, CXone's campaign advanced by exactly one version, exactly
one launch webhook exists, no outcome is recorded twice, and the journal verifies.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.simulator import Dataset, Simulator, SimulatorServer
from engine import Engine, fold, verify
from journal import SQLiteJournal, open_journal, parse_utc_text
from tests.conftest import EXAMPLE_SPEC
from tests.postgres import fresh_schema

CXPREVIEW = str(Path(sys.executable).with_name("cxpreview"))
OUTCOMES = (
    "validation.passed",
    "validation.failed",
    "filter.completed",
    "filter.failed",
    "activation.succeeded",
    "activation.conflicted",
    "activation.failed",
    "rebase.completed",
    "rebase.failed",
    "webhook.registered",
    "webhook.failed",
)
CRASH_POINTS = [
    "after-validation-intent",
    "after-validation-response",
    "after-filter-intent",
    "mid-contacts",
    "after-filter-response",
    "after-activation-intent",
    "after-activation-response",
    "after-activation-outcome",
    "after-webhook-intent",
    "after-webhook-response",
]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(Dataset(seed=5, contacts=2500, suppressions=250))
    with SimulatorServer(sim) as server:
        yield sim, server.base_url


def env_for(base_url: str, crash_at: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "CXONE_BASE_URL": base_url,
        "CXONE_CLIENT_ID": "cxpreview",
        "CXONE_CLIENT_SECRET": "simulated-secret",
    }
    env.pop("CXPREVIEW_CRASH_AT", None)
    if crash_at:
        env["CXPREVIEW_CRASH_AT"] = crash_at
    return env


def spec_for(tmp_path: Path, sim: Simulator, tag: str) -> Path:
    """The example spec on a remote campaign and webhook of its own."""
    sim.add_campaign(f"cmp-{tag}", version=4)
    text = (
        EXAMPLE_SPEC.read_text()
        .replace('campaign_id = "cmp-1001"', f'campaign_id = "cmp-{tag}"')
        .replace('name = "preview-launch"', f'name = "launch-{tag}"')
        # Every campaign this module activates stays active in the simulator.
        .replace("max_concurrent_previews = 5 ", "max_concurrent_previews = 1000 ")
    )
    path = tmp_path / f"{tag}.toml"
    path.write_text(text)
    return path


def cli(db: Path | str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``cxpreview --db DB ARGS…`` as a process, its output captured."""
    return subprocess.run(
        [CXPREVIEW, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def supervise(db: Path | str, base_url: str) -> subprocess.CompletedProcess[str]:
    done = cli(db, env_for(base_url), "supervise", "--once", "--owner", "sup")
    assert done.returncode == 0, done.stderr
    return done


def assert_finished_once(db: Path | str, sim: Simulator, tag: str) -> None:
    with open_journal(str(db)) as journal:
        ((campaign_id, _),) = list(journal.streams())
        history = journal.read_stream(campaign_id)
        state = fold(campaign_id, [h.event for h in history])
        assert state.state == "active", state
        assert state.webhook_id is not None
        outcomes = Counter(getattr(h.event, "step_id", None) for h in history if h.type in OUTCOMES)
        assert max(outcomes.values()) == 1, "an outcome was recorded twice"
        assert verify(journal).ok
    assert sim.campaigns[f"cmp-{tag}"]["version"] == 5, "exactly one version advanced"
    assert len(sim.applied_puts(f"cmp-{tag}")) == 1
    assert sum(w["name"] == f"launch-{tag}" for w in sim.webhooks.values()) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the journal of one test is: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "postgresql":
        with fresh_schema() as url:
            yield url
    else:
        yield str(tmp_path / "j.db")


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_run_killed_at_a_boundary_is_finished_by_the_supervisor(
    served: tuple[Simulator, str], tmp_path: Path, point: str, db: str
) -> None:
    sim, base_url = served
    tag = f"crash-{point}-{'pg' if db.startswith('postgresql') else 'file'}"
    spec = spec_for(tmp_path, sim, tag)
    died = cli(db, env_for(base_url, point), "run", str(spec))
    assert died.returncode == -signal.SIGKILL, died.stderr
    report = supervise(db, base_url)
    assert "-> active  finished" in report.stdout
    assert_finished_once(db, sim, tag)
    if point == "after-activation-response":
        assert "reconciled" in report.stderr, "the PUT that landed was recognised, not redone"


def test_twenty_random_kills(served: tuple[Simulator, str], tmp_path: Path) -> None:
    sim, base_url = served
    rng = random.Random(20261129)
    finished = 0
    for i in range(20):
        tag = f"random-{i}"
        spec, db = spec_for(tmp_path, sim, tag), tmp_path / f"{tag}.db"
        run = subprocess.Popen(
            [CXPREVIEW, "--db", str(db), "run", str(spec)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env_for(base_url),
        )
        try:
            run.wait(timeout=rng.uniform(0.4, 2.5))  # the moment of the kill, at random
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=30)
        with SQLiteJournal(db) as journal:
            drafted = journal.last_seq() > 0
        if not drafted:  # killed before the draft committed: there is nothing to finish
            assert sim.applied_puts(f"cmp-{tag}") == []
            continue
        supervise(db, base_url)
        assert_finished_once(db, sim, tag)
        finished += 1
    assert finished >= 10, "most kills landed after the draft"


def test_an_edit_elsewhere_to_a_field_we_do_not_set_merges(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    tag = "edit-merge"
    spec, db = spec_for(tmp_path, sim, tag), tmp_path / "j.db"
    sim.faults.add("put_campaign", "concurrent_edit", field="schedule")
    done = cli(db, env_for(base_url), "run", str(spec))
    assert done.returncode == 0, done.stderr
    remote = sim.campaigns[f"cmp-{tag}"]
    assert remote["schedule"] == "edited elsewhere", "their change survived"
    assert remote["name"] == "Spring renewals - west", "ours landed"
    assert remote["version"] == 6
    with SQLiteJournal(db) as journal:
        types = [e.type for e in journal.read_all()]
    assert types.count("activation.conflicted") == 1
    assert "rebase.completed" in types


def test_an_edit_elsewhere_to_a_field_we_set_stops_with_the_diff(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    tag = "edit-clash"
    spec, db = spec_for(tmp_path, sim, tag), tmp_path / "j.db"
    sim.faults.add("put_campaign", "concurrent_edit", field="name")
    done = cli(db, env_for(base_url), "run", str(spec))
    assert done.returncode == 1
    assert ": conflicted" in done.stdout
    assert sim.campaigns[f"cmp-{tag}"]["name"] == f"Campaign cmp-{tag} (edited)", "not overwritten"
    assert sim.applied_puts(f"cmp-{tag}") == []
    with SQLiteJournal(db) as journal:
        ((campaign_id, _),) = list(journal.streams())
        engine = Engine(journal)
        state = engine.load(campaign_id)
        assert [p.path for p in state.problems] == ["name"]
    assert supervise(db, base_url).stdout == "", "a conflict with a diff waits for a person"


def test_an_operator_resolves_a_clash_by_taking_theirs(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    tag = "resolve-theirs"
    spec, db = spec_for(tmp_path, sim, tag), tmp_path / "j.db"
    sim.faults.add("put_campaign", "concurrent_edit", field="name")
    done = cli(db, env_for(base_url), "run", str(spec))
    assert "choose: cxpreview resolve" in done.stdout
    campaign_id = done.stdout.split()[1]
    resolved = cli(db, env_for(base_url), "resolve", campaign_id, "--take-theirs")
    assert resolved.returncode == 0, resolved.stderr
    remote = sim.campaigns[f"cmp-{tag}"]
    assert remote["name"] == f"Campaign cmp-{tag} (edited)", "their name kept"
    assert remote["dialingRules"]["maxAttempts"] == 3, "the rest of ours applied"
    assert remote["version"] == 6


def test_sigterm_lets_the_supervisor_finish_its_step_and_release_its_lease(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    db = tmp_path / "j.db"
    for n in range(3):  # three runs that died after their validation intents
        spec = spec_for(tmp_path, sim, f"term-{n}")
        died = cli(db, env_for(base_url, "after-validation-intent"), "run", str(spec))
        assert died.returncode == -signal.SIGKILL
    sim.faults.add("campaign", "latency", seconds=0.5, times=50)  # every validation is slow
    supervisor = subprocess.Popen(
        [CXPREVIEW, "--db", str(db), "supervise", "--interval", "0.2", "--owner", "term"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env_for(base_url),
    )
    assert supervisor.stderr is not None
    for line in supervisor.stderr:  # wait until it is in the middle of a campaign
        if "resuming campaign" in line:
            break
    supervisor.send_signal(signal.SIGTERM)
    _, rest = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, rest
    with SQLiteJournal(db) as journal:
        assert verify(journal).ok
        for campaign_id, _ in journal.streams():  # the dead runs' leases it did not reach stay
            lease = journal.current_lease(f"campaign:{campaign_id}")
            assert lease is None or lease.owner.startswith("run:"), "its own are released"
        states = [fold(c, journal.read_events(c)) for c, _ in journal.streams()]
    finished_step = [s for s in states if s.pending is None]
    assert finished_step, "the step in hand was finished, its outcome written"
    assert not any(s.state == "active" for s in states[1:]), "it stopped without starting more"


def test_recovery_killed_mid_way_recovers_again_to_the_same_end(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, base_url = served
    tag = "twice"
    spec, db = spec_for(tmp_path, sim, tag), tmp_path / "j.db"
    died = cli(db, env_for(base_url, "after-activation-intent"), "run", str(spec))
    assert died.returncode == -signal.SIGKILL
    # The supervisor dies too, just after its re-PUT landed and before it wrote the outcome.
    again = cli(
        db,
        env_for(base_url, "after-activation-response"),
        "supervise",
        "--once",
        "--lease-ttl",
        "4",
    )
    assert again.returncode == -signal.SIGKILL
    assert len(sim.applied_puts(f"cmp-{tag}")) == 1
    with SQLiteJournal(db) as journal:
        ((campaign_id, _),) = list(journal.streams())
        lease = journal.current_lease(f"campaign:{campaign_id}")
    assert lease is not None, "the dead supervisor's lease outlives it"
    # (That a live lease is respected is tested in process, on a clock the test moves.)
    # Its lease runs out by itself: wait for the moment it says, no longer.
    time.sleep(max(0.0, (parse_utc_text(lease.expires_at) - datetime.now(UTC)).total_seconds()))
    report = supervise(db, base_url)
    assert "reconciled" in report.stderr
    assert_finished_once(db, sim, tag)


# --- the ACD dialect: the same kills, against NICE CXone's own API -------------------------

ACD_SPEC = EXAMPLE_SPEC.parent / "acd.toml"
ACD_POINTS = [  # the dialect has no webhook; it uploads a calling list and starts the skill
    *(p for p in CRASH_POINTS if "webhook" not in p),
    "after-upload-intent",
    "after-upload-list-made",
    "after-upload-sent",
    "after-upload-response",
    "after-dialing-intent",
    "after-dialing-response",
]


def acd_env(base_url: str, crash_at: str | None = None) -> dict[str, str]:
    from adapters.simulator.acd import ACCESS_KEY_ID, ACCESS_KEY_SECRET  # noqa: PLC0415

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXONE_", "CXPREVIEW_CRASH"))}
    env |= {
        "CXONE_AUTH_URL": base_url,
        "CXONE_DISCOVERY_URL": base_url,
        "CXONE_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "CXONE_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "CXONE_UPLOAD_POLL_SECONDS": "0.05",
    }
    if crash_at:
        env["CXPREVIEW_CRASH_AT"] = crash_at
    return env


@pytest.mark.parametrize("point", ACD_POINTS)
def test_an_acd_run_killed_at_a_boundary_is_finished_by_the_supervisor(
    served: tuple[Simulator, str], tmp_path: Path, point: str
) -> None:
    sim, base_url = served
    skill = 40000 + ACD_POINTS.index(point)
    sim.acd.add_skill(skill)
    spec = tmp_path / "acd.toml"
    spec.write_text(
        ACD_SPEC.read_text()
        .replace('campaign_id = "1001"', f'campaign_id = "{skill}"')
        .replace("max_concurrent_previews = 5 ", "max_concurrent_previews = 1000 ")
    )
    db = tmp_path / "j.db"
    died = cli(db, acd_env(base_url, point), "run", str(spec))
    assert died.returncode == -signal.SIGKILL, died.stderr
    done = cli(db, acd_env(base_url), "supervise", "--once", "--owner", "sup")
    assert done.returncode == 0, done.stderr
    assert "-> active  finished" in done.stdout
    with open_journal(str(db)) as journal:
        ((campaign_id, _),) = list(journal.streams())
        history = journal.read_stream(campaign_id)
        state = fold(campaign_id, [h.event for h in history])
        assert state.state == "active", state
        outcomes = Counter(getattr(h.event, "step_id", None) for h in history if h.type in OUTCOMES)
        assert max(outcomes.values()) == 1, "an outcome was recorded twice"
        assert verify(journal).ok
    assert sim.acd.retry_settings[skill]["maximumAttempts"] == 3
    assert len(sim.acd.applied_writes(skill)) == 1, "the skill was written exactly once"
    assert sim.acd.starts(skill) == 1, "and started exactly once"
    assert len(sim.acd.uploads(skill)) == 1, "its calling list uploaded exactly once"
    (made,) = sim.acd.lists_named(f" skill {skill} ")
    assert len(made["records"]) == state.eligible, "holding every eligible contact"
    assert state.dialing_started
    if point == "after-activation-response":
        assert "reconciled" in done.stderr, "the write that landed was recognised, not redone"
