"""Moving a journal between files: JSON Lines out, and back into an empty journal.

An export line is one stored row, every column as stored (hashes included), in canonical JSON;
the blobs the rows refer to (eligible sets) come first, a line each (``{"blob", "base64"}``).
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


def write_jsonl(rows: Iterable[RawRow], out: IO[str], blobs: Iterable[bytes] = ()) -> int:
    """Write ``blobs`` (one line each: ``{"blob": digest, "base64": data}``), then ``rows``,
    as JSON Lines; the number of rows written."""
    for data in blobs:
        out.write(
            canonical_json({"blob": blob_digest(data), "base64": base64.b64encode(data).decode()})
            + "\n"
        )
    count = 0
    for row in rows:
        out.write(canonical_json(row._asdict()) + "\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str], source: str = "export") -> Iterator[RawRow | bytes]:
    """Rows (and blobs, as bytes) from JSON Lines, each checked for shape (a blob against its
    digest); ``JournalCorrupt`` names the bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
        except ValueError as exc:
            raise JournalCorrupt(f"{source} line {number}: not JSON ({exc})") from None
        except RecursionError:
            raise JournalCorrupt(f"{source} line {number}: nested too deeply to read") from None
        if isinstance(data, dict) and set(data) == {"blob", "base64"}:
            yield _blob(data, f"{source} line {number}")
            continue
        if not isinstance(data, dict) or set(data) != set(_TYPES):
            raise JournalCorrupt(f"{source} line {number}: expected the fields {', '.join(_TYPES)}")
        for name, kinds in _TYPES.items():
            if type(data[name]) not in kinds:
                raise JournalCorrupt(f"{source} line {number}: field {name!r} has the wrong type")
        meta = _json_object(data["meta"])
        if meta is None:
            raise JournalCorrupt(f"{source} line {number}: field 'meta' is not a JSON object")
        yield RawRow(**data)


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
