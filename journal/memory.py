"""``InMemoryJournal``: the generic journal over rows kept in plain Python, for tests and REPL
sessions.

``InMemoryRecorder`` keeps exactly what the SQLite file keeps (rows as stored, command records,
leases, claims, blobs) and passes the same contract suite, so code tested against it behaves
the same on a file.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from events.clock import Clock
from journal import claims as claims_rules
from journal import leases as leases_rules
from journal.claims import ClaimChange, ClaimRow
from journal.errors import ConcurrencyError, JournalCorrupt, JournalError
from journal.heads import HeadFields, HeadRow, head_row
from journal.journal import Journal
from journal.recorder import Appended, Commands, Feed, Fence, LeaseRow, Row, RowsAfter
from journal.records import GENESIS
from journal.schema import OUTCOMES


class InMemoryJournal(Journal):
    """A journal that lives and dies with the process."""

    recorder: InMemoryRecorder

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(InMemoryRecorder(), clock=clock)

    def __repr__(self) -> str:
        return f"InMemoryJournal({len(self.recorder.rows)} events)"


class _Claims:
    """The claim rows as a ``claims.ClaimStore`` whose writes are kept aside until the
    append they belong to succeeds (``commit``): a refused claim changes nothing."""

    def __init__(self, recorder: InMemoryRecorder) -> None:
        self.recorder = recorder
        self.writes: dict[str, ClaimRow] = {}

    def get(self, name: str) -> ClaimRow | None:
        return self.writes.get(name) or self.recorder.claims.get(name)

    def put(self, row: ClaimRow) -> None:
        self.writes[row.name] = row

    def first_seq(self, stream_id: str) -> int | None:
        index = self.recorder.by_stream.get(stream_id)
        return self.recorder.rows[index[0]][0] if index else None

    def commit(self) -> None:
        self.recorder.claims.update(self.writes)


class InMemoryRecorder:
    """Rows in a list, indexed by stream; one lock makes every method atomic."""

    where = "memory"
    behind: str | None = None  # rows in memory cannot lose their newest ones

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.rows: list[Row] = []
        self.by_stream: dict[str, list[int]] = {}  # stream id -> index into rows, per version
        self._commands: dict[str, tuple[int, int, str]] = {}
        self._leases: dict[str, LeaseRow] = {}
        self._blobs: dict[str, bytes] = {}
        self.claims: dict[str, ClaimRow] = {}
        self._heads: dict[str, HeadRow] = {}  # in first-append order (dicts keep it)
        self._heads_ready = True

    def append(
        self,
        stream_id: str,
        expected_version: int,
        rows_after: RowsAfter,
        *,
        command: tuple[str, str] | None,
        claims: ClaimChange | None,
        head: HeadFields | None = None,
        fence: Fence | None = None,
    ) -> Appended:
        """All under the lock: nothing is kept if a claim is refused."""
        with self._lock:
            if command is not None and command[0] in self._commands:
                first, last, fingerprint = self._commands[command[0]]
                return Appended(self.rows[first - 1 : last], fingerprint)
            if fence is not None:  # the writer still holds the campaign, or writes nothing
                lost = leases_rules.fenced_out(self._leases.get(fence[0]), fence)
                if lost is not None:
                    raise lost
            version = len(self.by_stream.get(stream_id, ()))
            if version != expected_version:
                raise ConcurrencyError(stream_id, expected_version, version)
            seq, prev = self.head()
            rows = rows_after(seq, version, prev)
            staged = _Claims(self)
            if claims is not None:
                claims_rules.settle(staged, stream_id, claims, rows[0][0] if version == 0 else None)
            index = self.by_stream.setdefault(stream_id, [])
            index.extend(range(len(self.rows), len(self.rows) + len(rows)))
            self.rows.extend(rows)
            if command is not None:
                self._commands[command[0]] = (rows[0][0], rows[-1][0], command[1])
            staged.commit()
            if head is not None:
                had = self._heads.get(stream_id)
                self._heads[stream_id] = head_row(head, had[1] if had else rows[0][0], rows[-1])
            else:
                self._heads.pop(stream_id, None)
                self._heads_ready = False
        return Appended(rows)

    def settle_claims(self, stream_id: str, claims: ClaimChange) -> None:
        """Settle ``claims`` under the lock."""
        with self._lock:
            staged = _Claims(self)
            claims_rules.settle(staged, stream_id, claims, None)
            staged.commit()

    def claim_row(self, name: str) -> ClaimRow | None:
        """The claim as stored."""
        with self._lock:
            return self.claims.get(name)

    def load(self, feed: Feed, commands: Commands) -> int:
        """Draw every row first (blobs are kept as they come, the visitor may read them),
        then keep all of them, or none."""
        staged: dict[str, bytes] = {}

        def blob(digest: str, data: bytes) -> None:
            with self._lock:
                if digest not in self._blobs:
                    staged[digest] = self._blobs[digest] = data

        try:
            good = list(feed(blob))
            with self._lock:
                if self.rows:
                    raise JournalError("this journal already has events: import into a new one")
                for row in good:
                    self.by_stream.setdefault(row[1], []).append(len(self.rows))
                    self.rows.append(row)
                for command_id, _, first, last, fingerprint in commands():
                    self._commands[command_id] = (first, last, fingerprint)
                if good:
                    self._heads_ready = False
        except BaseException:
            with self._lock:
                for digest in staged:
                    self._blobs.pop(digest, None)
            raise
        return len(good)

    @property
    def location(self) -> str | None:
        """None: rows in this process's memory, which no other process can open."""
        return None

    def rows_by_stream(self, start: str = "", stop: str | None = None) -> Iterator[list[Row]]:
        """Every stream's rows, one stream at a time, by stream id (from ``start`` up to, not
        including, ``stop``)."""
        with self._lock:
            streams = sorted(s for s in self.by_stream if s >= start and (stop is None or s < stop))
        for stream_id in streams:
            with self._lock:
                rows = [self.rows[i] for i in self.by_stream[stream_id]]
            yield rows

    def stream_bounds(self, parts: int) -> list[str]:
        """Stream ids cutting the streams (in id order) into ``parts`` ranges."""
        with self._lock:
            streams = sorted(self.by_stream)
        cuts = {streams[len(streams) * k // parts] for k in range(1, parts) if streams}
        return sorted(cuts - {streams[0]} if streams else cuts)

    def activation_outcomes(self) -> list[tuple[Any, ...]]:
        """Every activation outcome as ``(seq, stream_id, type, latency_ms, reconciled)``."""
        with self._lock:
            rows = [r for r in self.rows if r[3] in OUTCOMES]
        out = []
        for r in rows:
            try:
                data = json.loads(r[5])
            except ValueError:
                raise JournalCorrupt(
                    f"seq {r[0]}: the activation outcome's payload is not JSON", r[0]
                ) from None
            out.append(
                (r[0], r[1], r[3], data.get("latency_ms"), int(bool(data.get("reconciled"))))
            )
        return out

    def heads_ready(self) -> bool:
        """Whether every stream's head is there."""
        with self._lock:
            return self._heads_ready

    def heads(
        self,
        *,
        state: Sequence[str] = (),
        since: str | None = None,
        unfinished: bool = False,
        limit: int | None = None,
        newest: bool = False,
        after: int | None = None,
    ) -> list[HeadRow]:
        """Heads in draft order (``newest`` first when asked), filtered."""
        with self._lock:
            rows = list(self._heads.values())
        rows = [
            r
            for r in (reversed(rows) if newest else rows)
            if (not state or r[3] in state)
            and (since is None or r[11] >= since)
            and (not unfinished or r[7])
            and (after is None or (r[1] < after if newest else r[1] > after))
        ]
        return rows if limit is None else rows[:limit]

    def head_of(self, stream_id: str) -> HeadRow | None:
        """One stream's head, if kept."""
        with self._lock:
            return self._heads.get(stream_id)

    def census(self) -> dict[str, int]:
        """How many streams are in each state."""
        with self._lock:
            return dict(Counter(r[3] for r in self._heads.values()))

    def rebuild_heads(
        self, make: Callable[[list[Row]], HeadFields], progress: Callable[[int], None] | None
    ) -> int:
        """Every head again from the rows, one stream at a time, under the lock."""
        with self._lock:
            heads: dict[str, HeadRow] = {}
            for stream_id, index in self.by_stream.items():
                rows = [self.rows[i] for i in index]
                heads[stream_id] = head_row(make(rows), rows[0][0], rows[-1])
                if progress is not None:
                    progress(len(heads))
            self._heads = dict(sorted(heads.items(), key=lambda kv: kv[1][1]))
            self._heads_ready = True
            return len(heads)

    def put_blob(self, digest: str, data: bytes) -> None:
        """Keep the blob (once)."""
        with self._lock:
            self._blobs.setdefault(digest, data)

    def stream_rows(self, stream_id: str, up_to_version: int | None, lean: bool) -> list[Row]:
        """The stream's rows (lean or not, the same tuples: nothing is saved by cutting)."""
        with self._lock:
            index = self.by_stream.get(stream_id, [])
            if up_to_version is not None:
                index = index[: max(up_to_version, 0)]
            rows = [self.rows[i] for i in index]
        if lean:
            return [(r[0], r[3], r[4], r[5]) for r in rows]
        return rows

    def rows_after(self, after_seq: int, limit: int, lean: bool) -> list[Row]:
        """Seq is the list's index plus one."""
        with self._lock:
            rows = self.rows[max(after_seq, 0) : max(after_seq, 0) + limit]
        if lean:
            return [(r[0], r[1], r[3], r[4], r[5]) for r in rows]
        return rows

    def head(self) -> tuple[int, str]:
        """The last row's seq and hash."""
        with self._lock:
            return (self.rows[-1][0], self.rows[-1][10]) if self.rows else (0, GENESIS)

    def streams(self) -> list[tuple[str, int]]:
        """Streams in the order they began."""
        with self._lock:
            return [(s, len(ix)) for s, ix in self.by_stream.items()]

    def blob_digests(self) -> list[str]:
        """Sorted digests."""
        with self._lock:
            return sorted(self._blobs)

    def get_blob(self, digest: str) -> bytes | None:
        """The blob, if kept."""
        with self._lock:
            return self._blobs.get(digest)

    def read_lease(self, name: str) -> LeaseRow | None:
        """The lease row, if any."""
        with self._lock:
            return self._leases.get(name)

    def write_lease(self, name: str, expect: LeaseRow | None, new: LeaseRow) -> bool:
        """Compare-and-set of the whole row, under the lock."""
        with self._lock:
            if self._leases.get(name) != expect:
                return False
            self._leases[name] = new
            return True

    def integrity_problem(self) -> str | None:
        """Rows in memory have no pages to damage."""
        return None

    def close(self) -> None:
        """Nothing to release."""
