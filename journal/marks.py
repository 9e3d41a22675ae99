"""Head marks: the newest point of a journal file this machine has seen, kept outside the file.

A journal that loses its newest events without a trace (its write-ahead log deleted after the
writer died, a copy restored over it) still verifies: its chain is whole, only shorter. Acting
on it would be acting on a past that was already overtaken: an activation intent that vanished
turns the next run into a second PUT. So after every append the journal writes its head
``(seq, hash)`` to a small file in the user's state directory, and on opening checks that the
row at that seq still carries that hash.

The mark is a lower bound: processes sharing a journal overwrite each other's marks after
their commits, so it may lag behind the newest append by a little, but it never names a row
that was not committed. A journal file created anew at a path forgets the old mark.

Where: ``$CXPREVIEW_STATE_DIR``, else ``$XDG_STATE_HOME/cxpreview``, else
``~/.local/state/cxpreview``; one file per journal path (``marks/<digest of the path>.head``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger("cxpreview.journal")

_RECORD = 20 + 1 + 64 + 1  # seq (zero-padded), a space, the hash, a newline


def state_dir() -> Path:
    """Where cxpreview keeps this machine's own state (head marks)."""
    explicit = os.environ.get("CXPREVIEW_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "cxpreview"


class HeadMark:
    """The mark of one journal file: read at open, written after every append."""

    def __init__(self, journal_path: str, directory: Path | None = None) -> None:
        self.journal_path = journal_path
        real = os.path.realpath(journal_path)
        name = hashlib.sha256(real.encode()).hexdigest()[:32]
        self.path = (directory or state_dir()) / "marks" / f"{name}.head"
        self._fd: int | None = None
        self._broken = False

    def read(self) -> tuple[int, str] | None:
        """The ``(seq, hash)`` last written, or None (no mark, or one that does not parse)."""
        try:
            text = self.path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
            return None
        return int(parts[0]), parts[1]

    def write(self, seq: int, hash_: str) -> None:
        """Record ``(seq, hash)``; a mark that cannot be written is logged once, never raised
        (the append it follows is committed already)."""
        if self._broken:
            return
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            record = f"{seq:020d} {hash_}\n".encode("ascii")
            os.pwrite(self._fd, record, 0)
            if len(record) != _RECORD:  # a longer hash than SHA-256's: never, but stay exact
                os.ftruncate(self._fd, len(record))
        except OSError as exc:
            self._broken = True
            log.warning("cannot keep the journal's head mark at %s: %s", self.path, exc)

    def forget(self) -> None:
        """Drop the mark (the journal at this path was created anew)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove the stale head mark %s: %s", self.path, exc)

    def check(self, conn: sqlite3.Connection, created: bool) -> str | None:
        """Whether the journal behind ``conn`` ends before the head this machine last saw in
        it (then: why, and what to do); a journal ``created`` just now forgets the old mark."""
        if created:
            self.forget()
            return None
        seen = self.read()
        if seen is None:
            return None
        seq, hash_ = seen
        row = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        if row is not None and row[0] == hash_:
            return None
        last = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        found = f"ends at seq {last}" if row is None else f"has another event at seq {seq}"
        return (
            f"{self.journal_path} {found}, but this machine saw seq {seq} (hash {hash_[:16]}) in "
            "it: its newest events were lost (a deleted -wal file, a copy restored over it?). "
            "Acting on it could repeat what was already done, so nothing will be written. "
            f"If the journal was replaced on purpose, remove {self.path}"
        )

    def close(self) -> None:
        """Close the mark's file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
