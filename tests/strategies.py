"""Hypothesis strategies derived from the event classes' own type hints."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def for_type(tp: Any) -> st.SearchStrategy[Any]:  # noqa: PLR0911
    """A strategy for values of a field type the codec supports."""
    if tp is Any:
        return json_values
    if tp is str:
        return st.text(max_size=30)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**53), 2**53)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is datetime:
        return st.datetimes(timezones=st.just(UTC))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        either = st.one_of(*(for_type(k) for k in kinds))
        return st.none() | either if len(kinds) < len(args) else either
    if origin is tuple:
        return st.lists(for_type(args[0]), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), for_type(args[1]), max_size=4)
    if attrs.has(tp):
        return instances(tp)
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):  # NamedTuple
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{name: for_type(hints[name]) for name in tp._fields})
    raise TypeError(tp)


def instances(cls: type) -> st.SearchStrategy[Any]:
    """Instances of an attrs class with every field drawn from its type hint."""
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: for_type(hints[f.name]) for f in attrs.fields(cls)})
