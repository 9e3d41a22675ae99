"""Events to canonical JSON and back, with strict field checks on the way in.

``encode`` gives ``(type, schema, data)`` where ``data`` is canonical JSON; ``decode`` takes
them back, upcasting old schemas first, and refuses anything that is not exactly the class's
shape: an unknown type, a missing or unknown field, a wrong type (``"5"`` is not an int, ``true``
is not a number). Each refusal is one ``EventDecodeError`` naming the type and the field.

Field types understood: ``str``, ``int``, ``float``, ``bool``, ``datetime`` (aware, stored as
UTC ISO-8601 with ``Z``), ``X | None``, ``tuple[X, ...]``, ``dict[str, Any]`` (any JSON object),
``int | str`` (exactly one of them), ``Any`` (any JSON value) and nested attrs classes.
Checkers are compiled once per class.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from events.canonical import canonical_json
from events.errors import EventDecodeError
from events.registry import REGISTRY, Event, EventRegistry

Check = Callable[[Any], Any]
"""A compiled checker: takes a JSON value, returns the field value or raises ``_Mismatch``."""


class _Mismatch(Exception):
    """A value of the wrong shape at ``path`` (relative: parents prefix theirs on the way out)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    def under(self, part: str) -> _Mismatch:
        sep = "" if not self.path or self.path.startswith("[") else "."
        return _Mismatch(part + sep + self.path, self.message)


_LABELS: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def _describe(value: Any) -> str:
    return _LABELS.get(type(value), type(value).__name__)


def _exact(kind: type) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise _Mismatch("", f"expected {_LABELS[kind]}, found {_describe(value)}")
        return value

    return check


def _float(value: Any) -> float:
    if type(value) is float and math.isfinite(value):
        return value
    if type(value) is int:
        return float(value)
    found = repr(value) if type(value) is float else _describe(value)
    raise _Mismatch("", f"expected a finite number, found {found}")


def _datetime(value: Any) -> datetime:
    if type(value) is not str or not value.endswith("Z"):
        raise _Mismatch("", f"expected a UTC timestamp ending in Z, found {_describe(value)}")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise _Mismatch("", f"expected an ISO-8601 timestamp, found {value!r}") from None


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Mismatch("", "NaN and infinity are not JSON")
    return value


