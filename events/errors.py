"""The root of cxpreview's errors, and the errors of the events package.

Every error cxpreview raises on purpose descends from one root, with a base per package::

    CxpreviewError
    ├── EventError                      events/: event classes, codec, upcasters
    │   ├── EventDecodeError (ValueError)   a stored payload does not decode
    │   └── RegistryError                   two classes claim one type, a missing upcaster
    ├── JournalError                    journal/  (tree in journal/errors.py)
    ├── EngineError                     engine/   (tree in engine/errors.py)
    └── SettingsError                   adapters/: CXone settings missing or unsafe

Each class carries the exit code the command line ends with when it stops a command
(``exit_code``): 1 a campaign failed or conflicted (the engine's default), 2 a usage, spec or
settings problem (the root's default), 3 a journal problem, 4 held elsewhere.
"""

from __future__ import annotations

EXIT_CAMPAIGN, EXIT_USAGE, EXIT_JOURNAL, EXIT_HELD = 1, 2, 3, 4


class CxpreviewError(Exception):
    """Root of every error cxpreview raises on purpose."""

    exit_code = EXIT_USAGE


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
