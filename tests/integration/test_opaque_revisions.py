"""The engine with revisions it cannot count: strings, as an ETag is, or a digest of the fields we
manage. Nothing may assume a revision is an integer (one more than the last): activation,
a 412 settled by content, a rebase, recovery by content, replay and verify, and the journal's
codec, which keeps an integer an integer and a string a string."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteCampaign, verify
from engine.spec import CampaignSpec
from events import CODEC, ActivationConflicted, ActivationRequested, EventDecodeError, revision_text
from journal import ManualClock, SQLiteJournal
from tests.conftest import make_contacts, sequential_ids
from tests.drills import interrupt

BASE = 'W/"base-0001"'


@pytest.fixture
def gateway() -> FakeCXoneGateway:
    return FakeCXoneGateway(
        campaigns=[RemoteCampaign("cmp-1001", BASE, "inactive", {"name": "before"})],
        contacts=make_contacts(100),
        suppressed=["+14155550003"],
    )


@pytest.fixture
def engine(tmp_path: Path, gateway: FakeCXoneGateway, clock: ManualClock) -> Engine:
    return Engine(
        SQLiteJournal(tmp_path / "j.db", clock=clock), gateway, clock=clock, ids=sequential_ids()
    )


def puts(gateway: FakeCXoneGateway) -> list[object]:
    return [args[1] for method, args in gateway.calls if method == "put_preview_config"]


def test_a_campaign_activates_against_an_opaque_revision(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter().activate()
    assert c.state == "active"
    assert puts(gateway) == [BASE], "If-Match carried the revision as read, untouched"
    assert c.active_version == gateway.campaigns["cmp-1001"].version != BASE
    assert isinstance(c.active_version, str)
    assert verify(engine.journal).ok
    assert engine.load(c.id).digest() == c.digest(), "replayed, the same state"


def test_someone_elses_edit_conflicts_and_the_rebase_merges_on_their_revision(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway
) -> None:
    c = engine.draft(spec).validate().filter()
    theirs = gateway.edit_remotely("cmp-1001", schedule="weekdays").version
    c.activate()
    assert c.state == "conflicted"
    last = engine.history(c.id)[-1].event
    assert isinstance(last, ActivationConflicted)
    assert (last.expected_version, last.remote_version) == (BASE, theirs)
    c.rebase().activate()
    assert c.state == "active"
    assert puts(gateway) == [BASE, theirs]
    assert gateway.campaigns["cmp-1001"].config["schedule"] == "weekdays", "theirs kept"


@pytest.mark.parametrize("point", ["after-activation-intent", "after-activation-response"])
def test_recovery_settles_an_interrupted_activation_by_content(
    engine: Engine, spec: CampaignSpec, gateway: FakeCXoneGateway, point: str
) -> None:
    cid = interrupt(engine, spec, point)  # the intent journaled; the PUT sent or not
    sent = len(puts(gateway))
    recovered = engine.recover(cid)
    assert recovered.state == "active"
    how = engine.history(cid)[-1].event.how  # type: ignore[attr-defined]
    if point.endswith("response"):  # it reached CXone before the process died
        assert (how, len(puts(gateway))) == ("recovered", sent), "nothing sent again"
    else:  # CXone still at the revision we read: the same PUT, the same If-Match
        assert (how, puts(gateway)[sent:]) == ("put", [BASE])


def test_an_opaque_revision_round_trips_the_codec_as_a_string_and_a_version_as_an_int() -> None:
    for revision in (BASE, 7, "7"):
        event = ActivationRequested("s-1", 1, revision, "sha256:" + "0" * 64)
        _, schema, data = CODEC.encode(event)
        back = CODEC.decode("activation.requested", schema, data)
        assert back == event
        assert type(back.expected_version) is type(revision)  # type: ignore[attr-defined]
    good = CODEC.encode(ActivationRequested("s-1", 1, 3, "d"))[2]
    assert '"expected_version":3' in good
    for bad in ("true", "1.5", "null", "[3]"):
        payload = good.replace('"expected_version":3', f'"expected_version":{bad}')
        wrong = "'expected_version': expected an integer or a string"
        with pytest.raises(EventDecodeError, match=wrong):
            CODEC.decode("activation.requested", 2, payload)


def test_revisions_read_as_people_read_them() -> None:
    assert revision_text(7) == "v7"
    assert revision_text(None) == "unknown"
    assert revision_text('W/"base-0001"') == 'revision W/"base-0001"'
    assert revision_text("sha256:" + "a" * 64).endswith("…")
