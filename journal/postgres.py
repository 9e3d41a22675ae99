"""The journal on PostgreSQL: ``PostgresRecorder`` stores the rows, ``PostgresJournal`` is the
generic ``Journal`` over it. Chosen by a ``postgresql://`` URL (``--db``, ``CXPREVIEW_DB``).

Same guarantees as the SQLite journal, kept by the server across hosts:

- **One total chain.** Every append first locks ``chain``, the one row that holds the chain's
  head (``SELECT … FOR UPDATE``), then checks the command id, the fence and the stream's
  version, inserts the rows and moves the head on, and commits. Appends from every host are
  thereby serialised: that costs one row lock held for the length of an append's transaction
  (its commit's fsync included), which is what one chain means; readers never wait on it.
  A lone append takes two round trips: ``BEGIN`` with its reads in one statement (the chain
  locked, the version, the command id, the lease), then its writes with ``COMMIT`` (one
  pipeline). What that statement read before it got the lock may be old by the time it has
  it; an insert that then breaks ``UNIQUE`` goes again the long way, each read after the lock.
- ``UNIQUE (stream_id, version)`` backs the version check; the commands table the command ids.
- **The fence in the append.** The lease row is read ``FOR SHARE`` in the same transaction:
  a takeover (an ``UPDATE`` of that row) waits for the append to commit, so an event is never
  written under a fence that moved before its commit.
- **Group commit**, as on SQLite: appends queued by this process's threads share one
  transaction and one commit: in one round trip while this writer knows the chain's head
  (``journal/postgres_append.py``), else the long way, a savepoint each.
- ``NOTIFY`` on channel ``cxpreview`` (payload: the schema) when a run is asked for or a lease
  released, delivered at commit; ``wait_for_work`` is how a supervisor hears it (``LISTEN`` on
  a connection of its own).

Connections: one for writes (the group commit's), one for reads (autocommit: each statement
sees what is committed), one for ``LISTEN`` when a supervisor waits. A connection that breaks
(the server restarted, the network dropped) raises ``JournalUnavailable``: nothing was
written, or, if it broke during the commit, the journal says so (the step's next read settles
it); the next call connects again. ``statement_timeout`` (30 s by default, ``?options=`` in
the URL to change it) bounds every statement: one that runs past it is ``JournalBusy``.
psycopg is imported when a PostgreSQL journal is opened: the ``postgres`` extra.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from events.clock import Clock, SystemClock, utc_text
from events.crash import crash_point
from journal import claims as claims_rules
from journal import leases as leases_rules
from journal.claims import ClaimChange, ClaimRow
from journal.errors import (
    ConcurrencyError,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalUnavailable,
    NoJournal,
)
from journal.group import GroupCommit
from journal.heads import HEAD_COLUMNS, HeadFields, HeadRow, head_row
from journal.journal import Journal
from journal.postgres_append import MOST_ROWS, fits, parameters, statement
from journal.postgres_schema import check_and_migrate
from journal.recorder import Appended, Commands, Feed, Fence, LeaseRow, Row, RowsAfter
from journal.records import GENESIS
from journal.schema import EVENT_COLUMNS, OUTCOME_TYPES
from journal.sqlite_append import Queued

PAGE = 1000
CHANNEL = "cxpreview"
WORK_TYPES = ("run.requested",)
"""Event types whose append tells waiting supervisors there is work (``NOTIFY``)."""
_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"  # noqa: S608
_FULL = f"SELECT {EVENT_COLUMNS} FROM events"  # noqa: S608
_LEAN_STREAM = "SELECT seq, type, schema, data FROM events"
_LEAN_ALL = "SELECT seq, stream_id, type, schema, data FROM events"
_KEPT = ", ".join(
    f"{c} = excluded.{c}" for c in HEAD_COLUMNS if c not in ("stream_id", "first_seq")
)
_PUT_HEAD = (
    f"INSERT INTO heads ({', '.join(HEAD_COLUMNS)}) "  # noqa: S608 - constants only
    f"VALUES ({', '.join(['%s'] * len(HEAD_COLUMNS))}) "
    f"ON CONFLICT (stream_id) DO UPDATE SET {_KEPT}"
)
_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = %s"
_LOCK_CHAIN = "SELECT seq, hash FROM chain FOR UPDATE"
"""The chain's head, locked until the commit. (A stream's version is read by a statement of
its own after it: read in the same statement, it would come from the snapshot taken before
the lock was waited for, a version another host's commit may have moved on since.)"""
_OPENING = (
    "SELECT c.seq, c.hash, "
    "(SELECT coalesce(max(version), 0) FROM events WHERE stream_id = %s), "
    "EXISTS (SELECT 1 FROM commands WHERE command_id = %s), "
    "(SELECT ARRAY[owner, fence::text, expires_at] FROM leases WHERE name = %s FOR SHARE) "
    "FROM chain c FOR UPDATE OF c"
)
"""A lone append's reads in one statement: the chain's head (locked), the stream's version,
whether its command id is known, its lease (locked for share). The version and the command
come from the snapshot taken before the lock was waited for: a commit that moved either on
meanwhile makes this append's insert break ``UNIQUE``, and it goes again the long way."""
_WRITE = f"WITH e AS ({_INSERT}) UPDATE chain SET seq = %s, hash = %s"  # noqa: S608
_WRITE_HEADED = f"WITH e AS ({_INSERT}), h AS ({_PUT_HEAD}) UPDATE chain SET seq = %s, hash = %s"  # noqa: S608
"""An append's last row, its stream's head and the chain's new head, in one statement."""
_OUTCOMES = (
    "SELECT seq, stream_id, type, (data::jsonb ->> 'latency_ms')::float8, "  # noqa: S608
    "coalesce((data::jsonb ->> 'reconciled')::boolean::int, 0) "
    f"FROM events WHERE type IN ({OUTCOME_TYPES})"
)


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - only a PostgreSQL journal needs it
    except ImportError:
        raise JournalError(
            "a postgresql:// journal needs psycopg: pip install 'cxpreview[postgres]'"
        ) from None
    return psycopg


