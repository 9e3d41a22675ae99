"""Moving a journal between files: JSON Lines out, and back into an empty journal.

An export starts with a header line (``{"format": "cxpreview-export", "version": 2}``); then the
blobs the rows refer to (eligible sets), a line each (``{"blob", "base64"}``); then one line per
stored row, every column as stored (hashes included), in canonical JSON, with ``data`` and
``meta`` written as the JSON objects they are (not as JSON text inside JSON). A row whose text
is not canonical JSON (written by something else) keeps it as text, so an export is always
lossless. Exports of version 1 (no header, ``data`` and ``meta`` as text) import as before.
Importing checks each blob against its digest and each row exactly as ``verify`` does (seq,
prev_hash, hash, versions, decodable event, and the engine's replay when given) before it is
written, all in one transaction: a damaged or edited export is refused at the line that is
wrong, and nothing is imported. The imported journal then
verifies identically, down to the head hash; command ids are rebuilt from the events' meta, so a
repeated command is still recognised.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from events import EventDecodeError, canonical_json, content_digest
from journal.errors import JournalCorrupt
from journal.records import GENESIS, RawRow, Visitor, blob_digest
from journal.verify import row_problem

_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "stream_id": (str,),
    "version": (int,),
    "type": (str,),
    "schema": (int,),
    "data": (str,),
    "meta": (str,),
    "recorded_at": (str,),
    "state_digest": (str, type(None)),
    "prev_hash": (str,),
    "hash": (str,),
}


EXPORT_FORMAT, EXPORT_VERSION = "cxpreview-export", 2


def write_jsonl(rows: Iterable[RawRow], out: IO[str], blobs: Iterable[bytes] = ()) -> int:
    """Write the header, ``blobs`` (one line each: ``{"blob": digest, "base64": data}``),
    then ``rows``, as JSON Lines; the number of rows written."""
    out.write(canonical_json({"format": EXPORT_FORMAT, "version": EXPORT_VERSION}) + "\n")
    for data in blobs:
        out.write(
            canonical_json({"blob": blob_digest(data), "base64": base64.b64encode(data).decode()})
            + "\n"
        )
    count = 0
    for row in rows:
        line = row._asdict()
        for name in ("data", "meta"):
            value = _json_object(line[name])
            if value is not None and canonical_json(value) == line[name]:
                line[name] = value  # the object itself: the text it is stored as is its form
        out.write(canonical_json(line) + "\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str], source: str = "export") -> Iterator[RawRow | bytes]:
    """Rows (and blobs, as bytes) from JSON Lines of either export version, each checked for
    shape (a blob against its digest); ``JournalCorrupt`` names the bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        data = _line(line, where)
        if isinstance(data, dict) and "format" in data and set(data) <= {"format", "version"}:
            _header(data, number, where)
        elif isinstance(data, dict) and set(data) == {"blob", "base64"}:
            yield _blob(data, where)
        else:
            yield _row(data, where)


def _line(line: str, where: str) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        raise JournalCorrupt(f"{where}: not JSON ({exc})") from None
    except RecursionError:
        raise JournalCorrupt(f"{where}: nested too deeply to read") from None


def _header(data: dict[str, Any], number: int, where: str) -> None:
    if number != 1 or data.get("format") != EXPORT_FORMAT:
        raise JournalCorrupt(f"{where}: not a cxpreview export header")
    version = data.get("version")
    if type(version) is not int or not 1 <= version <= EXPORT_VERSION:
        raise JournalCorrupt(
            f"{where}: export version {version!r}; this cxpreview reads versions 1 to "
            f"{EXPORT_VERSION}: upgrade cxpreview to import it"
        )


def _row(data: Any, where: str) -> RawRow:
    if not isinstance(data, dict) or set(data) != set(_TYPES):
        raise JournalCorrupt(f"{where}: expected the fields {', '.join(_TYPES)}")
    for name in ("data", "meta"):  # written as objects: stored as their canonical text
        if isinstance(data[name], dict):
            data[name] = canonical_json(data[name])
    for name, kinds in _TYPES.items():
        if type(data[name]) not in kinds:
            raise JournalCorrupt(f"{where}: field {name!r} has the wrong type")
    if _json_object(data["meta"]) is None:
        raise JournalCorrupt(f"{where}: field 'meta' is not a JSON object")
    return RawRow(**data)


def _blob(data: dict[str, Any], where: str) -> bytes:
    try:
        content = base64.b64decode(data["base64"], validate=True)
    except (TypeError, ValueError, binascii.Error):
        raise JournalCorrupt(f"{where}: a blob that is not base64") from None
    if data["blob"] != blob_digest(content):
        raise JournalCorrupt(f"{where}: the blob does not match its digest {data['blob']!r}")
    return content


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None when it is not one (or nests too deeply)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def checked(
    rows: Iterable[RawRow | bytes],
    visitor: Visitor | None = None,
    blob: Callable[[bytes], None] | None = None,
) -> Iterator[RawRow]:
    """``rows`` passed through the checks ``verify`` makes (the chain, and ``visitor``'s);
    raises at the first bad one. Blobs among them are handed to ``blob`` as they come."""
    prev_seq, prev_hash = 0, GENESIS
    versions: dict[str, int] = {}
    for row in rows:
        if isinstance(row, bytes):
            if blob is None:
                raise JournalCorrupt("a blob where only rows were expected")
            blob(row)
            continue
        problem = row_problem(row, prev_seq, prev_hash, versions.get(row.stream_id, 0))
        if problem is None and _json_object(row.meta) is None:
            problem = "meta is not a JSON object"
        if problem is None:
            try:
                stored = row.decoded()
            except EventDecodeError as exc:
                problem = f"event does not decode: {exc}"
            else:
                problem = visitor(stored) if visitor is not None else None
        if problem is not None:
            raise JournalCorrupt(f"seq {row.seq}: {problem}; nothing was imported", row.seq)
        prev_seq, prev_hash = row.seq, row.hash
        versions[row.stream_id] = row.version
        yield row


class CommandIndex:
    """Rebuilds the ``commands`` records of imported rows (an append's rows are contiguous)."""

    def __init__(self) -> None:
        self.done: list[tuple[str, str, int, int, str]] = []
        self._open: tuple[str, str, int, list[list[Any]]] | None = None
        self._last = 0

    def add(self, row: RawRow) -> None:
        """Note ``row`` under the command id in its meta, if any."""
        command_id = json.loads(row.meta).get("command_id")
        if self._open is not None and self._open[0] != command_id:
            self._close()
        if isinstance(command_id, str):
            if self._open is None:
                self._open = (command_id, row.stream_id, row.seq, [])
            self._open[3].append([row.type, row.schema, row.data])
            self._last = row.seq

    def finish(self) -> list[tuple[str, str, int, int, str]]:
        """Every command seen: ``(command_id, stream_id, first_seq, last_seq, fingerprint)``."""
        self._close()
        return self.done

    def _close(self) -> None:
        if self._open is not None:
            command_id, stream_id, first, encoded = self._open
            self.done.append(
                (command_id, stream_id, first, self._last, content_digest([stream_id, encoded]))
            )
            self._open = None
