"""The ACD dialect's gateway against the simulator's ACD routes: an access key for a token, the
API found from the token's tenant, skip/top paging, error and batch-reply shapes, 429s, a
skill's retry settings read and written by content, DNC groups and calling lists, and the
engine driving a skill from validation to active. In process, and once over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.cxone import HttpCXoneGateway, RetryPolicy, Secret
from adapters.cxone.acd import AccessKey, AcdGateway, AcdSettings, jwt_claims, revision_of
from adapters.simulator import Dataset, Simulator, SimulatorServer
from adapters.simulator.acd import ACCESS_KEY_ID, ACCESS_KEY_SECRET, PREFIX, TENANT
from adapters.simulator.inprocess import InProcessTransport
from engine import (
    AuthError,
    BadResponse,
    Engine,
    EngineError,
    RemoteConflict,
    RemoteRejected,
    Supervisor,
    load_spec,
)
from engine.ports import DialectGateways
from engine.spec import CampaignSpec
from journal import ManualClock, SQLiteJournal
from tests.adapters.conftest import make_gateway
from tests.conftest import RecordedTime, for_campaign, sequential_ids

KEY = AccessKey(ACCESS_KEY_ID, Secret(ACCESS_KEY_SECRET))
HOST = "https://cxone.test"


def make_acd(sim: Simulator, time_: RecordedTime, key: AccessKey = KEY) -> AcdGateway:
    policy = RetryPolicy(deadline=30.0, sleep=time_.sleep, clock=time_.clock, jitter=lambda: 0.5)
    client = httpx.Client(transport=InProcessTransport(sim.app))
    settings = AcdSettings(auth_url=HOST, discovery_url=HOST)
    gateway = AcdGateway(key, settings, client=client, policy=policy)
    gateway._owns_client = True
    return gateway


@pytest.fixture
def sim(time_: RecordedTime) -> Simulator:
    return Simulator(Dataset(seed=7, contacts=1200, suppressions=300), clock=time_.clock)


@pytest.fixture
def acd(sim: Simulator, time_: RecordedTime) -> Iterator[AcdGateway]:
    gateway = make_acd(sim, time_)
    yield gateway
    gateway.close()


def routes(sim: Simulator) -> list[str]:
    return [e["route"] for e in sim.log]


def test_an_access_key_buys_a_token_and_the_tenant_names_the_api(
    acd: AcdGateway, sim: Simulator
) -> None:
    assert acd.count_active_previews() == 2  # the running Personal Connection skills
    assert acd.tenant_id == TENANT, "read from the id_token's claims"
    assert routes(sim)[:3] == ["acd_token", "acd_discovery", "acd_skills"]
    acd.read_campaign("1001")
    assert routes(sim).count("acd_token") == routes(sim).count("acd_discovery") == 1


def test_listings_page_with_skip_and_top_over_every_page(acd: AcdGateway, sim: Simulator) -> None:
    for n in range(250):
        sim.acd.add_skill(20000 + n, running=n % 2 == 0)
    assert acd.count_active_previews() == 2 + 125
    pages = [(e["skip"], e["top"]) for e in sim.log if e["route"] == "acd_skills"]
    assert pages == [(0, 100), (100, 100), (200, 100)], "top never above the API's 100"
    numbers = list(acd.iter_suppressed_numbers())
    assert len(numbers) == 300
    assert all(n.isdigit() for n in numbers), "DNC numbers as the API gives them"
    contacts = list(acd.iter_contacts("cl-2001"))
    assert len(contacts) == 1200
    assert len({c.id for c in contacts}) == 1200
    assert contacts[0].id == "ct-0000000"
    assert "region" in contacts[0].fields


def test_a_skills_retry_settings_are_written_against_the_revision_read(
    acd: AcdGateway, sim: Simulator
) -> None:
    before = acd.read_campaign("1001")
    assert before.version == revision_of(before.config)
    assert before.status == "stopped"
    config = {"retrySettings": {"maximumAttempts": 3}}
    after = acd.put_preview_config("1001", config, before.version)
    assert sim.acd.retry_settings[1001] == {"maximumAttempts": 3, "minimumRetryMinutes": 60}
    assert after.version == acd.read_campaign("1001").version != before.version
    with pytest.raises(RemoteConflict) as stale:  # the revision moved on: no If-Match here
        acd.put_preview_config("1001", {"retrySettings": {"maximumAttempts": 4}}, before.version)
    assert stale.value.remote_version == after.version
    sim.acd.edit_retry_settings(1001, minimumRetryMinutes=90)  # a field that is not ours
    assert acd.read_campaign("1001").version == after.version, "not ours: not in the revision"
    sim.acd.edit_retry_settings(1001, maximumAttempts=7)  # ours, by someone else in CXone's UI
    with pytest.raises(RemoteConflict):
        acd.put_preview_config("1001", config, after.version)
    assert sim.acd.retry_settings[1001] == {"maximumAttempts": 7, "minimumRetryMinutes": 90}


def test_errors_come_back_in_cxones_words(acd: AcdGateway, sim: Simulator) -> None:
    with pytest.raises(RemoteRejected, match="skill 4242 not found") as missing:
        acd.read_campaign("4242")
    assert missing.value.status == 404
    with pytest.raises(RemoteRejected, match="not an outbound Personal Connection skill"):
        acd.read_campaign("500")
    with pytest.raises(RemoteRejected, match="maximumAttempts must be 1 to 300"):
        acd.put_preview_config(
            "1001", {"retrySettings": {"maximumAttempts": 999}}, acd.read_campaign("1001").version
        )


def test_a_skill_is_started_once_and_a_running_one_is_left_be(
    acd: AcdGateway, sim: Simulator
) -> None:
    assert acd.start_dialing("1001") is False
    assert acd.start_dialing("1001") is True, "asked again: it runs already"
    assert sim.acd.starts(1001) == 1
    assert [e["route"] for e in sim.log].count("acd_start_skill") == 1
    with pytest.raises(RemoteRejected, match="not an outbound Personal Connection skill"):
        acd.start_dialing("500")


def test_a_200_whose_item_says_success_false_is_a_refusal(acd: AcdGateway, sim: Simulator) -> None:
    revision = acd.read_campaign("1001").version
    sim.faults.add("acd_put_retry_settings", "refuse_items")
    with pytest.raises(RemoteRejected, match="CXone refused it: simulated refusal"):
        acd.put_preview_config("1001", {"retrySettings": {"maximumAttempts": 2}}, revision)


def test_a_wrong_access_key_is_an_auth_error_that_never_shows_the_secret(
    sim: Simulator, time_: RecordedTime
) -> None:
    wrong = AccessKey(ACCESS_KEY_ID, Secret("not-the-secret-at-all"))
    gateway = make_acd(sim, time_, wrong)
    with pytest.raises(AuthError) as refused:
        gateway.count_active_previews()
    assert ACCESS_KEY_ID in str(refused.value)
    assert "the access key was not accepted" in str(refused.value)
    assert "not-the-secret-at-all" not in str(refused.value)
    assert "not-the-secret-at-all" not in repr(wrong)
    gateway.close()


def test_a_429_is_waited_out_and_retried(
    acd: AcdGateway, sim: Simulator, time_: RecordedTime
) -> None:
    sim.faults.add("acd_skills", "rate_limit", times=2, seconds=3)
    assert acd.count_active_previews() == 2
    assert [e["status"] for e in sim.log if e["route"] == "acd_skills"] == [429, 429, 200]
    assert sum(time_.sleeps) >= 6


def test_the_api_wants_accept_json_and_the_gateway_always_sends_it(
    acd: AcdGateway, sim: Simulator
) -> None:
    acd.count_active_previews()
    token = sim.issued_tokens[-1]
    with httpx.Client(transport=InProcessTransport(sim.app)) as raw:
        bare = raw.get(
            f"{HOST}{PREFIX}/skills", headers={"Authorization": f"Bearer {token}", "Accept": ""}
        )
        assert bare.status_code == 406
        assert bare.json() == {"message": "No known way to render data"}
        too_many = raw.get(
            f"{HOST}{PREFIX}/skills",
            params={"top": 500},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        assert too_many.status_code == 400
        assert too_many.json()["error"] == "InvalidParameter"


def test_a_listing_that_changes_while_read_is_refused(acd: AcdGateway, sim: Simulator) -> None:
    for n in range(150):
        sim.acd.add_skill(30000 + n)
    pages = acd._listing("skills", "skills", "list skills")
    first = [next(pages) for _ in range(100)]
    assert len(first) == 100
    for n in range(100):  # deleted meanwhile: the second page comes back short
        sim.acd.skills.pop(30000 + n)
    with pytest.raises(BadResponse, match="changed while it was read"):
        list(pages)


def test_token_claims_are_read_without_trusting_them() -> None:
    assert jwt_claims("a.eyJ0ZW5hbnRJZCI6InQxIn0.s") == {"tenantId": "t1"}
    for junk in ("", "abc", "a.b.c", "a.W10.c", "a.!!!.c"):
        assert jwt_claims(junk) == {}


def test_settings_come_from_the_environment_and_name_what_is_missing() -> None:
    env = {"CXONE_ACCESS_KEY_ID": "K1", "CXONE_ACCESS_KEY_SECRET": "s3cr3t-value"}
    assert AccessKey.from_env(env).key_id == "K1"
    with pytest.raises(ValueError, match="CXONE_ACCESS_KEY_SECRET"):
        AccessKey.from_env({"CXONE_ACCESS_KEY_ID": "K1"})
    settings = AcdSettings.from_env({"CXONE_API_BASE": "https://api-c1.example.com"})
    assert settings.api_base == "https://api-c1.example.com"
    assert settings.auth_url == "https://cxone.niceincontact.com"


ACD_SPEC = Path(__file__).resolve().parent.parent.parent / "examples" / "acd.toml"


def test_the_engine_takes_a_skill_from_spec_to_active(
    acd: AcdGateway, sim: Simulator, tmp_path: Path, clock: ManualClock
) -> None:
    spec = load_spec(ACD_SPEC)
    assert (spec.dialect, spec.webhook, spec.campaign_id) == ("cxone", None, "1001")
    journal = SQLiteJournal(tmp_path / "acd.db", clock=clock)
    engine = Engine(journal, acd, clock=clock, ids=sequential_ids())
    c = engine.draft(spec, run=True).run()
    assert c.state == "active", c.last_error
    assert c.webhook_id is None
    assert c.dialing_started, "the skill dials: started as a step of its own"
    assert sim.acd.skills[1001]["isRunning"] is True
    assert sim.acd.starts(1001) == 1
    types = [h.type for h in engine.history(c.id)]
    assert types[-3:] == ["activation.succeeded", "dialing.requested", "dialing.started"]
    assert sim.acd.retry_settings[1001]["maximumAttempts"] == spec.dialing_rules.max_attempts
    assert isinstance(c.active_version, str), "a digest of the fields we manage"
    assert not Supervisor(engine, "sup").candidates(), "nothing left to finish: no webhook owed"
    journal.close()


def test_a_gateway_never_serves_a_campaign_of_the_other_dialect(
    acd: AcdGateway, sim: Simulator, spec: CampaignSpec, tmp_path: Path, clock: ManualClock
) -> None:
    journal = SQLiteJournal(tmp_path / "mixed.db", clock=clock)
    engine = Engine(journal, acd, clock=clock, ids=sequential_ids())
    c = engine.draft(spec)  # the tutorial's dialect
    before = len(sim.log)
    with pytest.raises(EngineError, match=r"speaks the tutorial dialect, but .* speaks cxone"):
        c.validate()
    assert len(sim.log) == before, "nothing was sent"
    assert engine.get(c.id).pending is None, "and no intent was left open"
    journal.close()


def test_one_engine_runs_both_dialects_each_on_its_own_api(
    sim: Simulator, time_: RecordedTime, spec: CampaignSpec, tmp_path: Path, clock: ManualClock
) -> None:
    made: list[str] = []

    def tutorial() -> HttpCXoneGateway:
        made.append("tutorial")
        return make_gateway(sim, time_)

    def cxone() -> AcdGateway:
        made.append("cxone")
        return make_acd(sim, time_)

    gateways = DialectGateways({"tutorial": tutorial, "cxone": cxone})
    journal = SQLiteJournal(tmp_path / "both.db", clock=clock)
    engine = Engine(journal, gateways, clock=clock, ids=sequential_ids())
    ours = engine.draft(for_campaign(spec, "cmp-1001"), run=True).run()
    assert made == ["tutorial"], "a dialect's gateway is made when first needed"
    skill = engine.draft(load_spec(ACD_SPEC), run=True).run()
    assert (ours.state, skill.state) == ("active", "active")
    assert made == ["tutorial", "cxone"]
    assert sim.campaigns["cmp-1001"]["dialingRules"]["maxAttempts"] == 3
    assert sim.acd.retry_settings[1001]["maximumAttempts"] == 3
    assert (ours.dialing_started, skill.dialing_started) == (False, True), "cxone only"
    for gateway in gateways.made():
        gateway.close()
    journal.close()


def test_over_real_http_the_discovered_api_is_the_servers_own_address() -> None:
    sim = Simulator(Dataset(contacts=10, suppressions=3))
    with SimulatorServer(sim) as server:
        settings = AcdSettings(auth_url=server.base_url, discovery_url=server.base_url)
        with AcdGateway(KEY, settings) as gateway:
            assert gateway.count_active_previews() == 2
            assert gateway._root == f"{server.base_url}{PREFIX}"
            assert len(list(gateway.iter_suppressed_numbers())) == 3