class PostgresJournal(Journal):
    """The journal in a PostgreSQL database (the URL's current schema)."""

    recorder: PostgresRecorder

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        create: bool = True,
        statement_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        clock = clock or SystemClock()
        recorder = PostgresRecorder(
            url,
            clock=clock,
            create=create and not read_only,
            statement_timeout=statement_timeout,
            read_only=read_only,
        )
        super().__init__(recorder, clock=clock, read_only=read_only)
        self.url = url

    def __enter__(self) -> PostgresJournal:
        return self


class PostgresRecorder:
    """The rows of a journal in PostgreSQL (``journal.recorder.Recorder``)."""

    behind: str | None = None  # the server keeps the journal; no local head mark

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        create: bool = True,
        statement_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self._psycopg = _psycopg()
        self._read_only = read_only  # every transaction read-only, by the server's own rule
        self.url = url
        self.where = redacted(url)
        self.clock = clock or SystemClock()
        self._timeout_ms = int(statement_timeout * 1000)
        self._lock = threading.RLock()  # the writer connection
        self._read_lock = threading.RLock()
        self._group = GroupCommit(self._locked_commit)  # appends waiting for a commit
        self._writer: Any = None
        self._reader: Any = None
        self._listener: Any = None
        self._work = threading.Event()
        self._loading: dict[str, bytes] = {}  # blobs of an import under way (load)
        # The chain's head as this writer's last commit left it (journal/postgres_append.py);
        # None when not known. After an append that found it moved, the next ones go the
        # long way for a while (another host is appending too).
        self._tip: tuple[int, str] | None = None
        self._skip_one_trip = 0
        self.one_trips = 0  # appends made in one round trip (for tests and benchmarks)
        self.schema = ""
        conn = self._connect(autocommit=True)
        try:
            if not check_and_migrate(conn, self.where, create=create, migrate=not read_only):
                raise NoJournal(
                    f"{self.where} holds no cxpreview journal; run or draft creates one"
                )
            self.schema = conn.execute("SELECT current_schema()").fetchone()[0]
        except self._psycopg.Error as exc:
            conn.close()
            raise self._translated(exc, "open") from exc
        except BaseException:
            conn.close()
            raise
        self._reader = conn

    # --- connections --------------------------------------------------------------------

    def _connect(self, *, autocommit: bool) -> Any:
        try:
            params = self._psycopg.conninfo.conninfo_to_dict(self.url)
            # The URL's own options (a search_path, say) are kept; the timeout goes after.
            options = f"{params.get('options') or ''} -c statement_timeout={self._timeout_ms}"
            if self._read_only:
                options += " -c default_transaction_read_only=on"
            params.setdefault("connect_timeout", 5)
            params["options"] = options.strip()
            return self._psycopg.connect(
                self._psycopg.conninfo.make_conninfo("", **params), autocommit=autocommit
            )
        except self._psycopg.Error as exc:
            raise JournalUnavailable(
                f"cannot reach the journal at {self.where}: {_first_line(exc)}"
            ) from None

    def _write_conn(self) -> Any:
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = self._connect(autocommit=True)  # transactions are explicit
        return self._writer

    def _read_conn(self) -> Any:
        if self._reader is None or self._reader.closed or self._reader.broken:
            self._reader = self._connect(autocommit=True)
        return self._reader

    def _translated(self, exc: Exception, what: str) -> JournalError:
        errors = self._psycopg.errors
        if isinstance(exc, errors.QueryCanceled):
            return JournalBusy(
                f"{what} on {self.where} ran past the {self._timeout_ms / 1000:g}s statement "
                "timeout; nothing was written: try again"
            )
        if isinstance(exc, errors.IntegrityError):
            return JournalCorrupt(f"{what} on {self.where} broke a constraint: {_first_line(exc)}")
        if isinstance(exc, self._psycopg.OperationalError | self._psycopg.InterfaceError):
            return JournalUnavailable(
                f"{what} on {self.where}: the connection to the server was lost "
                f"({_first_line(exc)}); nothing was written unless it broke during the "
                "commit, which the step's next read settles"
            )
        return JournalError(f"{what} on {self.where} failed: {_first_line(exc)}")

    def _read(self, query: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read, on the reader connection; a read is safe to send again, so one that
        finds its connection broken (the server restarted since) is, once, on a new one."""
        with self._read_lock:
            for attempt in (1, 2):
                conn = self._read_conn()
                try:
                    return list(conn.execute(query, args).fetchall())
                except self._psycopg.OperationalError as exc:
                    if attempt == 2 or not conn.broken:
                        raise self._translated(exc, "read") from exc
                except self._psycopg.Error as exc:
                    raise self._translated(exc, "read") from exc
            raise AssertionError("unreachable")

    def _write(self, what: str, work: Callable[[Any], Any]) -> Any:
        """``work(conn)`` in one transaction of the writer connection."""
        with self._lock:
            conn = self._write_conn()
            try:
                with conn.transaction():
                    return work(conn)
            except self._psycopg.Error as exc:
                raise self._translated(exc, what) from exc

    @property
    def location(self) -> str | None:
        """The URL: another process opens the same journal with it."""
        return self.url

    def integrity_problem(self) -> str | None:
        """PostgreSQL keeps its own pages checked; the chain is verified by the journal."""
        return None

    # --- writing ------------------------------------------------------------------------

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
        """``Recorder.append`` by group commit (see the module docstring)."""
        mine = Queued(stream_id, expected_version, rows_after, command, claims, head, fence)
        return self._group.submit(mine)

    def _locked_commit(self, group: list[Queued]) -> None:
        with self._lock:  # the connection, shared with reads and lease writes
            self._commit(group)

    def _commit(self, group: list[Queued]) -> None:
        """The group's appends in one round trip when this writer knows the chain's head and
        they fit (``_one_trip``); what is left goes in one transaction: the chain row locked
        first, then each caller's append, in a savepoint of its own when there are several,
        or, one alone that settles no claim, the short way (``_commit_alone``: two round
        trips, its reads in one statement, its writes and commit in one pipeline)."""
        try:
            group = self._one_trip(group)
            if not group:
                return
            self._tip = None
            if len(group) == 1 and group[0].claims is None and self._commit_alone(group[0]):
                return
            self._tip = self._commit_long(group)
        except BaseException as exc:
            self._tip = None
            error: BaseException = exc
            if isinstance(exc, self._psycopg.Error):
                error = self._translated(exc, "append")
                error.__cause__ = exc
            for queued in group:
                queued.result = None
                queued.error = queued.error or error
            if not isinstance(exc, Exception):
                raise

    def _commit_long(self, group: list[Queued]) -> tuple[int, str]:
        """``group`` the long way: the chain row locked, then every caller read and written
        in turn; the chain's head after."""
        conn = self._write_conn()
        with conn.transaction():
            cur = conn.cursor()
            found = cur.execute(_LOCK_CHAIN).fetchone()
            tip = (int(found[0]), str(found[1]))
            notify = False
            for queued in group:
                if len(group) == 1:
                    queued.result = self._append_one(cur, queued, tip)
                else:
                    try:
                        with conn.transaction():  # a savepoint: this caller's alone
                            queued.result = self._append_one(cur, queued, tip)
                    except self._psycopg.Error:
                        raise  # the server's trouble: the whole group is refused
                    except Exception as exc:
                        queued.error = exc
                        continue
                rows = queued.result.rows
                if queued.result.replayed is None:
                    tip = (int(rows[-1][0]), str(rows[-1][10]))
                    notify = notify or any(r[3] in WORK_TYPES for r in rows)
            if notify:
                cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self.schema))
        return tip

    def _commit_alone(self, queued: Queued) -> bool:
        """A lone append the short way: ``BEGIN`` and its reads in one round trip, its
        writes and ``COMMIT`` in a second (one pipeline). False when it must go the long way:
        its command id is known (a replay), or what it read before the chain's lock moved on
        meanwhile (its insert broke ``UNIQUE``); nothing is written then."""
        conn = self._write_conn()
        stream_id, fence, command = queued.stream_id, queued.fence, queued.command
        committed = False
        try:
            with conn.pipeline():  # leaving it syncs: the server's answer, an error raised
                cur = conn.cursor()
                cur.execute("BEGIN")
                cur.execute(
                    _OPENING,
                    (
                        stream_id,
                        None if command is None else command[0],
                        None if fence is None else fence[0],
                    ),
                )
                seq, hash_, version, known, lease = cur.fetchone()
                if known:
                    return False
                if fence is not None:
                    lost = leases_rules.fenced_out(
                        None if lease is None else (lease[0], int(lease[1]), lease[2]), fence
                    )
                    if lost is not None:
                        raise lost
                if version != queued.expected_version:
                    raise ConcurrencyError(stream_id, queued.expected_version, version)
                rows = queued.rows_after(int(seq), version, str(hash_))
                self._write_rows(cur, queued, rows)
                if any(r[3] in WORK_TYPES for r in rows):
                    cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self.schema))
                cur.execute("COMMIT")
            committed = True
        except self._psycopg.errors.UniqueViolation:
            return False  # another host's commit moved the version or the command on
        finally:
            if not committed and not conn.broken and conn.info.transaction_status:
                conn.execute("ROLLBACK")  # not idle: the transaction is open or failed
        queued.result = Appended(rows)
        self._tip = (int(rows[-1][0]), str(rows[-1][10]))
        return True

    def _one_trip(self, group: list[Queued]) -> list[Queued]:
        """The group's appends in one round trip, when this writer knows the chain's head
        and every one of them fits (journal/postgres_append.py): a statement each, each
        after the rows of the one before, in one transaction sent as one pipeline. The
        callers not appended: all of them when the way did not fit; from the first whose
        checks failed on (nothing of theirs was written), for the long way to read
        everything again and say which check failed."""
        tip = self._tip
        if tip is None or not all(fits(queued) for queued in group):
            return group
        if self._skip_one_trip:
            self._skip_one_trip -= 1
            return group
        planned = []
        for queued in group:
            rows = queued.rows_after(tip[0], queued.expected_version, tip[1])
            if len(rows) > MOST_ROWS or any(r[3] in WORK_TYPES for r in rows):
                return group
            sql = statement(
                len(rows),
                queued.fence is not None,
                queued.claims is not None,
                queued.command is not None,
            )
            planned.append((queued, rows, sql, parameters(queued, rows, tip)))
            tip = (int(rows[-1][0]), str(rows[-1][10]))
        crash_point("journal-mid-append")
        conn = self._write_conn()
        if len(planned) == 1:  # its own transaction: one statement on the autocommit writer
            cursors = [conn.execute(planned[0][2], planned[0][3])]
        else:
            with conn.pipeline(), conn.transaction():
                cursors = [conn.execute(sql, params) for _, _, sql, params in planned]
        for at, ((queued, rows, _, _), cur) in enumerate(zip(planned, cursors, strict=True)):
            if cur.fetchone() is None:  # the chain moved on, or a check failed: not written,
                self._skip_one_trip = 16  # nor anything after it (each followed the one before)
                return group[at:]
            self._tip = (int(rows[-1][0]), str(rows[-1][10]))
            self.one_trips += 1
            queued.result = Appended(rows)
        return []

    def _append_one(self, cur: Any, queued: Queued, tip: tuple[int, str]) -> Appended:
        """One caller's append after the chain's head ``tip`` (the chain row locked)."""
        stream_id, expected_version, command = (
            queued.stream_id,
            queued.expected_version,
            queued.command,
        )
        if command is not None:
            found = cur.execute(
                "SELECT first_seq, last_seq, fingerprint FROM commands WHERE command_id = %s",
                (command[0],),
            ).fetchone()
            if found is not None:
                rows = cur.execute(
                    f"{_FULL} WHERE seq BETWEEN %s AND %s ORDER BY seq", (found[0], found[1])
                ).fetchall()
                return Appended([tuple(r) for r in rows], found[2])
        if queued.fence is not None:  # a takeover waits for this transaction (FOR SHARE)
            row = cur.execute(
                "SELECT owner, fence, expires_at FROM leases WHERE name = %s FOR SHARE",
                (queued.fence[0],),
            ).fetchone()
            lost = leases_rules.fenced_out(
                None if row is None else (row[0], int(row[1]), str(row[2])), queued.fence
            )
            if lost is not None:
                raise lost
        version = cur.execute(_VERSION, (stream_id,)).fetchone()[0]
        if version != expected_version:
            raise ConcurrencyError(stream_id, expected_version, version)
        rows = queued.rows_after(tip[0], version, tip[1])
        self._write_rows(cur, queued, rows)
        return Appended(rows)

    def _write_rows(self, cur: Any, queued: Queued, rows: list[Row]) -> None:
        """An append's writes: its rows, the chain's new head, its stream's head, its
        command and its claims."""
        stream_id, command = queued.stream_id, queued.command
        last = rows[-1]
        if len(rows) > 1:
            cur.executemany(_INSERT, rows[:-1])
        crash_point("journal-mid-append")
        # The last row, the head and the chain's new head in one statement: one round trip.
        if queued.head is not None:
            cur.execute(
                _WRITE_HEADED, (*last, *head_row(queued.head, rows[0][0], last), last[0], last[10])
            )
        else:
            cur.execute(_WRITE, (*last, last[0], last[10]))
            cur.execute("DELETE FROM heads WHERE stream_id = %s", (stream_id,))
            cur.execute("DELETE FROM derived WHERE name = 'heads'")
        if command is not None:
            cur.execute(
                "INSERT INTO commands VALUES (%s, %s, %s, %s, %s)",
                (command[0], stream_id, rows[0][0], last[0], command[1]),
            )
        if queued.claims is not None:
            first = rows[0][0] if queued.expected_version == 0 else None
            claims_rules.settle(_Claims(cur), stream_id, queued.claims, first)

    def settle_claims(self, stream_id: str, claims: ClaimChange) -> None:
        """Settle ``claims`` in a transaction of its own."""
        self._write(
            "hold_claim",
            lambda conn: claims_rules.settle(_Claims(conn.cursor()), stream_id, claims, None),
        )

    def claim_row(self, name: str) -> ClaimRow | None:
        """The claim as stored."""
        found = self._read(
            "SELECT name, stream_id, since_seq, held FROM claims WHERE name = %s", (name,)
        )
        if not found:
            return None
        row = found[0]
        return ClaimRow(row[0], row[1], int(row[2]), bool(row[3]))

    def load(self, feed: Feed, commands: Commands) -> int:
        """Fill the empty journal in one transaction: all of it, or nothing."""
        now = utc_text(self.clock.now())
        self._tip = None  # the import moves the chain on

        def work(conn: Any) -> int:
            cur = conn.cursor()
            cur.execute("SELECT seq FROM chain FOR UPDATE")
            if cur.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                raise JournalError(f"{self.where} already has events: import into a new journal")

            def blob(digest: str, data: bytes) -> None:
                cur.execute(
                    "INSERT INTO blobs VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (digest, len(data), data, now),
                )
                # Readers use another connection, which sees only what is committed: the
                # import's own checks of later rows find the blob here until it is.
                self._loading[digest] = data

            batch: list[Row] = []
            count, last = 0, None
            for row in feed(blob):
                batch.append(row)
                count, last = count + 1, row
                if len(batch) == PAGE:
                    cur.executemany(_INSERT, batch)
                    batch.clear()
            if batch:
                cur.executemany(_INSERT, batch)
            records = commands()
            if records:
                cur.executemany("INSERT INTO commands VALUES (%s, %s, %s, %s, %s)", records)
            if last is not None:
                cur.execute("UPDATE chain SET seq = %s, hash = %s", (last[0], last[10]))
                cur.execute("DELETE FROM derived WHERE name = 'heads'")
            return count

        try:
            result: int = self._write("import", work)
        finally:
            self._loading.clear()
        return result

    def put_blob(self, digest: str, data: bytes) -> None:
        """Store the blob (again: nothing happens)."""
        self._write(
            "put_blob",
            lambda conn: conn.execute(
                "INSERT INTO blobs VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (digest, len(data), data, utc_text(self.clock.now())),
            ),
        )

    # --- reading ------------------------------------------------------------------------

    def stream_rows(self, stream_id: str, up_to_version: int | None, lean: bool) -> list[Row]:
        """The stream's rows by version."""
        select = _LEAN_STREAM if lean else _FULL
        if up_to_version is None:
            return self._read(f"{select} WHERE stream_id = %s ORDER BY version", (stream_id,))
        return self._read(
            f"{select} WHERE stream_id = %s AND version <= %s ORDER BY version",
            (stream_id, up_to_version),
        )

    def rows_after(self, after_seq: int, limit: int, lean: bool) -> list[Row]:
        """One keyset page by seq."""
        select = _LEAN_ALL if lean else _FULL
        return self._read(f"{select} WHERE seq > %s ORDER BY seq LIMIT %s", (after_seq, limit))

    def head(self) -> tuple[int, str]:
        """The chain's head, as ``chain`` holds it."""
        row = self._read("SELECT seq, hash FROM chain")[0]
        return (0, GENESIS) if row[0] == 0 else (int(row[0]), str(row[1]))

    def streams(self) -> list[tuple[str, int]]:
        """Every stream with its newest version, in order of its first event."""
        rows = self._read(
            "SELECT stream_id, max(version), min(seq) AS first FROM events "
            "GROUP BY stream_id ORDER BY first"
        )
        return [(r[0], r[1]) for r in rows]

    def rows_by_stream(self, start: str = "", stop: str | None = None) -> Iterator[list[Row]]:
        """Every stream's rows, one stream at a time, read in keyset pages."""
        after: tuple[str, int] = (start, 0)
        current: list[Row] = []
        while True:
            page = self._read(
                f"{_FULL} WHERE (stream_id, version) > (%s, %s) "
                "AND (%s::text IS NULL OR stream_id < %s) "
                "ORDER BY stream_id, version LIMIT %s",
                (*after, stop, stop, PAGE),
            )
            for row in page:
                if current and row[1] != current[0][1]:
                    yield current
                    current = []
                current.append(row)
            if len(page) < PAGE:
                break
            after = (page[-1][1], page[-1][2])
        if current:
            yield current

    def stream_bounds(self, parts: int) -> list[str]:
        """Stream ids that cut the streams into ``parts`` ranges of about as many rows."""
        total = self._read("SELECT count(*) FROM events")[0][0] or 0
        bounds: list[str] = []
        for k in range(1, parts):
            row = self._read(
                "SELECT stream_id FROM events ORDER BY stream_id, version LIMIT 1 OFFSET %s",
                (total * k // parts,),
            )
            if row and (not bounds or row[0][0] > bounds[-1]):
                bounds.append(row[0][0])
        first = self._read("SELECT min(stream_id) FROM events")[0][0]
        return [b for b in bounds if b != first]

    def activation_outcomes(self) -> list[tuple[Any, ...]]:
        """Every activation outcome as ``(seq, stream_id, type, latency_ms, reconciled)``;
        ``JournalCorrupt`` names the seq of a payload that is not JSON."""
        try:
            return self._read(_OUTCOMES)
        except JournalError:
            for seq, data in self._read(
                f"SELECT seq, data FROM events WHERE type IN ({OUTCOME_TYPES}) ORDER BY seq"  # noqa: S608
            ):
                try:
                    self._read("SELECT %s::jsonb", (data,))
                except JournalError:
                    raise JournalCorrupt(
                        f"seq {seq}: the activation outcome's payload is not JSON", seq
                    ) from None
            raise

    # --- heads ---------------------------------------------------------------------------

    def heads_ready(self) -> bool:
        """Whether every stream's head is there."""
        return bool(self._read("SELECT 1 FROM derived WHERE name = 'heads'"))

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
        """Heads in draft order (``newest`` first when asked), filtered in SQL."""
        where: list[str] = ["true"]
        args: list[object] = []
        if state:
            where.append("state = ANY(%s)")
            args.append(list(state))
        if since is not None:
            where.append("last_at >= %s")
            args.append(since)
        if unfinished:
            where.append("unfinished = 1")
        if after is not None:
            where.append("first_seq < %s" if newest else "first_seq > %s")
            args.append(after)
        order = "DESC" if newest else "ASC"
        query = (
            f"SELECT {', '.join(HEAD_COLUMNS)} FROM heads WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY first_seq {order} LIMIT %s"
        )
        args.append(limit)
        return self._read(query, args)

    def head_of(self, stream_id: str) -> HeadRow | None:
        """One stream's head, if stored."""
        rows = self._read(
            f"SELECT {', '.join(HEAD_COLUMNS)} FROM heads WHERE stream_id = %s",  # noqa: S608
            (stream_id,),
        )
        return rows[0] if rows else None

    def census(self) -> dict[str, int]:
        """How many streams are in each state (one index scan of the heads)."""
        rows = self._read("SELECT state, count(*) FROM heads GROUP BY state")
        return {r[0]: int(r[1]) for r in rows}

    def rebuild_heads(
        self, make: Callable[[list[Row]], HeadFields], progress: Callable[[int], None] | None
    ) -> int:
        """Every head again from the rows, one stream at a time, in one transaction."""

        def work(conn: Any) -> int:
            cur, writer = conn.cursor(), conn.cursor()
            cur.execute("DELETE FROM heads")
            count, rows = 0, []  # type: ignore[var-annotated]
            with conn.cursor(name="rebuild_heads") as reader:  # server-side: a page at a time
                reader.execute(f"{_FULL} ORDER BY stream_id, version")
                for row in reader:
                    if rows and row[1] != rows[0][1]:
                        writer.execute(_PUT_HEAD, head_row(make(rows), rows[0][0], rows[-1]))
                        count += 1
                        if progress is not None:
                            progress(count)
                        rows = []
                    rows.append(tuple(row))
            if rows:
                writer.execute(_PUT_HEAD, head_row(make(rows), rows[0][0], rows[-1]))
                count += 1
                if progress is not None:
                    progress(count)
            cur.execute(
                "INSERT INTO derived VALUES ('heads', 'built') ON CONFLICT (name) DO NOTHING"
            )
            return count

        result: int = self._write("rebuild heads", work)
        return result

    def blob_digests(self) -> list[str]:
        """Every blob's digest, sorted."""
        return [r[0] for r in self._read("SELECT digest FROM blobs ORDER BY digest")]

    def get_blob(self, digest: str) -> bytes | None:
        """The blob's bytes, if stored (or being imported)."""
        if digest in self._loading:
            return self._loading[digest]
        rows = self._read("SELECT data FROM blobs WHERE digest = %s", (digest,))
        return None if not rows else bytes(rows[0][0])

    # --- leases -------------------------------------------------------------------------

    def read_lease(self, name: str) -> LeaseRow | None:
        """The lease row, if any."""
        rows = self._read("SELECT owner, fence, expires_at FROM leases WHERE name = %s", (name,))
        return None if not rows else (rows[0][0], int(rows[0][1]), str(rows[0][2]))

    def write_lease(self, name: str, expect: LeaseRow | None, new: LeaseRow) -> bool:
        """Compare-and-set on the whole row; a release (no owner) tells waiting supervisors."""

        def work(conn: Any) -> bool:
            if expect is None:
                cur = conn.execute(
                    "INSERT INTO leases VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                    (name, *new),
                )
            else:
                cur = conn.execute(
                    "UPDATE leases SET owner = %s, fence = %s, expires_at = %s "
                    "WHERE name = %s AND owner IS NOT DISTINCT FROM %s AND fence = %s "
                    "AND expires_at = %s",
                    (*new, name, *expect),
                )
            written = bool(cur.rowcount == 1)
            if written and new[0] is None:
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self.schema))
            return written

        result: bool = self._write("write_lease", work)
        return result

    # --- waking supervisors --------------------------------------------------------------

    def wait_for_work(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for a ``NOTIFY`` of this journal (a run asked for, a lease
        released) from any process; whether one came. The first call starts listening."""
        self.listen_for_work()
        woke = self._work.wait(seconds)
        self._work.clear()
        return woke

    def listen_for_work(self) -> None:
        """``LISTEN`` on a connection of its own, heard by a thread, from now on (again after
        the connection broke: a wake is sent then, as anything may have been missed)."""
        if self._listener is not None:
            return
        conn = self._connect(autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        self._listener = conn
        schema = self.schema

        def hear() -> None:
            try:
                for note in conn.notifies():
                    if note.payload == schema:
                        self._work.set()
            except self._psycopg.Error:  # closed, or the server went away: polling goes on
                self._work.set()
                self._listener = None

        threading.Thread(target=hear, name="journal listener", daemon=True).start()

    # --- plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection."""
        with self._lock, self._read_lock:
            for conn in (self._writer, self._reader, self._listener):
                if conn is not None:
                    conn.close()
            self._writer = self._reader = self._listener = None


class _Claims:
    """The ``claims`` table inside the current transaction (a ``claims.ClaimStore``)."""

    __slots__ = ("cur",)

    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def get(self, name: str) -> ClaimRow | None:
        found = self.cur.execute(
            "SELECT name, stream_id, since_seq, held FROM claims WHERE name = %s", (name,)
        ).fetchone()
        return None if found is None else ClaimRow(found[0], found[1], found[2], bool(found[3]))

    def put(self, row: ClaimRow) -> None:
        self.cur.execute(
            "INSERT INTO claims VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
            "stream_id = excluded.stream_id, since_seq = excluded.since_seq, held = excluded.held",
            (row.name, row.stream_id, row.since_seq, int(row.held)),
        )

    def first_seq(self, stream_id: str) -> int | None:
        first = self.cur.execute(
            "SELECT seq FROM events WHERE stream_id = %s AND version = 1", (stream_id,)
        ).fetchone()
        return None if first is None else int(first[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
