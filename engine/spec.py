"""Campaign specs: the TOML file an operator writes, checked whole before anything is drafted.

Loading reports *every* problem at once, each with its field path and, where the file shows
it, its line; unknown keys are problems too (with a suggestion when one is close), never dropped.
Identifiers that end up in CXone URLs are restricted to URL-safe characters.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from engine.errors import SpecError
from engine.spec_lines import locate
from events import FieldProblem, to_plain

OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "exists")
DIALING_MODES = ("manual", "timed")
DIALECTS = ("tutorial", "cxone")
"""The APIs a spec may speak: the tutorial's REST API (the default), or NICE CXone's ACD API."""
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_REQUIRED = object()


@attrs.frozen
class Rule:
    """One condition of the demographic filter: ``field op value`` (all rules must hold)."""

    field: str
    op: str
    value: Any = None


@attrs.frozen
class DialingRules:
    """How CXone dials the previewed contacts."""

    strategy: str
    max_attempts: int
    callback_enabled: bool


@attrs.frozen
class AgentDirective:
    """Which agents take the previews."""

    queue_id: str
    skill_requirement: str
    agent_count: int


@attrs.frozen
class PreviewSettings:
    """How the agent is shown a contact before the call."""

    preview_dialing_mode: str
    agent_prompt_enabled: bool
    timeout_seconds: int


@attrs.frozen
class Constraints:
    """Limits the pipeline enforces."""

    max_concurrent_previews: int
    min_eligible: int
    max_conflict_retries: int


@attrs.frozen
class Webhook:
    """The launch webhook registered once the campaign is active."""

    name: str
    callback_uri: str
    event: str


@attrs.frozen
class CampaignSpec:
    """A whole, valid campaign spec. Build one with ``parse_spec``/``load_spec``/``from_dict``."""

    name: str
    campaign_id: str
    contact_list_id: str
    queue_id: str
    default_region: str
    filter: tuple[Rule, ...]
    dialing_rules: DialingRules
    agent_directives: tuple[AgentDirective, ...]
    preview_settings: PreviewSettings
    constraints: Constraints
    webhook: Webhook | None
    dialect: str = "tutorial"

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what ``CampaignDrafted`` stores). The tutorial dialect
        and a webhook are what every spec had before dialects: a spec of the tutorial's
        dialect stores no ``dialect`` key, one without a webhook no ``webhook`` key, so the
        specs (and their digests) of journals written before read exactly as they were."""
        plain: dict[str, Any] = to_plain(self)
        if plain["dialect"] == "tutorial":
            del plain["dialect"]
        if plain["webhook"] is None:
            del plain["webhook"]
        return plain

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "spec", text: str | None = None
    ) -> CampaignSpec:
        """Check ``data`` whole; ``SpecError`` listing every problem (with lines from ``text``)."""
        problems: list[FieldProblem] = []
        spec = _read_spec(_Section(data, "", problems))
        if problems or spec is None:
            if text is not None:
                problems = [attrs.evolve(p, line=locate(text, p.path)) for p in problems]
            raise SpecError(problems, source)
        return spec


def parse_spec(text: str, source: str = "spec") -> CampaignSpec:
    """A spec from TOML text; ``SpecError`` for a syntax error or any invalid field."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise SpecError(
            [FieldProblem("(file)", "nested too deeply to read (arrays or tables in arrays)")],
            source,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise SpecError(
            [
                FieldProblem(
                    "(file)", f"not valid TOML: {exc}", int(line.group(1)) if line else None
                )
            ],
            source,
        ) from None
    return CampaignSpec.from_dict(data, source, text)


def load_spec(path: str | Path) -> CampaignSpec:
    """A spec from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([FieldProblem("(file)", f"cannot be read: {exc}")], str(path)) from None
    return parse_spec(text, str(path))


# --- reading, problem by problem -------------------------------------------------------------

_KIND_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