def _compile(tp: Any) -> Check:  # noqa: PLR0911 - one return per supported form reads best
    if tp is Any:
        return _json_value
    if tp in (str, int, bool):
        return _exact(tp)
    if tp is float:
        return _float
    if tp is datetime:
        return _datetime
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _optional(tp, args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_of(_compile(args[0]))
    if origin is dict and args and args[0] is str:
        return _object_of(_compile(args[1]))
    if attrs.has(tp):
        return _Shape(tp).check
    raise TypeError(f"the codec cannot store a field of type {tp!r}")


def _optional(tp: Any, args: tuple[Any, ...]) -> Check:
    rest = [a for a in args if a is not type(None)]
    optional = len(rest) < len(args)
    if len(rest) > 1:
        return _either(tp, tuple(rest), optional)
    if len(rest) != 1 or len(args) != 2:
        raise TypeError(f"only `X | None` unions are supported, not {tp!r}")
    inner = _compile(rest[0])

    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


def _either(tp: Any, kinds: tuple[Any, ...], optional: bool) -> Check:
    """A union of exact scalars (``int | str``, maybe ``| None``): the value as stored, of
    exactly one of them (``true`` is no int, ``"5"`` no int either: a string)."""
    if not all(k in (str, int) for k in kinds):
        raise TypeError(f"only `X | None` and `int | str` unions are supported, not {tp!r}")
    label = " or ".join(_LABELS[k] for k in kinds) + (" or null" if optional else "")
    allowed = frozenset(kinds) | ({type(None)} if optional else set())

    def check(value: Any) -> Any:
        if type(value) not in allowed:
            raise _Mismatch("", f"expected {label}, found {_describe(value)}")
        return value

    return check


def _tuple_of(item: Check) -> Check:
    def check(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _Mismatch("", f"expected a list, found {_describe(value)}")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except _Mismatch as exc:
                raise exc.under(f"[{i}]") from None
        return tuple(out)

    return check


def _object_of(item: Check) -> Check:
    def check(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Mismatch("", f"expected an object, found {_describe(value)}")
        if item is _json_value:  # the common case: any JSON object, as parsed
            return value
        out = {}
        for k, v in value.items():
            try:
                out[k] = item(v)
            except _Mismatch as exc:
                raise exc.under(k) from None
        return out

    return check


_FAST = {str, int, bool}
"""Field types checked inline by ``type(v) is kind`` in generated code."""


class _Shape:
    """The compiled field checkers of one attrs class.

    ``check`` is generated code (as attrs generates ``__init__``): for a payload with exactly
    the class's keys it checks each field inline and fills the slots directly, which is most of
    what a replay costs. Anything unusual (a missing or unknown key, a value of the wrong type)
    goes the slow, general way, which finds and names the field at fault.
    """

    def __init__(self, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.fields = [(f.name, _compile(hints[f.name])) for f in attrs.fields(cls)]
        self.names = frozenset(name for name, _ in self.fields)
        self.required = frozenset(f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING)
        plain = all(f.validator is None and f.converter is None for f in attrs.fields(cls))
        slotted = "__slots__" in cls.__dict__ and not hasattr(cls, "__attrs_post_init__")
        self.check: Check = (
            self._generate(hints) if plain and slotted and self.fields else self.check_slowly
        )

    def _generate(self, hints: dict[str, Any]) -> Check:
        scope: dict[str, Any] = {
            "_names": self.names,
            "_new": object.__new__,
            "_cls": self.cls,
            "_slow": self.check_slowly,
            "_Mismatch": _Mismatch,
            "_dict": dict,
        }
        lines = [
            "def check(value):",
            "    if type(value) is not _dict or value.keys() != _names:",
            "        return _slow(value)",
            "    self = _new(_cls)",
            "    try:",
        ]
        for i, (name, check) in enumerate(self.fields):
            scope[f"_c{i}"], scope[f"_s{i}"] = check, getattr(self.cls, name).__set__
            lines.append(f"        v = value[{name!r}]")
            kind = hints[name]
            if kind in _FAST:
                scope[f"_k{i}"] = kind
                lines.append(f"        if type(v) is not _k{i}: v = _c{i}(v)")
            else:
                lines.append(f"        v = _c{i}(v)")
            lines.append(f"        _s{i}(self, v)")
        lines += ["    except _Mismatch:", "        return _slow(value)", "    return self"]
        exec("\n".join(lines), scope)  # noqa: S102 - generated from field names we defined
        generated: Check = scope["check"]
        return generated

    def plain_encoder(self, hints: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
        """Generated code: an event to the plain dict that is stored, each field checked
        against its type on the way (``_Mismatch`` when one is wrong)."""
        scope: dict[str, Any] = {"_plain": to_plain}
        lines = ["def encode(e):", "    out = {}"]
        for i, (name, check) in enumerate(self.fields):
            scope[f"_c{i}"] = check
            kind = hints[name]
            lines.append(f"    v = e.{name}")
            if kind in _FAST:
                scope[f"_k{i}"] = kind
                lines.append(f"    if type(v) is not _k{i}: _c{i}(v)")
            elif kind is float:
                lines.append(f"    v = _c{i}(v)")
            elif typing.get_origin(kind) is dict:
                lines.append(f"    _c{i}(v)")
            else:
                lines += ["    v = _plain(v)", f"    _c{i}(v)"]
            lines.append(f"    out[{name!r}] = v")
        lines.append("    return out")
        exec("\n".join(lines), scope)  # noqa: S102 - generated from field names we defined
        generated: Callable[[Any], dict[str, Any]] = scope["encode"]
        return generated

    def name_the_bad_field(self, event: Any) -> _Mismatch:
        """The first field of ``event`` whose value does not fit its type, as a ``_Mismatch``."""
        for name, check in self.fields:
            try:
                check(to_plain(getattr(event, name)))
            except _Mismatch as exc:
                return exc.under(name)
        return _Mismatch("", "does not fit its declared types")

    def check_slowly(self, value: Any) -> Any:
        """Check ``value`` field by field, naming the first field at fault."""
        if type(value) is not dict:
            raise _Mismatch("", f"expected an object, found {_describe(value)}")
        missing = sorted(self.required - value.keys())
        if missing:
            raise _Mismatch(missing[0], "missing")
        unknown = sorted(value.keys() - self.names)
        if unknown:
            raise _Mismatch(unknown[0], "not a field of this event")
        kwargs = {}
        for name, check in self.fields:
            if name in value:
                try:
                    kwargs[name] = check(value[name])
                except _Mismatch as exc:
                    raise exc.under(name) from None
        return self.cls(**kwargs)


def to_plain(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    """An event (or any attrs value) as plain JSON-compatible data."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind, _UNSEEN)
    if names is _UNSEEN:  # first sight of this type: is it an attrs class?
        names = _FIELD_NAMES[kind] = (
            tuple(f.name for f in attrs.fields(kind)) if attrs.has(kind) else None
        )
    if names is not None:
        out = {}
        for name in names:
            v = getattr(value, name)
            out[name] = v if type(v) in _PLAIN else to_plain(v)
        return out
    if kind is tuple and not value:
        return []
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple: by field name
        return {name: to_plain(v) for name, v in zip(value._fields, value, strict=True)}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: give events aware UTC times")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


_PLAIN = {str, int, float, bool, type(None)}
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}
"""Each type ``to_plain`` has met: its attrs field names, or None when it is no attrs class."""
_UNSEEN: Any = object()


_raw_decode = json.JSONDecoder().raw_decode


class EventCodec:
    """Encodes events to ``(type, schema, canonical JSON)`` and decodes them back strictly."""

    def __init__(self, registry: EventRegistry = REGISTRY) -> None:
        self.registry = registry
        self._decoders: dict[str, tuple[type[Event], Check]] = {}
        self._encoders: dict[type, tuple[Callable[[Any], dict[str, Any]], Any]] = {}

    def encode(self, event: Event) -> tuple[str, int, str]:
        """The stored form of ``event``; raises ``ValueError`` for NaN or a naive datetime."""
        cls = type(event)
        encoder = self._encoders.get(cls)
        if encoder is None:
            if self.registry.class_for(cls.TYPE) is not cls:
                raise ValueError(f"{cls.__qualname__} is not registered under {cls.TYPE!r}")
            shape = _Shape(cls)
            encoder = self._encoders[cls] = (
                shape.plain_encoder(typing.get_type_hints(cls)),
                shape.name_the_bad_field,
            )
        plain_of, name_the_bad_field = encoder
        # attrs does not check types on construction, so the encoder does: nothing is ever
        # stored that would not decode (an int field holding "5" would be a poisoned row).
        try:
            plain = plain_of(event)
        except _Mismatch:
            exc = name_the_bad_field(event)
            raise ValueError(
                f"{cls.__qualname__}.{exc.path}: {exc.message}; not stored, as it could not be "
                "read back"
            ) from None
        return cls.TYPE, cls.SCHEMA, canonical_json(plain)

    def decode(self, type_: str, schema: int, data: str | dict[str, Any]) -> Event:
        """The event stored as ``data`` (JSON text or a parsed object) at ``schema``.

        This is the hot path of every load and replay, hence the cached checker per type and
        ``raw_decode`` (with an explicit check for trailing text) instead of ``json.loads``.
        """
        decoder = self._decoders.get(type_)
        if decoder is None:
            cls = self.registry.class_for(type_)
            decoder = self._decoders[type_] = (cls, _Shape(cls).check)
        cls, check = decoder
        if type(data) is str:
            text = data
            try:
                data, end = _raw_decode(text)
            except ValueError as exc:
                raise EventDecodeError(type_, f"payload is not JSON ({exc})") from None
            except RecursionError:
                raise EventDecodeError(type_, "payload is nested too deeply to read") from None
            if end != len(text) and text[end:].strip():
                raise EventDecodeError(type_, "payload has text after the JSON value")
        if type(data) is not dict:
            raise EventDecodeError(type_, f"payload must be an object, found {_describe(data)}")
        if schema != cls.SCHEMA:
            data = self.registry.upcast(type_, schema, data)
        try:
            event: Event = check(data)
        except RecursionError:
            raise EventDecodeError(type_, "payload is nested too deeply to read") from None
        except _Mismatch as exc:
            raise EventDecodeError(type_, exc.message, exc.path) from None
        except (TypeError, ValueError) as exc:  # an attrs validator refused a value
            raise EventDecodeError(type_, str(exc)) from None
        return event


CODEC = EventCodec()
"""The codec over cxpreview's own registry."""
