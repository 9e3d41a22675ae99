"""Logging for the command line: plain lines, or one JSON object per line (``--log-json``).

A JSON line carries the time, level, logger and message, plus the structured fields the
engine, recovery and the supervisor attach (``campaign_id``, ``step``, ``latency_ms``,
``decision``, ``state_before``/``state_after``, …). Only those named fields are copied from a
record, so an object that happens to travel on it (a gateway, its credentials) never reaches the
line; and every line passes the redactor, which blanks anything that looks like a bearer
token or a client secret in case a message quotes one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from events import utc_text

FIELDS = (
    "campaign_id",
    "seq",
    "event",
    "step",
    "state_before",
    "state_after",
    "latency_ms",
    "decision",
    "owner",
    "fence",
    "method",
    "path",
    "status",
    "attempt",
    "error",
    "exit_code",
)
"""Record attributes a JSON line carries when a log call set them (``extra={...}``)."""

_SECRETS = re.compile(
    r"(?i)(bearer\s+|access_token[\"'=:\s]+|client_secret[\"'=:\s]+)[A-Za-z0-9._~+/=-]+"
)


def redact(text: str) -> str:
    """Blank the value after ``Bearer``, ``access_token`` or ``client_secret``."""
    return _SECRETS.sub(lambda m: m.group(1) + "[redacted]", text)


class JsonLines(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_text(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = redact(f"{record.exc_info[0].__name__}: {record.exc_info[1]}")
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class Redacting(logging.Formatter):
    """The plain format, passed through the redactor."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _Stderr(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (a test runner swaps it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def configure(*, as_json: bool, level: int = logging.WARNING) -> None:
    """Send cxpreview's loggers to stderr, as JSON lines or as plain lines, from ``level`` up.

    Idempotent: one handler, reconfigured on each call (each CLI invocation calls it).
    """
    logger = logging.getLogger("cxpreview")
    handler = next((h for h in logger.handlers if isinstance(h, _Stderr)), None)
    if handler is None:
        handler = _Stderr()
        logger.addHandler(handler)
    handler.setFormatter(JsonLines() if as_json else Redacting("%(asctime)s %(name)s %(message)s"))
    handler.setLevel(level)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
