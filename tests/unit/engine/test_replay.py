"""Replaying a whole journal: the same states as folding each campaign, the GC left as found."""

from __future__ import annotations

import gc

from engine import Engine, fold, replay_all
from engine.replay import gc_paused
from engine.spec import CampaignSpec
from tests.conftest import for_campaign


def test_replay_all_equals_folding_each_campaign(engine: Engine, spec: CampaignSpec) -> None:
    ids = [engine.draft(for_campaign(spec, f"cmp-100{n}")).id for n in (1, 2, 3)]
    engine.run(ids[0])
    engine.validate(ids[2])
    states = replay_all(engine.journal)
    assert list(states) == ids
    for cid in ids:
        assert states[cid] == fold(cid, engine.journal.read_events(cid))
    assert replay_all(engine.journal, after_seq=engine.journal.last_seq()) == {}


def test_the_collector_is_restored_as_it_was() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
