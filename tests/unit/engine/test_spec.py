"""Spec files: every problem at once, with its path and line; nothing half-read."""

from __future__ import annotations

import contextlib
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import CampaignSpec, SpecError, load_spec, parse_spec
from engine.spec import Rule
from tests.conftest import EXAMPLE_SPEC
from tests.hardening import report

TEXT = EXAMPLE_SPEC.read_text()


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "t.toml")
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_the_example_loads_and_round_trips() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    assert spec.campaign_id == "cmp-1001"
    assert spec.filter == (Rule("region", "in", ("west", "northwest")), Rule("age", "ge", 21))
    assert spec.constraints.min_eligible == 10
    assert CampaignSpec.from_dict(spec.to_dict()) == spec


def test_every_problem_is_reported_at_once_with_lines() -> None:
    text = (
        TEXT.replace("max_concurrent_previews = 5", "max_concurent_previews = 5")
        .replace("agent_count = 5", 'agent_count = "5"')
        .replace('contact_list_id = "cl-2001"', 'contact_list_id = "cl/../2001"')
        .replace('op = "ge"', 'op = "gte"')
    )
    found = problems(text)
    lines = TEXT.splitlines()
    by_path = {path: (line, message) for line, path, message in found}
    assert set(by_path) == {
        "contact_list_id",
        "filter[1].op",
        "agent_directives[0].agent_count",
        "constraints.max_concurrent_previews",
        "constraints.max_concurent_previews",
    }
    line, message = by_path["constraints.max_concurent_previews"]
    assert "did you mean 'max_concurrent_previews'" in message
    assert line is not None
    assert "max_concurrent_previews" in lines[line - 1]
    line, message = by_path["agent_directives[0].agent_count"]
    assert message == "expected an integer, found a string '5'"
    assert line is not None
    assert "agent_count" in lines[line - 1]
    assert "must be one of eq, ne" in by_path["filter[1].op"][1]


def test_a_syntax_error_names_its_line() -> None:
    ((line, path, message),) = problems('name = "x"\ncampaign_id = \n')
    assert (line, path) == (2, "(file)")
    assert "not valid TOML" in message


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            ("max_attempts = 3", "max_attempts = 99"),
            "dialing_rules.max_attempts",
            "between 1 and 20",
        ),
        (
            ("max_attempts = 3", "max_attempts = 9223372036854775807"),
            "dialing_rules.max_attempts",
            "between 1 and 20",
        ),
        (('default_region = "US"', 'default_region = "XX"'), "default_region", "region"),
        (("https://hooks", "http://hooks"), "webhook.callback_uri", "https://"),
        (("value = 21", "value = nan"), "filter[1].value", "finite"),
        (("value = 21", "value = [1]"), "filter[1].value", "number or a string"),
        (('value = ["west", "northwest"]', "value = []"), "filter[0].value", "non-empty array"),
        (('name = "Spring renewals - west"', 'name = ""'), "name", "1 to 200 characters"),
        (
            ("callback_enabled = true", "callback_enabled = 1"),
            "dialing_rules.callback_enabled",
            "expected true or false",
        ),
    ],
)
def test_values_are_checked(change: tuple[str, str], path: str, message: str) -> None:
    assert change[0] in TEXT
    found = problems(TEXT.replace(*change))
    assert [(p, message in m) for _, p, m in found] == [(path, True)], found


def test_a_missing_section_and_key_are_named() -> None:
    text = TEXT.replace('queue_id = "q-301"\n', "", 1).split("[webhook]")[0]
    found = {path: message for _, path, message in problems(text)}
    assert found == {
        "queue_id": "missing: expected a string",
        "webhook": "missing: expected a table",
    }


def test_plain_http_is_allowed_only_to_loopback() -> None:
    spec = parse_spec(TEXT.replace("https://hooks.example.com", "http://127.0.0.1:8080"))
    assert spec.webhook.callback_uri.startswith("http://127.0.0.1")


def test_an_unreadable_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(tmp_path / "bin.toml")


toml_keys = st.sampled_from(
    [
        "name",
        "campaign_id",
        "filter",
        "constraints",
        "webhook",
        "op",
        "value",
        "max_concurrent_previews",
        "zzz",
        "agent_directives",
    ]
)
toml_values: st.SearchStrategy[Any] = st.recursive(
    st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(toml_keys, inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300)
@given(st.dictionaries(toml_keys, toml_values, max_size=8))
def test_random_documents_give_only_spec_errors(data: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as caught:
        CampaignSpec.from_dict(data)
    assert caught.value.problems
    assert all(p.path for p in caught.value.problems)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_random_text_gives_only_spec_errors(text: str) -> None:
    with contextlib.suppress(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(SpecError):
        parse_spec(text)


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost.evil.example/hook",
        "http://127.0.0.1@evil.example/hook",
        "http://127.0.0.1.evil.example/hook",
        "https://user:pass@hooks.example.com/hook",
        "https://hooks.example.com/a b",
        "ftp://127.0.0.1/hook",
    ],
)
def test_a_callback_uri_is_judged_on_its_parsed_host(uri: str) -> None:
    text = EXAMPLE_SPEC.read_text().replace(
        "https://hooks.example.com/cxone/preview-launch", uri.replace('"', "")
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert [p.path for p in caught.value.problems] == ["webhook.callback_uri"]
    report.record("hostile callback URLs", handled=True)


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8080/hook", "http://[::1]/h", "http://localhost/h"]
)
def test_plain_http_to_a_loopback_receiver_is_allowed(uri: str) -> None:
    text = EXAMPLE_SPEC.read_text().replace("https://hooks.example.com/cxone/preview-launch", uri)
    assert parse_spec(text).webhook.callback_uri == uri


ACD_TEXT = (EXAMPLE_SPEC.parent / "acd.toml").read_text()


def test_a_tutorial_spec_stores_what_it_stored_before_dialects() -> None:
    plain = load_spec(EXAMPLE_SPEC).to_dict()
    assert "dialect" not in plain, "the default dialect is not written: old digests hold"
    assert plain["webhook"]["name"] == "preview-launch"
    assert load_spec(EXAMPLE_SPEC).dialect == "tutorial"


def test_the_acd_example_loads_and_round_trips_without_a_webhook() -> None:
    spec = parse_spec(ACD_TEXT, "acd.toml")
    assert (spec.dialect, spec.webhook, spec.campaign_id) == ("cxone", None, "1001")
    plain = spec.to_dict()
    assert plain["dialect"] == "cxone"
    assert "webhook" not in plain
    assert CampaignSpec.from_dict(plain) == spec


def test_a_cxone_spec_names_what_does_not_fit_its_dialect() -> None:
    text = ACD_TEXT.replace('campaign_id = "1001"', 'campaign_id = "cmp-1001"') + (
        '\n[webhook]\nname = "x"\ncallback_uri = "https://hooks.example.com/x"\n'
    )
    found = {(path, message.split(":")[0]) for _, path, message in problems(text)}
    assert found == {
        (
            "campaign_id",
            "in the cxone dialect this is the outbound skill's id, a number (found 'cmp-1001')",
        ),
        ("webhook", "the cxone dialect has no webhook registration API"),
    }
    assert any(
        path == "dialect" and "tutorial" in message and "cxone" in message
        for _, path, message in problems(ACD_TEXT.replace('"cxone"', '"genesys"'))
    )


def test_a_tutorial_spec_still_needs_its_webhook() -> None:
    start = TEXT.index("[webhook]")
    assert any(path == "webhook" for _, path, _ in problems(TEXT[:start]))
