"""The shared state machine: what each state allows, where each trigger leads, the diagram."""

from __future__ import annotations

import pytest

from engine import machine
from engine.errors import InvalidTransition


@pytest.mark.parametrize(
    ("state", "commands"),
    [
        ("draft", ("validate", "revise", "cancel")),
        ("validated", ("filter", "revise", "cancel")),
        ("filtered", ("upload_contacts", "activate", "revise", "cancel")),
        ("activating", ()),
        ("active", ("register_webhook", "start_dialing")),
        ("conflicted", ("rebase", "resolve", "revise", "cancel")),
        ("failed", ("revise", "cancel")),
        ("cancelled", ()),
    ],
)
def test_each_state_allows_its_commands(state: str, commands: tuple[str, ...]) -> None:
    assert machine.allowed(state) == commands


@pytest.mark.parametrize(
    ("state", "trigger", "target"),
    [
        ("draft", "validate", "validated"),
        ("validated", "filter", "filtered"),
        ("filtered", "activate", "activating"),
        ("activating", "succeed", "active"),
        ("activating", "conflict", "conflicted"),
        ("activating", "fail", "failed"),
        ("conflicted", "rebase", "filtered"),
        ("failed", "revise", "draft"),
        ("active", "register_webhook", "active"),
        ("active", "revise", None),
        ("activating", "cancel", None),
        ("cancelled", "revise", None),
    ],
)
def test_destinations(state: str, trigger: str, target: str | None) -> None:
    assert machine.destination(state, trigger) == target


def test_the_machine_is_built_once_and_has_no_models() -> None:
    assert machine.machine() is machine.machine()
    assert machine.machine().models == []


def test_invalid_transition_names_the_state_and_what_is_allowed() -> None:
    error = InvalidTransition("c1", "active", "validate", machine.allowed("active"))
    assert str(error) == (
        "campaign c1 is active: cannot validate; allowed: run (registers the launch webhook), "
        "run (starts the skill dialing)"
    )
    final = InvalidTransition("c1", "cancelled", "validate", ())
    assert "none (the state is final)" in str(final)


def test_the_mermaid_diagram_has_every_transition() -> None:
    text = machine.mermaid()
    assert text.splitlines()[3] == "stateDiagram-v2"
    edges: dict[tuple[str, str], set[str]] = {}
    for line in text.splitlines():
        if " --> " in line and ": " in line:
            ends, label = line.strip().split(": ", 1)
            source, dest = ends.split(" --> ")
            edges[(source, dest)] = {t.split(" ")[0] for t in label.split(" | ")}
    for t in machine.TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        for source in sources:
            assert t["trigger"] in edges[(source, t["dest"] or source)]


def test_the_diagram_can_carry_counts() -> None:
    text = machine.mermaid({("draft", "validate"): 7, ("conflicted", "resolve"): 2})
    assert "draft --> validated: validate (7)\n" in text
    assert "conflicted --> filtered: rebase | resolve (2)\n" in text