class _Section:
    """One table of the spec: takes keys, records problems, and reports the keys left over."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: list[FieldProblem]) -> None:
        self.data, self.path, self.problems = data, path, problems
        self.known: list[str] = []

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append(FieldProblem(self.at(key), message))

    def take(
        self,
        key: str,
        kind: type,
        default: Any = _REQUIRED,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """The value at ``key`` if it is of ``kind`` and passes ``check``; else ``None``."""
        self.known.append(key)
        if key not in self.data:
            if default is _REQUIRED:
                self.problem(key, f"missing: expected {_KIND_NAMES[kind]}")
                return None
            return default
        value = self.data[key]
        if type(value) is not kind:
            self.problem(key, f"expected {_KIND_NAMES[kind]}, found {_show(value)}")
            return None
        message = check(value) if check else None
        if message:
            self.problem(key, message)
            return None
        return value

    def table(self, key: str, required: bool = True) -> _Section | None:
        """The sub-table at ``key`` (an empty one when optional and absent)."""
        value = self.take(key, dict, _REQUIRED if required else {})
        return None if value is None else _Section(value, self.at(key), self.problems)

    def tables(self, key: str, at_least: int = 0) -> list[_Section] | None:
        """The array of tables at ``key``."""
        items = self.take(key, list, [] if at_least == 0 else _REQUIRED)
        if items is None:
            return None
        if len(items) < at_least:
            self.problem(key, f"needs at least {at_least} entr{'y' if at_least == 1 else 'ies'}")
            return None
        sections = []
        for i, item in enumerate(items):
            if type(item) is not dict:
                self.problem(f"{key}[{i}]", f"expected a table, found {_show(item)}")
            else:
                sections.append(_Section(item, self.at(f"{key}[{i}]"), self.problems))
        return sections if len(sections) == len(items) else None

    def done(self) -> None:
        """Record a problem for every key nobody took."""
        for key in self.data:
            if key not in self.known:
                close = difflib.get_close_matches(str(key), self.known, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else (f"; expected one of: {', '.join(self.known)}" if self.known else "")
                )
                self.problem(_key_text(key), f"unknown key{hint}")


def _key_text(key: Any) -> str:
    """A key as a path component: as written when plain, else quoted with escapes (a key holding
    a line break or a terminal escape must not reach an error message raw)."""
    text = str(key)
    return text if text and text.isprintable() and " " not in text else repr(text)


def _show(value: Any) -> str:
    label = _KIND_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        shown = repr(value)
        return f"{label} {shown[:40] + '…' if len(shown) > 40 else shown}"
    return label


def _range(lo: int, hi: int) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi}, found {v}"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else (f"must be one of {', '.join(choices)}; found {v!r}")


def _identifier(v: str) -> str | None:
    if _ID.fullmatch(v):
        return None
    return (
        "must be 1-128 letters, digits, '.', '_', ':' or '-' (it goes into CXone URLs); "
        f"found {v[:40]!r}"
    )


def _text(limit: int) -> Callable[[Any], str | None]:
    return lambda v: None if 0 < len(v) <= limit else f"must be 1 to {limit} characters"


def _up_to(limit: int) -> Callable[[Any], str | None]:
    return lambda v: None if len(v) <= limit else f"must be at most {limit} characters"


def _region(v: str) -> str | None:
    import phonenumbers  # noqa: PLC0415 - its metadata costs start-up; only a spec check asks

    if v in phonenumbers.SUPPORTED_REGIONS:
        return None
    return f"must be a two-letter region phonenumbers knows (e.g. US, GB); found {v!r}"


def _callback(v: str) -> str | None:
    """An https URL with a host, or plain http to a loopback host: decided on the parsed
    host, never on a prefix (``http://localhost.evil.example`` is not loopback)."""
    refused = "must be an https:// URL (plain http only for a loopback test receiver)"
    if any(ord(c) < 33 or ord(c) == 127 for c in v):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(v)
        host, port = parts.hostname, parts.port
    except ValueError:
        return refused
    if not host or parts.username is not None or parts.password is not None:
        return "must name a host, with no user or password in it"
    del port  # parsed only to refuse a malformed one
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return None
    return refused


def _read_spec(root: _Section) -> CampaignSpec | None:
    name = root.take("name", str, check=_text(200))
    campaign_id = root.take("campaign_id", str, check=_identifier)
    contact_list_id = root.take("contact_list_id", str, check=_identifier)
    queue_id = root.take("queue_id", str, check=_identifier)
    region = root.take("default_region", str, "US", check=_region)
    rules = _read_rules(root)
    dialing = _read(
        root.table("dialing_rules"),
        lambda s: DialingRules(
            s.take("strategy", str, "preview", check=_one_of("preview")),
            s.take("max_attempts", int, 1, check=_range(1, 20)),
            s.take("callback_enabled", bool, False),
        ),
    )
    directives = _read_directives(root, queue_id)
    preview = _read(
        root.table("preview_settings", required=False),
        lambda s: PreviewSettings(
            s.take("preview_dialing_mode", str, "manual", check=_one_of(*DIALING_MODES)),
            s.take("agent_prompt_enabled", bool, True),
            s.take("timeout_seconds", int, 30, check=_range(5, 3600)),
        ),
    )
    constraints = _read(
        root.table("constraints"),
        lambda s: Constraints(
            s.take("max_concurrent_previews", int, check=_range(1, 10_000)),
            s.take("min_eligible", int, 1, check=_range(0, 100_000_000)),
            s.take("max_conflict_retries", int, 3, check=_range(0, 100)),
        ),
    )
    dialect = root.take("dialect", str, "tutorial", check=_one_of(*DIALECTS))
    if dialect == "cxone" and isinstance(campaign_id, str) and not campaign_id.isdigit():
        root.problem(
            "campaign_id",
            f"in the cxone dialect this is the outbound skill's id, a number (found "
            f"{campaign_id!r})",
        )
    webhook = None
    if dialect != "cxone":
        webhook = _read(
            root.table("webhook"),
            lambda s: Webhook(
                s.take("name", str, check=_text(200)),
                s.take("callback_uri", str, check=_callback),
                s.take("event", str, "campaign.preview.launched", check=_text(200)),
            ),
        )
    elif "webhook" in root.data:
        root.known.append("webhook")
        root.problem(
            "webhook",
            "the cxone dialect has no webhook registration API: leave [webhook] out",
        )
    root.done()
    if root.problems:
        return None
    return CampaignSpec(
        name,
        campaign_id,
        contact_list_id,
        queue_id,
        region,
        rules,
        dialing,
        directives,
        preview,
        constraints,
        webhook,
        dialect or "tutorial",
    )


def _read(section: _Section | None, build: Callable[[_Section], Any]) -> Any:
    if section is None:
        return None
    value = build(section)
    section.done()
    return value


def _read_directives(root: _Section, queue_id: str | None) -> tuple[AgentDirective, ...]:
    out = []
    for s in root.tables("agent_directives", at_least=1) or []:
        out.append(
            AgentDirective(
                s.take("queue_id", str, queue_id, check=_identifier),
                s.take("skill_requirement", str, "", check=_up_to(200)),
                s.take("agent_count", int, check=_range(1, 10_000)),
            )
        )
        s.done()
    return tuple(out)


def _read_rules(root: _Section) -> tuple[Rule, ...]:
    rules = []
    for s in root.tables("filter") or []:
        field = s.take("field", str, check=_text(100))
        op = s.take("op", str, check=_one_of(*OPS))
        value = _rule_value(s, op)
        s.done()
        rules.append(Rule(field, op, value))
    return tuple(rules)


def _rule_value(s: _Section, op: str | None) -> Any:
    s.known.append("value")
    if "value" not in s.data:
        if op not in (None, "exists"):
            s.problem("value", f"missing: the {op!r} operator compares with a value")
        return True if op == "exists" else None
    value = s.data["value"]
    message = _value_problem(op, value)
    if message:
        s.problem("value", message)
        return None
    return tuple(value) if isinstance(value, list) else value


def _value_problem(op: str | None, value: Any) -> str | None:  # noqa: PLR0911
    scalar = (str, int, float, bool)
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if op == "exists":
        return None if type(value) is bool else "the 'exists' operator takes true or false"
    if op in ("in", "not_in"):
        if type(value) is not list or not value:
            return f"the {op!r} operator takes a non-empty array"
        if not all(isinstance(v, scalar) and _finite(v) for v in value):
            return "array items must be strings, numbers or booleans"
        return None
    if op in ("lt", "le", "gt", "ge"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return f"the {op!r} operator compares with a number or a string"
        return None
    if not isinstance(value, scalar):
        return f"expected a string, number or boolean, found {_show(value)}"
    return None


def _finite(v: Any) -> bool:
    return not isinstance(v, float) or math.isfinite(v)
