"""The root of cxpreview's errors, and the errors of the events package.

Every error cxpreview raises on purpose descends from one root, with a base per package::

    CxpreviewError
    ├── EventError                      events/: event classes, codec, upcasters
    │   ├── EventDecodeError (ValueError)   a stored payload does not decode
    │   └── RegistryError                   two classes claim one type, a missing upcaster
    ├── JournalError                    journal/  (tree in journal/errors.py)
    └── EngineError                     engine/   (tree in engine/errors.py)
"""

from __future__ import annotations


class CxpreviewError(Exception):
    """Root of every error cxpreview raises on purpose."""


class EventError(CxpreviewError):
    """Base of the events package's errors."""


class EventDecodeError(EventError, ValueError):
    """A stored event cannot be turned back into an event object.

    Names the event type and, where one is at fault, the field, so that a journal row that does
    not decode can be found and explained.
    """

    def __init__(self, type_: str, message: str, field: str | None = None) -> None:
        self.type = type_
        self.field = field
        where = f"event {type_!r}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


class RegistryError(EventError):
    """The event registry was set up inconsistently (a programming error, found at startup)."""
