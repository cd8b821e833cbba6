"""Write transactions shared by every writer of the file, and the database's own faults as errors a person can act on.

Several processes may write one file (a ``once`` from cron beside the ``run`` service, two ``once``s). Every write is
one ``BEGIN IMMEDIATE`` transaction: the write lock is taken *before* anything is read, so what a batch decides from
what it reads (is this item already stored? which version is the schema at?) cannot be overtaken by another
process's commit. A writer that finds the lock held waits, logging after 1, 2, 4... seconds (then every ``ATTEMPT_S``),
up to ``lock_wait()`` seconds in all, then gives up with ``StoreError(error_class="locked")``.

``database_problem`` turns SQLite's own failures (a full disk, a lock, a damaged file, a read-only file) into a
``StoreError`` naming the file and what to do; anything else stays what it was (a bug).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.core.errors import NewsMonitorError, StoreError

log = logging.getLogger(__name__)

LOCK_WAIT_ENV = "NEWS_MONITOR_LOCK_WAIT"   # seconds a writer waits for another process's lock (default below)
DEFAULT_LOCK_WAIT_S = 300.0
NO_ROOM_BYTES = 4 * 1024 * 1024           # less free space than this: an I/O error is the disk being full
ATTEMPT_S = 10.0                           # the longest wait between two log lines


def lock_wait() -> float:
    """How long a writer waits for the write lock in all: ``NEWS_MONITOR_LOCK_WAIT`` seconds, else 300."""
    value = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not value:
        return DEFAULT_LOCK_WAIT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:    # also refuses nan
        raise NewsMonitorError(f"{LOCK_WAIT_ENV}={value!r}: expected a number of seconds (the default is "
                               f"{DEFAULT_LOCK_WAIT_S:.0f})")
    return seconds


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, path: str | Path) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any error; SQLite's own faults raised as
    ``StoreError``). Inside an open transaction it only joins it."""
    if conn.in_transaction:
        yield
        return
    begin_immediate(conn, path)
    try:
        yield
        conn.commit()
    except BaseException as error:
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        problem = database_problem(error, path) if isinstance(error, sqlite3.Error) else None
        if problem is not None:
            raise problem from error
        raise


def begin_immediate(conn: sqlite3.Connection, path: str | Path) -> None:
    """Take the write lock, waiting (logged, bounded by ``lock_wait()``) while another connection holds it."""
    wait = lock_wait()
    start = time.monotonic()
    attempt = min(1.0, wait / 4)     # SQLite's busy handler waits this long, then a line is logged; doubled each time
    while True:
        remaining = max(0.0, wait - (time.monotonic() - start))
        conn.execute(f"PRAGMA busy_timeout = {int(min(attempt, remaining) * 1000)}")
        attempt = min(2 * attempt, ATTEMPT_S)
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                problem = database_problem(error, path)
                if problem is None:
                    raise
                raise problem from error
            waited = time.monotonic() - start
            if waited >= wait:
                raise StoreError(
                    f"the database {path} stayed locked by another process for {waited:.0f} s: nothing was written "
                    f"by this run (it is retried at the next one); if this repeats, find the program holding it "
                    f"(`fuser {path}`), or raise {LOCK_WAIT_ENV} (now {wait:.0f} s)",
                    error_class="locked", path=path) from error
            log.warning("%s is locked by another process: waited %.0f s so far, waiting up to %.0f s more", path,
                        waited, wait - waited)


def is_busy(error: sqlite3.Error) -> bool:
    """SQLite said another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED, any extended code)."""
    return getattr(error, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def database_problem(error: BaseException, path: str | Path) -> StoreError | None:
    """The ``StoreError`` an SQLite failure is (a full disk, a lock outlasting the wait, a damaged file, a read-only
    one), or None when it is none of these (then it is a bug, and stays what it was)."""
    if not isinstance(error, sqlite3.Error):
        return None
    name = getattr(error, "sqlite_errorname", "")
    # On a file system already full, SQLite often cannot even map its -shm file: an I/O error, not SQLITE_FULL.
    if name.startswith("SQLITE_FULL") or (name.startswith("SQLITE_IOERR") and _little_room_beside(path)):
        return StoreError(
            f"the disk holding the database {path} is full ({error}): free space on that file system (the database "
            f"and its -wal file grow as items are stored; SQLite's temporary files go to {tempfile.gettempdir()}); "
            "nothing stored was lost, and the next run stores what this one could not",
            error_class="disk_full", path=path)
    if is_busy(error):
        return StoreError(
            f"the database {path} is locked by another process ({error}): nothing was written by this run; it is "
            f"retried at the next one (raise {LOCK_WAIT_ENV} to wait longer)",
            error_class="locked", path=path)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return StoreError(damaged_message(path, error), error_class="corrupt", path=path)
    if name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"cannot write the database {path} ({error}): make the file, its directory and its -wal and -shm files "
            "writable by the user the monitor runs as",
            error_class="readonly", path=path)
    return None


def _little_room_beside(path: str | Path) -> bool:
    """Whether the file system holding ``path`` has (almost) no room left."""
    try:
        stat = os.statvfs(Path(path).parent)
    except (OSError, AttributeError):     # no statvfs (Windows), or the directory is gone
        return False
    return stat.f_bavail * stat.f_frsize < NO_ROOM_BYTES


def damaged_message(path: str | Path, error: object) -> str:
    return (f"the database {path} is damaged ({error}): stop the monitor and restore the file from your backup; "
            f"`sqlite3 {path} 'PRAGMA integrity_check'` shows what is damaged, and `sqlite3 {path} .recover` can "
            "copy out what is still readable")
