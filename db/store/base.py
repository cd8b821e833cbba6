"""What every part of the store shares: one connection, one lock, the time zone, the story index, and the write
transaction (``_writing``) every write goes through."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from db import owners
from db.schema import check_ours
from db.story_index import StoryIndex
from db.transaction import is_busy, write_transaction
from monitor.core import dates

if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class PendingWrites:
    """What a batch writes at its end: sightings in order, the search rows of the items it added or changed, and
    ``last_seen_at`` of the items and stories seen again with nothing else to change."""
    sightings: list[tuple] = field(default_factory=list)
    search: dict[int, tuple] = field(default_factory=dict)
    seen_items: list[tuple[str, int]] = field(default_factory=list)        # (seen_at, item id)
    seen_stories: dict[int, str] = field(default_factory=dict)             # story id -> seen_at


class StoreBase:
    """The connection every part of ``Store`` writes through; a part takes ``_lock`` for each call (reads too: the
    connection is shared by the scheduler's threads), and writes in ``_writing()``."""

    _pending: PendingWrites | None = None     # a batch of ``save_items`` while it is being saved

    def __init__(self, path: str | Path, zone: tzinfo):
        self.path = Path(path)
        self.zone = zone
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            check_ours(conn, path)     # before WAL mode is set: that already writes to the file
            conn.execute("PRAGMA journal_mode=WAL")
            # What a process before this one could not copy from the -wal into the file (its disk was full when it
            # closed) is copied now, without waiting for readers: a disk still too full for that fails here, said
            # once, rather than in every source's run.
            _checkpoint_if_free(conn)
        except BaseException:
            conn.close()
            raise
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn
        self.owner = owners.open_store()      # recorded on each run this store starts (``runs.owner``)
        # Closed at interpreter exit at the latest: a connection left to module teardown while the migrations' Python
        # tokenizer is registered on it (a file before schema 8) calls it after its module is gone, and the process
        # dies with a segmentation fault.
        self._closer = weakref.finalize(self, _close, conn, self.owner)
        self.story_index = StoryIndex(conn)
        self._lock = threading.RLock()
        self._data_version: int | None = None
        self.open_runs: set[int] = set()     # runs this process started and has not finished (Runs.start_run)

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the connection, for the tests and tools that want its helpers (the store does not)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextlib.contextmanager
    def _writing(self):
        """One write transaction (``db.transaction.write_transaction``: the write lock taken first, waited for while
        another process holds it; SQLite's faults raised as ``StoreError``).

        Another process may have written since this one last did: the in-memory story index is then dropped (it is
        read again when needed), so what that process stored is never missed. A rolled-back transaction drops it
        too: its keys must not linger in memory.
        """
        with self._lock:
            if self.conn.in_transaction:       # a write inside a write: part of the same transaction
                yield
                return
            try:
                with write_transaction(self.conn, self.path):
                    version = self.conn.execute("PRAGMA data_version").fetchone()[0]
                    if version != self._data_version:
                        self.story_index.invalidate()
                        self._data_version = version
                    yield
            except BaseException:
                self.story_index.invalidate()
                raise

    def close(self) -> None:
        with self._lock:
            self._closer()

    def now(self) -> str:
        return dates.iso(datetime.now(self.zone))


def _close(conn: sqlite3.Connection, owner: owners.Owner) -> None:
    """Close the connection; from then on the runs this store left ``running`` are nobody's (``db.owners``)."""
    owners.closed_store(owner)
    conn.close()


def _checkpoint_if_free(conn: sqlite3.Connection) -> None:
    """A passive checkpoint, skipped while another process checkpoints or writes (two processes opening the file
    at once: SQLite answers "database is locked" at once, without waiting); a full disk still fails here."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.OperationalError as error:
        if not is_busy(error):
            raise
