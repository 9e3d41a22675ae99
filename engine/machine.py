"""The campaign state machine: one ``transitions`` definition shared by every campaign.

No campaign is ever attached to it as a model (building a Machine per campaign costs ~700 us,
and ``add_model`` on a shared one is O(n)): the Machine is the single source of the states and
triggers, and the tables below are read off it once, on first use. ``allowed(state)`` answers
"what can I do now?" and ``destination(state, trigger)`` "where does that lead?" in a dict
lookup each.

Two liberties with the diagram in the README, both because a PUT may be in flight while a
campaign is ``activating``: ``revise`` and ``cancel`` are not offered there. The activation's
outcome is settled first (by its reply, or by recovery reading CXone), then the operator decides.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from transitions import Machine

STATES = (
    "draft",
    "validated",
    "filtered",
    "activating",
    "active",
    "conflicted",
    "failed",
    "cancelled",
)
INITIAL = "draft"
FINAL = frozenset({"active", "cancelled"})

_SETTLED = ["draft", "validated", "filtered", "conflicted", "failed"]
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "validate", "source": "draft", "dest": "validated"},
    {"trigger": "filter", "source": "validated", "dest": "filtered"},
    {
        "trigger": "upload_contacts",
        "source": "filtered",
        "dest": None,
        "conditions": "contacts_not_uploaded",
    },
    {"trigger": "activate", "source": "filtered", "dest": "activating"},
    {"trigger": "succeed", "source": "activating", "dest": "active"},
    {"trigger": "conflict", "source": "activating", "dest": "conflicted"},
    {"trigger": "fail", "source": "activating", "dest": "failed"},
    {
        "trigger": "rebase",
        "source": "conflicted",
        "dest": "filtered",
        "conditions": ["wants_active", "may_rebase"],
    },
    {"trigger": "resolve", "source": "conflicted", "dest": "filtered"},
    {
        "trigger": "register_webhook",
        "source": "active",
        "dest": None,
        "conditions": "webhook_missing",
    },
    {
        "trigger": "start_dialing",
        "source": "active",
        "dest": None,
        "conditions": "dialing_missing",
    },
    {"trigger": "revise", "source": _SETTLED, "dest": "draft"},
    {"trigger": "cancel", "source": _SETTLED, "dest": "cancelled"},
]

COMMANDS = (
    "validate",
    "filter",
    "upload_contacts",
    "activate",
    "rebase",
    "resolve",
    "register_webhook",
    "start_dialing",
    "revise",
    "cancel",
)
"""Triggers a person or a pipeline issues; the others (succeed, conflict, fail) are outcomes."""

RUN_ORDER = (
    "validate",
    "filter",
    "upload_contacts",
    "activate",
    "register_webhook",
    "start_dialing",
    "rebase",
)
"""The triggers a run takes by itself, in order of preference where several are allowed.

A transition's ``conditions`` say when a run takes it by itself (engine/lifecycle.py names
the predicates); a person may issue any allowed command whatever they say."""


def _definition(cls: type[Machine] = Machine, **extra: Any) -> Machine:
    return cls(
        model=extra.pop("model", None),
        states=list(STATES),
        transitions=TRANSITIONS,
        initial=INITIAL,
        auto_transitions=False,
        **extra,
    )


@cache
def machine() -> Machine:
    """The one Machine every campaign shares (built on first use, never given models)."""
    return _definition()


@cache
def _tables() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], str]]:
    m = machine()
    allowed: dict[str, tuple[str, ...]] = {}
    dest: dict[tuple[str, str], str] = {}
    for state in STATES:
        triggers = set(m.get_triggers(state))
        allowed[state] = tuple(t for t in COMMANDS if t in triggers)
        for trigger in triggers:
            for transition in m.events[trigger].transitions[state]:
                dest[(state, trigger)] = transition.dest or state
    return allowed, dest


def allowed(state: str) -> tuple[str, ...]:
    """The commands ``state`` allows, in a fixed order."""
    return _tables()[0].get(state, ())


def destination(state: str, trigger: str) -> str | None:
    """Where ``trigger`` leads from ``state``; ``None`` when it is not allowed there."""
    return _tables()[1].get((state, trigger))


def destinations() -> dict[tuple[str, str], str]:
    """Every allowed ``(state, trigger)`` and where it leads (a copy, for hot loops)."""
    return dict(_tables()[1])


def mermaid(counts: dict[tuple[str, str], int] | None = None) -> str:
    """The machine as a mermaid ``stateDiagram-v2``, drawn by transitions' own diagram code.

    With ``counts`` (``(source, trigger) -> n``), each edge's label carries how often it was
    taken.
    """

    class _Sketch:
        """A throwaway model: the diagram extension draws from a model's point of view."""

    # The diagram extension pulls in asyncio and graphing: imported only to draw.
    from transitions.extensions import GraphMachine  # noqa: PLC0415

    sketch = _Sketch()
    _definition(
        GraphMachine,
        model=sketch,
        graph_engine="mermaid",
        title="cxpreview campaign",
        show_state_attributes=False,
    )
    text: str = sketch.get_graph().draw(None)  # type: ignore[attr-defined]
    if counts:
        text = "\n".join(_with_counts(line, counts) for line in text.split("\n"))
    return text


_EDGE = re.compile(r"^(\s*)(\w+) --> (\w+): (.*)$")


def _with_counts(line: str, counts: dict[tuple[str, str], int]) -> str:
    """An edge line whose triggers (``a | b``) each carry their count, as ``a (3)``."""
    edge = _EDGE.match(line)
    if edge is None:
        return line
    indent, source, target, label = edge.groups()
    triggers = []
    for trigger in label.split(" | "):
        name = trigger.split(" ")[0]
        n = counts.get((source, name))
        triggers.append(f"{trigger} ({n})" if n else trigger)
    return f"{indent}{source} --> {target}: {' | '.join(triggers)}"
