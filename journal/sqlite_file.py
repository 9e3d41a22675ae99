"""The SQLite journal's file: refusing paths SQLite must not be let loose on, creating a journal
whole, and the connection's settings."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

from journal.errors import JournalError, NoJournal, NotAJournal
from journal.schema import check_and_migrate


def refuse_odd_paths(path: str, create: bool) -> None:
    """A path SQLite must not be let loose on: nothing there (when not creating), a link to
    nothing, a FIFO or a device (opening one blocks or reads garbage), a directory."""
    target = Path(path)
    if target.is_symlink() and not target.exists():
        raise NoJournal(f"{path} is a symbolic link to nothing; point --db at a journal file")
    if not target.exists():
        if not create:
            raise NoJournal(
                f"no journal at {path}: this command reads one and creates none "
                "(is --db, or $CXPREVIEW_DB, right?)"
            )
        return
    if target.is_dir():
        raise NotAJournal(f"{path} is a directory, not a journal file")
    if not target.is_file():
        raise NotAJournal(f"{path} is not a regular file (a FIFO or a device?), not a journal")


def create_whole(path: str) -> bool:
    """Create the journal at ``path`` whole, if there is none: its schema is written to a
    private temporary file beside it, which is then linked into place, so no process ever
    sees a journal file half made (an empty file is refused as damaged). True if this call
    created it; false if it existed (or another process created it meanwhile)."""
    target = Path(path)
    if target.exists() or target.is_symlink():
        return False
    if not target.parent.is_dir():
        raise JournalError(f"cannot create a journal at {path}: no directory {target.parent}")
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    try:
        # Owner-only from the start: journals hold campaign data.
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            check_and_migrate(conn, path)
            # Born in WAL mode (the mode is kept in the file): openers racing to a new journal
            # never have to switch it, which takes a lock that waits for no busy timeout.
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(temp, target)
        except FileExistsError:
            return False
        return True
    except OSError as exc:
        raise JournalError(f"cannot create a journal at {path}: {exc.strerror or exc}") from exc
    finally:
        temp.unlink(missing_ok=True)


def connect(path: str, busy_timeout: float, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the journal at ``path``; ``read_only``: one SQLite itself refuses to
    write through (``PRAGMA query_only``; not ``mode=ro``, which would leave the write-ahead
    log's side files behind it, where the last connection to close removes them). A journal
    on storage nothing can write to (a read-only mount, an archived copy) is read as the
    immutable file it is (``on_read_only_storage``)."""
    if path != ":memory:":
        target = Path(path)
        if target.is_dir():
            raise NotAJournal(f"{path} is a directory, not a journal file")
        if target.is_file() and target.stat().st_size == 0:
            raise NotAJournal(
                f"{path} is an empty file (0 bytes), not a journal: a journal is never empty "
                "once created. If it was cut short, restore it; otherwise remove it"
            )
    immutable = read_only and path != ":memory:" and on_read_only_storage(path)
    conn = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1" if immutable else path,
        uri=immutable,
        isolation_level=None,
        check_same_thread=False,
        timeout=busy_timeout,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def on_read_only_storage(path: str) -> bool:
    """Whether the journal at ``path`` sits where nothing can write, neither the file nor the
    folder its write-ahead log would go in: then nothing can change it while it is read, and
    SQLite, which cannot make the log's shared-memory file there, must be told it is
    immutable. ``JournalError`` when its log holds events the file does not (a copy taken
    while a writer had it open): read without them, it would look shorter than it is."""
    target = Path(path)
    if os.access(target, os.W_OK) and os.access(target.parent, os.W_OK):
        return False
    log = target.with_name(target.name + "-wal")
    if log.exists() and log.stat().st_size > 0:
        raise JournalError(
            f"{path} is on storage that cannot be written, and its write-ahead log "
            f"({log.name}, {log.stat().st_size:,} bytes) holds events not yet in the file: "
            "copy the journal with its -wal file to writable storage to read it whole"
        )
    return True


def checked_sync(value: str) -> str:
    if value not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {value!r}")
    return value
