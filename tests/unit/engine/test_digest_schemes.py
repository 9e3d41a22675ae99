"""State digests are versioned: each scheme names the fields it covers, digests recorded under
any known scheme verify, a field added to the state needs a new scheme, and a digest of a
scheme this release does not know is named, not misread."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Engine, verify
from engine.aggregate import (
    DIGEST_SCHEME,
    DIGEST_SCHEMES,
    CampaignState,
    _layout,
    _plain_state,
    digest_mismatch,
    digest_scheme,
    state_digest,
    steps,
)
from engine.spec import CampaignSpec
from events import CampaignDrafted, RunRequested, canonical_json, content_digest, value_json
from journal import InMemoryJournal
from tests.strategies import instances


def test_the_current_scheme_covers_every_field_of_the_state() -> None:
    by_digest = {"spec", "remote_config", "config"}
    fields = {a.name for a in attrs.fields(CampaignState)}
    assert set(DIGEST_SCHEMES[DIGEST_SCHEME]) | by_digest == fields, (
        "a field added to CampaignState goes into a new digest scheme (engine/aggregate.py)"
    )


def test_scheme_one_is_the_digest_every_earlier_release_recorded(spec: CampaignSpec) -> None:
    s = steps(CampaignState("c1", 0, "", "", {}), [CampaignDrafted(spec.to_dict())])[-1]
    old = state_digest(s, 1)
    assert old.startswith("sha256:")
    assert digest_scheme(old) == 1
    assert digest_mismatch(s, old) is None, "recorded by an earlier release: still verifies"


def test_scheme_two_covers_whether_dialing_started(spec: CampaignSpec) -> None:
    s = steps(CampaignState("c1", 0, "", "", {}), [CampaignDrafted(spec.to_dict())])[-1]
    assert state_digest(s, 2).startswith("d2:sha256:")
    assert digest_mismatch(s, state_digest(s, 2)) is None, "recorded by the release before"
    assert DIGEST_SCHEMES[2] == (*DIGEST_SCHEMES[1], "dialing_started")
    started = attrs.evolve(s, dialing_started=True)
    assert state_digest(started, 2) != state_digest(s, 2), "the field is covered"
    assert state_digest(started, 1) == state_digest(s, 1), "scheme 1 never saw it"


def test_this_release_records_scheme_three_which_covers_the_uploaded_set(
    spec: CampaignSpec,
) -> None:
    s = steps(CampaignState("c1", 0, "", "", {}), [CampaignDrafted(spec.to_dict())])[-1]
    assert DIGEST_SCHEME == 3
    assert s.digest() == state_digest(s, 3)
    assert s.digest().startswith("d3:sha256:")
    assert digest_mismatch(s, s.digest()) is None
    assert DIGEST_SCHEMES[3] == (*DIGEST_SCHEMES[2], "uploaded_digest")
    uploaded = attrs.evolve(s, uploaded_digest="sha256:" + "ab" * 32)
    assert state_digest(uploaded, 3) != s.digest(), "the field is covered"
    assert state_digest(uploaded, 2) == state_digest(s, 2), "scheme 2 never saw it"
    assert state_digest(uploaded, 1) == state_digest(s, 1), "nor scheme 1"


def test_digests_of_several_schemes_verify_side_by_side(
    spec: CampaignSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A later scheme (here: one field fewer, as a stand-in) is recorded as "d2:sha256:...";
    # the events written under scheme 1 before it still verify.
    monkeypatch.setitem(DIGEST_SCHEMES, 2, DIGEST_SCHEMES[1][:-1])  # a stand-in for 2
    journal = InMemoryJournal()
    events = [CampaignDrafted(spec.to_dict()), RunRequested("go")]
    first, second = steps(CampaignState("c1", 0, "", "", {}), events)
    journal.append("c1", events[:1], 0, state_digests=[state_digest(first, 1)])
    journal.append("c1", events[1:], 1, state_digests=[state_digest(second, 2)])
    assert state_digest(second, 2).startswith("d2:sha256:")
    assert digest_scheme(state_digest(second, 2)) == 2
    assert verify(journal).ok
    assert Engine(journal).inspect("c1").version == 2, "a command's read checks both too"


def test_a_digest_of_a_scheme_this_release_does_not_know_is_named(spec: CampaignSpec) -> None:
    journal = InMemoryJournal()
    journal.append(
        "c1", [CampaignDrafted(spec.to_dict())], 0, state_digests=["d9:sha256:" + "0" * 64]
    )
    report = verify(journal)
    assert not report.ok
    assert report.first_bad_seq == 1
    assert "of a scheme this cxpreview does not know (it knows 1, 2, 3)" in str(report.problem)
    assert digest_scheme("md5:abc") is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(state=instances(CampaignState), scheme=st.sampled_from(sorted(DIGEST_SCHEMES)))
def test_the_laid_out_digest_is_the_canonical_json_of_the_state_object(
    state: CampaignState, scheme: int
) -> None:
    # state_digest lays the JSON out itself (generated per scheme) rather than building a
    # dict for canonical_json: byte for byte the same text, or recorded digests stop verifying
    plain = _plain_state(state, scheme)
    assert _layout(DIGEST_SCHEMES[scheme])(state) == canonical_json(plain)
    assert state_digest(state, scheme).endswith(content_digest(plain))


def test_value_json_is_canonical_json_for_every_kind_of_value() -> None:
    values = ["", 'é\n"\\', "\u2028", 0, -5, 2**70, True, False, None, 1.5, (), [], [1, "a"], {}]
    for value in values:
        assert value_json(value) == canonical_json(value), value
