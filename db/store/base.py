"""What every part of the store shares: one connection, one lock, the time zone, the story index."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from datetime import datetime, tzinfo
from pathlib import Path

import sqlite_utils

from db.search import register_search_tokenizer
from db.story_index import StoryIndex
from monitor.core import dates


class StoreBase:
    """The connection every part of ``Store`` writes through; a part takes ``_lock`` for each call (reads too: the
    connection is shared by the scheduler's threads)."""

    def __init__(self, path: str | Path, zone: tzinfo):
        self.path = Path(path)
        self.zone = zone
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        register_search_tokenizer(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn
        # Closed at interpreter exit at the latest: a connection left to module teardown calls the Python search
        # tokenizer after its module is gone, and the process dies with a segmentation fault.
        self._closer = weakref.finalize(self, conn.close)
        self.db = sqlite_utils.Database(conn)
        self.story_index = StoryIndex(conn)
        self._lock = threading.RLock()
        self.open_runs: set[int] = set()     # runs this process started and has not finished (Runs.start_run)

    def close(self) -> None:
        with self._lock:
            self._closer()

    def now(self) -> str:
        return dates.iso(datetime.now(self.zone))
