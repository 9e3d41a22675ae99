"""The ACD dialect's gateway against the simulator's ACD routes: an access key for a token, the
API found from the token's tenant, skip/top paging, error and batch-reply shapes, 429s, a
skill's retry settings read and written by content, DNC groups and calling lists, and the
engine driving a skill from validation to active. In process, and once over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
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
    CampaignState,
    Engine,
    EngineError,
    InvalidTransition,
    RemoteConflict,
    RemoteRejected,
    RemoteUnavailable,
    Supervisor,
    load_spec,
)
from engine.pipeline import _uploaded
from engine.ports import DialectGateways
from engine.spec import CampaignSpec
from events import UploadFailed
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
    at = types.index("filter.completed")
    assert types[at + 1 : at + 4] == [
        "upload.requested",
        "contacts.uploaded",
        "activation.requested",
    ], "the calling list is uploaded before the skill is configured"
    ((upload,),) = [[h.event for h in engine.history(c.id) if h.type == "contacts.uploaded"]]
    (made,) = sim.acd.lists_named(f"cxpreview {c.id} skill 1001 ")
    assert (upload.list_id, upload.records, upload.found) == (
        str(made["listId"]),
        c.eligible,
        False,
    )
    assert len(sim.acd.uploads(1001)) == 1
    assert [str(j["jobId"]) for j in sim.acd.jobs.values()] == [upload.job_id]
    eligible = journal.get_blob(c.eligible_digest).decode().splitlines()
    assert [f"{r['externalId']}\t{r['phoneNumber']}" for r in made["records"]] == eligible
    assert routes(sim).count("acd_upload_job") == 2, "the job was followed until it completed"
    assert c.uploaded_digest == c.eligible_digest
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


@pytest.fixture
def engine(acd: AcdGateway, tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    """An engine over the ACD gateway and a journal file of its own."""
    journal = SQLiteJournal(tmp_path / "acd.db", clock=clock)
    yield Engine(journal, acd, clock=clock, ids=sequential_ids())
    journal.close()


def skill_state(engine: Engine, skill: str = "1001") -> CampaignState:
    """A campaign of the ACD example spec, validated and filtered."""
    spec = load_spec(ACD_SPEC)
    if skill != "1001":
        spec = CampaignSpec.from_dict({**spec.to_dict(), "campaign_id": skill})
    c = engine.draft(spec).validate().filter()
    assert c.state == "filtered", c.last_error
    return c.snapshot


def test_an_acd_skill_is_not_configured_before_its_calling_list_is_uploaded(
    acd: AcdGateway, sim: Simulator, engine: Engine
) -> None:
    s = skill_state(engine)
    with pytest.raises(InvalidTransition, match="cannot activate; allowed: run \\(uploads"):
        engine.activate(s.id)
    assert engine.get(s.id).allowed == ("upload_contacts", "revise", "cancel")
    assert not sim.acd.applied_writes(1001), "nothing was written to the skill"
    uploaded = engine.get(s.id).upload_contacts()
    assert uploaded.state == "filtered"
    assert "activate" in uploaded.allowed
    assert uploaded.activate().state == "active"


def test_an_upload_asked_for_again_finds_the_list_and_the_job_it_made(
    acd: AcdGateway, sim: Simulator
) -> None:
    eligible = b"c1\t+14155550101\nc2\t+14155550102\n"
    first = acd.upload_contacts("1001", "cxpreview x skill 1001 ab", eligible)
    again = acd.upload_contacts("1001", "cxpreview x skill 1001 ab", eligible)
    assert (first.found, again.found) == (False, True)
    assert (again.list_id, again.job_id, again.records) == (first.list_id, first.job_id, 2)
    assert len(sim.acd.uploads(1001)) == 1, "uploaded once"
    assert len(sim.acd.lists_named("cxpreview x")) == 1, "one list made"


def test_an_upload_sent_again_when_its_job_is_no_longer_listed_replaces_the_records(
    acd: AcdGateway, sim: Simulator
) -> None:
    eligible = b"c1\t+14155550101\nc2\t+14155550102\n"
    first = acd.upload_contacts("1001", "cxpreview v skill 1001 aa", eligible)
    sim.acd.jobs.clear()  # CXone no longer lists the earlier job
    again = acd.upload_contacts("1001", "cxpreview v skill 1001 aa", eligible)
    assert (again.list_id, again.found, again.records) == (first.list_id, False, 2)
    (made,) = sim.acd.lists_named("cxpreview v")
    assert len(made["records"]) == 2, "the records replaced, not doubled"


def test_a_list_made_by_an_attempt_that_died_before_uploading_is_uploaded_to(
    acd: AcdGateway, sim: Simulator
) -> None:
    made = acd._make_list("cxpreview y skill 1001 cd")  # an attempt that died right here
    ref = acd.upload_contacts("1001", "cxpreview y skill 1001 cd", b"c1\t+14155550101\n")
    assert (ref.list_id, ref.found, ref.records) == (made, False, 1)
    assert len(sim.acd.lists_named("cxpreview y")) == 1


def test_an_upload_job_cancelled_in_cxone_is_a_refusal_and_the_step_fails(
    acd: AcdGateway, sim: Simulator, engine: Engine
) -> None:
    s = skill_state(engine)
    sim.acd.cancel_jobs = 1  # someone cancels the upload in CXone
    c = engine.get(s.id).upload_contacts()
    assert c.state == "filtered"
    assert c.uploaded_digest is None
    assert "the upload job was cancelled in CXone" in (c.last_error or "")
    failed = engine.history(s.id)[-1].event
    assert isinstance(failed, UploadFailed)
    assert not failed.retryable


def test_an_upload_job_that_never_completes_is_retryable_and_followed_again(
    acd: AcdGateway, sim: Simulator, time_: RecordedTime
) -> None:
    acd.settings = attrs.evolve(acd.settings, upload_wait_seconds=10.0, upload_poll_seconds=2.0)
    sim.acd.job_polls = 1_000
    with pytest.raises(RemoteUnavailable, match="not complete after 10 s"):
        acd.upload_contacts("1001", "cxpreview z skill 1001 ef", b"c1\t+14155550101\n")
    assert time_.sleeps.count(2.0) == 5, "asked every poll interval until the wait ran out"
    sim.acd.job_polls = 0
    ref = acd.upload_contacts("1001", "cxpreview z skill 1001 ef", b"c1\t+14155550101\n")
    assert ref.found, "the next attempt follows the same job"
    assert len(sim.acd.uploads(1001)) == 1


def test_a_list_that_took_fewer_records_than_were_eligible_fails_the_upload(
    acd: AcdGateway, sim: Simulator, engine: Engine
) -> None:
    ref = acd.upload_contacts("1001", "cxpreview w skill 1001 01", b"c1\t+14155550101\nc2\tx\n")
    assert ref.records == 1, "the list's valid records, as CXone counts them"
    s = skill_state(engine)
    outcome = _uploaded(engine.steps, s, "u1", attrs.evolve(ref, records=s.eligible - 1), 3.0)
    assert isinstance(outcome, UploadFailed)
    assert not outcome.retryable
    assert f"took {s.eligible - 1:,} records of the {s.eligible:,} eligible" in outcome.reason
