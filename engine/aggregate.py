"""The campaign aggregate: its state is a pure fold of its events, and nothing else.

``fold(id, events)`` gives the same ``CampaignState`` in every process, and ``state.digest()``
the same digest on every Python version (canonical JSON and SHA-256, never ``hash()``), which is
what lets ``verify`` catch a code change that would fold old events differently.

Every event is checked against the state machine as it is applied, by its row in the lifecycle
table (engine/lifecycle.py): an event the state does not allow, or an outcome without its
intent, raises ``IllegalEvent``. This module adds what each event records (its effect). The fold
runs on a mutable builder and freezes once at the end, because a replay folds a hundred
thousand events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import attrs

from engine import machine
from engine.errors import IllegalEvent
from engine.lifecycle import RULES, PendingStep
from engine.spec import CampaignSpec
from events import (
    ActivationConflicted,
    ActivationFailed,
    ActivationRequested,
    ActivationSucceeded,
    CampaignCancelled,
    CampaignDrafted,
    ConfigRevised,
    ConflictRebased,
    ConflictResolved,
    ContactsFiltered,
    ContactsUploaded,
    DialingFailed,
    DialingRequested,
    DialingStarted,
    Event,
    FieldProblem,
    FilterFailed,
    FilterRequested,
    RebaseFailed,
    RebaseRequested,
    Revision,
    RunRequested,
    UploadFailed,
    UploadRequested,
    ValidationFailed,
    ValidationPassed,
    ValidationRequested,
    WebhookRegistered,
    WebhookRegistrationFailed,
    WebhookRegistrationRequested,
    content_digest,
    revision_text,
    sha256_hex,
    to_plain,
    value_json,
)


@attrs.frozen(repr=False)
class CampaignState:
    """Everything known about a campaign, derived from its events alone."""

    id: str
    version: int
    state: str
    name: str
    spec: dict[str, Any]
    pending: PendingStep | None = None
    remote_version: Revision | None = None
    remote_config: dict[str, Any] | None = None
    eligible: int | None = None
    eligible_digest: str | None = None
    activation_attempts: int = 0
    conflicts: int = 0
    active_version: Revision | None = None
    webhook_id: str | None = None
    problems: tuple[FieldProblem, ...] = ()
    last_error: str | None = None
    config: dict[str, Any] | None = None
    rebases: int = 0
    wants_active: bool = False
    dialing_started: bool = False
    uploaded_digest: str | None = None

    def __repr__(self) -> str:
        extra = f" pending={self.pending.step}" if self.pending else ""
        extra += f" error={self.last_error!r}" if self.last_error else ""
        return (
            f"<CampaignState {self.id} {self.name!r} {self.state} v{self.version}"
            f" spec {self.spec_digest[7:19]}{extra}>"
        )

    @property
    def campaign_spec(self) -> CampaignSpec:
        """The spec, typed (parsed once per spec object and remembered); ``SpecError`` if the
        stored spec no longer passes the checks."""
        return _typed_spec(self.spec)

    @property
    def spec_digest(self) -> str:
        """The digest of the spec (computed when asked: a load should not pay for it)."""
        return _spec_digest(self.spec)

    def digest(self) -> str:
        """A digest of the whole state, stable across processes and Python versions.

        The spec and the remote configuration enter by their own digests.
        """
        return state_digest(self)


_SCHEME_1 = (
    "id",
    "version",
    "state",
    "name",
    "pending",
    "remote_version",
    "eligible",
    "eligible_digest",
    "activation_attempts",
    "conflicts",
    "active_version",
    "webhook_id",
    "problems",
    "last_error",
    "rebases",
    "wants_active",
)
DIGEST_SCHEMES: dict[int, tuple[str, ...]] = {
    1: _SCHEME_1,
    # and whether the skill dials (the ACD dialect's start, a step of its own)
    2: (*_SCHEME_1, "dialing_started"),
    # and the eligible set the skill's calling list holds (the ACD dialect's upload)
    3: (*_SCHEME_1, "dialing_started", "uploaded_digest"),
}
"""The state digest schemes: each the state's fields it covers (beside the spec and the two
configurations, which enter by their own digests). A field added to ``CampaignState`` goes
into a new scheme; the old ones stay as they are, so digests recorded by earlier releases
still verify. A scheme ``n > 1`` digest is recorded as ``dn:sha256:…``; scheme 1 as
``sha256:…``, as every release before schemes were named wrote it."""
DIGEST_SCHEME = 3
"""The scheme this release records."""


def state_digest(s: CampaignState | Builder, scheme: int = DIGEST_SCHEME) -> str:
    """``CampaignState.digest`` under ``scheme``, of a state or of the builder folding one
    (field for field the same), so a replay checks each event's digest without freezing a
    state for it.

    The digest is of the canonical JSON of an object: each field of the scheme, the spec's
    digest and the two configurations' digests (or null). ``_plain_state`` is that object;
    the text is laid out by code generated per scheme (``_layout``), which gives the same
    bytes as ``canonical_json`` of it at a third of the cost (a test holds them equal):
    ``audit verify`` digests every event's state.
    """
    layout = _LAYOUTS.get(DIGEST_SCHEMES[scheme]) or _layout(DIGEST_SCHEMES[scheme])
    digest = "sha256:" + sha256_hex(layout(s))
    return digest if scheme == 1 else f"d{scheme}:{digest}"


def _plain_state(s: CampaignState | Builder, scheme: int) -> dict[str, Any]:
    """The object a state digest is the canonical JSON of (what ``_layout`` writes)."""
    plain = {name: to_plain(getattr(s, name)) for name in DIGEST_SCHEMES[scheme]}
    plain["spec"] = _spec_digest(s.spec)
    for name in ("remote_config", "config"):
        value = getattr(s, name)
        plain[name] = None if value is None else _spec_digest(value)
    return plain


def _digest_json(config: dict[str, Any] | None) -> str:
    return "null" if config is None else value_json(_spec_digest(config))


def _field_json(value: Any) -> str:
    kind = type(value)
    if kind is PendingStep:  # every intent's state has one
        return _pending_json(value)
    return value_json(value if kind in _SCALARS else to_plain(value))


def _generate_layout(calls: dict[str, str], scope: dict[str, Any]) -> Callable[[Any], str]:
    """Generated code: the canonical JSON of an object whose key ``name`` holds
    ``call(s.name)`` (each call's text; keys in sorted order, as ``canonical_json`` sorts)."""
    parts = []
    for i, name in enumerate(sorted(calls)):
        key = ("{" if i == 0 else ",") + value_json(name) + ":"
        parts.append(f"{key!r}, {calls[name]}(s.{name})")
    code = f"def layout(s):\n    return ''.join(({', '.join(parts)}, '}}'))"
    exec(code, scope)  # noqa: S102 - generated from field names, ours
    layout: Callable[[Any], str] = scope["layout"]
    return layout


_pending_json = _generate_layout(
    dict.fromkeys(PendingStep._fields, "_value"), {"_value": value_json}
)
"""``value_json(to_plain(pending))`` (its fields are all scalars), without the dict."""

_LAYOUTS: dict[tuple[str, ...], Callable[[Any], str]] = {}


def _layout(fields: tuple[str, ...]) -> Callable[[Any], str]:
    """The canonical JSON of ``_plain_state`` of a scheme of these ``fields``, straight from
    the state (generated once per scheme)."""
    calls = dict.fromkeys(fields, "_field") | dict.fromkeys(
        ("spec", "remote_config", "config"), "_digest"
    )
    layout = _generate_layout(calls, {"_digest": _digest_json, "_field": _field_json})
    _LAYOUTS[fields] = layout
    return layout


def digest_scheme(recorded: str) -> int | None:
    """The scheme a recorded digest was written under; None when it names none we know."""
    if recorded.startswith("sha256:"):
        return 1
    number, sep, rest = recorded.partition(":")
    if sep and number[:1] == "d" and number[1:].isdigit() and rest.startswith("sha256:"):
        scheme = int(number[1:])
        return scheme if scheme in DIGEST_SCHEMES else None
    return None


def digest_mismatch(s: CampaignState | Builder, recorded: str) -> str | None:
    """Why ``recorded`` is not the digest of ``s`` under the scheme it names (None: it is)."""
    scheme = digest_scheme(recorded)
    if scheme is None:
        return (
            f"its state digest {recorded[:24]}… is of a scheme this cxpreview does not know "
            f"(it knows {', '.join(map(str, sorted(DIGEST_SCHEMES)))}): written by a newer "
            "release, or damaged"
        )
    folded = state_digest(s, scheme)
    if folded != recorded:
        return f"folds to {folded}, but {recorded} was recorded: the fold has changed"
    return None


_FIELDS = tuple(a.name for a in attrs.fields(CampaignState))
_TYPED: dict[int, tuple[dict[str, Any], CampaignSpec]] = {}


def _typed_spec(spec: dict[str, Any]) -> CampaignSpec:
    """``CampaignSpec.from_dict(spec)``, remembered for the spec objects seen last (every
    state folded from one event shares that event's spec object, never mutated)."""
    entry = _TYPED.get(id(spec))
    if entry is not None and entry[0] is spec:
        return entry[1]
    if len(_TYPED) >= 256:
        _TYPED.clear()
    typed = CampaignSpec.from_dict(spec)
    _TYPED[id(spec)] = (spec, typed)
    return typed


_SPEC_DIGESTS: dict[int, tuple[dict[str, Any], str]] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Values ``to_plain`` returns as they are: the digest skips the call for them."""


def _spec_digest(spec: dict[str, Any]) -> str:
    """``content_digest(spec)``, remembered for the objects seen last (a spec, or a remote
    or merged configuration).

    Every state folded from one ``campaign.drafted`` shares that event's spec object (and
    every state after a ``validation.passed`` its configuration), so a replay that digests
    each state (``verify``) serialises each once, not once per event. They are never mutated
    once in an event; the entry keeps the object alive, so its id cannot be reused while
    remembered.
    """
    entry = _SPEC_DIGESTS.get(id(spec))
    if entry is not None and entry[0] is spec:
        return entry[1]
    if len(_SPEC_DIGESTS) >= 256:
        _SPEC_DIGESTS.clear()
    digest = content_digest(spec)
    _SPEC_DIGESTS[id(spec)] = (spec, digest)
    return digest


@attrs.define
class Builder:
    """A ``CampaignState`` under construction: the fold's mutable working copy.

    Field for field the same as ``CampaignState`` (a test holds them equal).
    """

    id: str = ""
    version: int = 0
    state: str = ""
    name: str = ""
    spec: dict[str, Any] = attrs.Factory(dict)
    pending: PendingStep | None = None
    remote_version: Revision | None = None
    remote_config: dict[str, Any] | None = None
    eligible: int | None = None
    eligible_digest: str | None = None
    activation_attempts: int = 0
    conflicts: int = 0
    active_version: Revision | None = None
    webhook_id: str | None = None
    problems: tuple[FieldProblem, ...] = ()
    last_error: str | None = None
    config: dict[str, Any] | None = None
    rebases: int = 0
    wants_active: bool = False
    dialing_started: bool = False
    uploaded_digest: str | None = None

    @classmethod
    def thaw(cls, state: CampaignState | None, campaign_id: str = "") -> Builder:
        """A builder holding ``state`` (or an empty campaign ``campaign_id``)."""
        if state is None:
            return cls(id=campaign_id)
        return cls(*(getattr(state, name) for name in _FIELDS))

    def freeze(self) -> CampaignState:
        """The state built so far, frozen."""
        # Straight into the slots: CampaignState has no validators or converters to bypass
        # (a test holds that), and its generated __init__ costs several times more.
        state = _new(CampaignState)
        for name, put in _PUT:
            put(state, getattr(self, name))
        return state


_new = object.__new__
_PUT = tuple((name, getattr(CampaignState, name).__set__) for name in _FIELDS)


class _Rule(NamedTuple):
    """How one event type is checked (its lifecycle row) and applied (its effect)."""

    role: str
    trigger: str | None
    step: str
    moves: bool
    effect: Callable[[Builder, Any], None]


_DEST: dict[tuple[str, str], str] = {}
"""(state, trigger) -> state, read off the machine on first use."""


def _no_rule(kind: type[Event]) -> _Rule:
    raise IllegalEvent(
        f"{kind.__name__} has no row in the lifecycle table and its effect (engine/lifecycle.py, "
        "engine/aggregate.py)"
    )


def apply(b: Builder, event: Event) -> None:
    """Apply one event to the builder, checking it against the machine first."""
    kind = type(event)
    # Unpacked once: a replay runs this for every event of the journal.
    role, trigger, step, moves, effect = _RULES.get(kind) or _no_rule(kind)
    if role == "create":
        if b.version != 0:
            raise IllegalEvent(f"campaign {b.id} was drafted already (at version 1)")
        b.state = machine.INITIAL
    else:
        if b.version == 0:
            raise IllegalEvent(f"campaign {b.id} must begin with campaign.drafted, not {kind.TYPE}")
        pending = b.pending
        if role == "outcome":
            step_id = event.step_id  # type: ignore[attr-defined]
            if pending is None or pending.step_id != step_id or pending.step != step:
                open_ = pending.step_id if pending else "none"
                raise IllegalEvent(
                    f"{kind.TYPE} for step {step_id!r} has no open intent (open: {open_})"
                )
            b.pending = None
            if kind is ConflictRebased and not event.merged:  # type: ignore[attr-defined]
                trigger = None
        elif pending is not None:
            raise IllegalEvent(
                f"{kind.TYPE} while step {pending.step_id!r} ({pending.step}) is open"
            )
        if trigger is not None:
            if not _DEST:
                _DEST.update(machine.destinations())
            target = _DEST.get((b.state, trigger))
            if target is None:
                raise IllegalEvent(f"{kind.TYPE} is not allowed in state {b.state!r}")
            if moves:
                b.state = target
    b.version += 1
    effect(b, event)


def _drafted(b: Builder, e: CampaignDrafted) -> None:
    b.spec, b.name = e.spec, str(e.spec.get("name", ""))


def _revised(b: Builder, e: ConfigRevised) -> None:
    _drafted(b, CampaignDrafted(e.spec))
    b.remote_version = b.remote_config = b.eligible = b.eligible_digest = b.config = None
    b.uploaded_digest = None  # the revised spec may name another skill
    b.problems, b.last_error, b.wants_active = (), None, False


def _intent(b: Builder, e: Any) -> None:
    b.pending = PendingStep(RULES[type(e)].step, e.step_id, getattr(e, "attempt", 1))


def _activation_requested(b: Builder, e: ActivationRequested) -> None:
    b.pending = PendingStep(
        "activation", e.step_id, e.attempt, e.expected_version, e.payload_digest
    )
    b.activation_attempts += 1


def _validation_passed(b: Builder, e: ValidationPassed) -> None:
    b.remote_version, b.remote_config, b.config = e.remote_version, e.remote_config, None
    b.problems, b.last_error = (), None


def _validation_failed(b: Builder, e: ValidationFailed) -> None:
    b.problems = e.problems
    b.last_error = "; ".join(str(p) for p in e.problems) or "validation failed"
    if not e.retryable:
        b.wants_active = False  # a person has to change something


def _filtered(b: Builder, e: ContactsFiltered) -> None:
    b.eligible, b.eligible_digest, b.last_error = e.eligible, e.eligible_digest, None


def _failed(b: Builder, e: Any) -> None:
    b.last_error = e.reason
    if not getattr(e, "retryable", False):
        b.wants_active = False  # a person has to change something


def _succeeded(b: Builder, e: ActivationSucceeded) -> None:
    b.active_version = b.remote_version = e.new_version
    b.last_error = None


def _conflicted(b: Builder, e: ActivationConflicted) -> None:
    b.conflicts += 1
    constraints = b.spec.get("constraints")
    limit = constraints.get("max_conflict_retries", 3) if isinstance(constraints, dict) else 3
    if b.rebases >= limit:
        b.wants_active = False  # no automatic rebase left: a person decides
    if isinstance(e.remote_version, str) or isinstance(e.expected_version, str):
        found, wanted = revision_text(e.remote_version), revision_text(e.expected_version)
    else:  # versions, worded as every earlier release folded them (the digest covers it)
        found, wanted = f"version {e.remote_version}", str(e.expected_version)
    b.last_error = (
        f"CXone has {found} where we expected {wanted}: someone else changed the campaign"
    )


def _rebased(b: Builder, e: ConflictRebased) -> None:
    b.remote_version, b.remote_config = e.remote_version, e.remote_config
    b.rebases += 1
    b.problems = tuple(
        FieldProblem(c.path, f"base {c.base!r}, ours {c.ours!r}, theirs {c.theirs!r}")
        for c in e.conflicts
    )
    b.config = e.config  # ours where fields conflict: what resolve --take-ours would send
    if e.merged:
        b.last_error = None
    else:
        b.last_error = f"{len(e.conflicts)} field(s) changed both here and in CXone"
        b.wants_active = False  # an operator chooses: resolve --take-ours or --take-theirs


def _resolved(b: Builder, e: ConflictResolved) -> None:
    b.config, b.remote_version = e.config, e.remote_version
    b.problems, b.last_error = (), None


def _run_requested(b: Builder, e: RunRequested) -> None:
    if b.state == "cancelled":
        raise IllegalEvent(f"campaign {b.id} is cancelled: it cannot be run")
    b.wants_active = True


def _cancelled(b: Builder, e: CampaignCancelled) -> None:
    b.wants_active = False


def _webhook(b: Builder, e: WebhookRegistered) -> None:
    b.webhook_id, b.last_error, b.wants_active = e.webhook_id, None, False


def _uploaded(b: Builder, e: ContactsUploaded) -> None:
    b.uploaded_digest, b.last_error = b.eligible_digest, None


def _dialing(b: Builder, e: DialingStarted) -> None:
    b.dialing_started, b.last_error, b.wants_active = True, None, False


EFFECTS: dict[type[Event], Callable[[Builder, Any], None]] = {
    CampaignDrafted: _drafted,
    ConfigRevised: _revised,
    CampaignCancelled: _cancelled,
    RunRequested: _run_requested,
    ConflictResolved: _resolved,
    ValidationRequested: _intent,
    ValidationPassed: _validation_passed,
    ValidationFailed: _validation_failed,
    FilterRequested: _intent,
    ContactsFiltered: _filtered,
    FilterFailed: _failed,
    UploadRequested: _intent,
    ContactsUploaded: _uploaded,
    UploadFailed: _failed,
    ActivationRequested: _activation_requested,
    ActivationSucceeded: _succeeded,
    ActivationConflicted: _conflicted,
    ActivationFailed: _failed,
    RebaseRequested: _intent,
    ConflictRebased: _rebased,
    RebaseFailed: _failed,
    WebhookRegistrationRequested: _intent,
    WebhookRegistered: _webhook,
    WebhookRegistrationFailed: _failed,
    DialingRequested: _intent,
    DialingStarted: _dialing,
    DialingFailed: _failed,
}
"""What each event records in the state (its lifecycle row is in engine/lifecycle.py)."""

_RULES: dict[type[Event], _Rule] = {
    kind: _Rule(*row, EFFECTS[kind]) for kind, row in RULES.items() if kind in EFFECTS
}


def fold(
    campaign_id: str, events: Iterable[Event], start: CampaignState | None = None
) -> CampaignState:
    """The state after ``events`` (from ``start``, or from nothing)."""
    b = Builder.thaw(start, campaign_id)
    for event in events:
        apply(b, event)
    return b.freeze()


def after_each(
    start: CampaignState, events: Iterable[Event]
) -> tuple[list[CampaignState], list[str]]:
    """The state after each of ``events`` and its digest (what an append records)."""
    states = steps(start, events)
    return states, [s.digest() for s in states]


def checked_fold(
    campaign_id: str, events: Sequence[Event], recorded: Sequence[str | None]
) -> tuple[CampaignState, int | None]:
    """The campaign folded from ``events``, and the index of the first whose ``recorded``
    state digest is not the fold's (None: every recorded one is)."""
    after = steps(CampaignState(campaign_id, 0, "", "", {}), events)
    for index, (state, digest) in enumerate(zip(after, recorded, strict=True)):
        if digest is not None and digest_mismatch(state, digest) is not None:
            return after[-1], index
    return after[-1], None


def steps(start: CampaignState, events: Iterable[Event]) -> list[CampaignState]:
    """The state after each of ``events`` in turn (for the per-event ``state_digest``)."""
    b = Builder.thaw(start)
    out = []
    for event in events:
        apply(b, event)
        out.append(b.freeze())
    return out
