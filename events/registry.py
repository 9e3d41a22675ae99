"""The event base class and the registry that maps stable type strings to classes.

An event's ``TYPE`` is a short string that never changes (``"validation.passed"``), not a
module path, so classes can move without breaking old journals. ``SCHEMA`` is the version of
its payload; an *upcaster* turns a payload of schema ``n`` into one of schema ``n + 1``, so a
journal written by an older cxpreview still reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

from events.errors import EventDecodeError, RegistryError

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Event:
    """Base of every domain event: a frozen attrs value with a stable type and schema version."""

    __slots__ = ()
    TYPE: ClassVar[str]
    SCHEMA: ClassVar[int]


E = TypeVar("E", bound=type[Event])


class EventRegistry:
    """Type strings to event classes, and the upcasters between schema versions of a payload."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def event(self, type_: str, schema: int = 1) -> Callable[[E], E]:
        """Class decorator: register an attrs event class under ``type_`` at ``schema``."""
        if not type_ or type_ != type_.strip():
            raise RegistryError(f"event type must be a non-empty trimmed string, got {type_!r}")
        if schema < 1:
            raise RegistryError(f"schema versions start at 1, got {schema} for {type_!r}")

        def register(cls: E) -> E:
            known = self._classes.get(type_)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise RegistryError(f"{type_!r} is already {known.__qualname__}")
            cls.TYPE = type_
            cls.SCHEMA = schema
            self._classes[type_] = cls
            return cls

        return register

    def upcaster(self, type_: str, from_schema: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: register the function that upgrades ``type_`` from ``from_schema``."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_, from_schema)] = fn
            return fn

        return register

    def class_for(self, type_: str) -> type[Event]:
        """The class registered under ``type_``; ``EventDecodeError`` when there is none."""
        try:
            return self._classes[type_]
        except KeyError:
            raise EventDecodeError(type_, "unknown event type") from None

    def upcast(self, type_: str, schema: int, payload: Payload) -> Payload:
        """Bring ``payload`` written at ``schema`` up to the registered class's schema."""
        current = self.class_for(type_).SCHEMA
        if schema > current:
            raise EventDecodeError(
                type_, f"schema {schema} is newer than this cxpreview reads ({current}); upgrade"
            )
        if schema < 1:
            raise EventDecodeError(type_, f"schema {schema} is not a valid schema version")
        while schema < current:
            step = self._upcasters.get((type_, schema))
            if step is None:
                raise EventDecodeError(type_, f"no upcaster from schema {schema} to {schema + 1}")
            payload = step(dict(payload))
            schema += 1
        return payload

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(self._classes.values())

    def __contains__(self, type_: object) -> bool:
        return type_ in self._classes


REGISTRY = EventRegistry()
"""The registry of cxpreview's own events (see ``events.lifecycle``)."""
event = REGISTRY.event
