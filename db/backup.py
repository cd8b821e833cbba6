"""``backup PATH``: an online copy of the database with SQLite's backup API, safe while the service writes.

The copy is taken in one step from a read-only connection: in WAL mode it reads one consistent snapshot while the
writer goes on (a step-by-step copy restarts whenever another connection writes, and under a busy writer might
never end). It is written to a temporary file beside PATH, checked (``PRAGMA quick_check``), turned into a
self-contained file (rollback journal, no ``-wal`` beside it), and only then renamed to PATH: an existing backup is
replaced by a complete copy or not at all. The live database (or its ``-wal``/``-shm``) is never a target.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from db.readonly import open_read_only
from monitor.core.errors import NewsMonitorError


class BackupError(NewsMonitorError):
    "The database could not be copied; the message names the files and what to do."


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    items: int


def backup_database(database: Path, target: Path) -> Backup:
    """Copy ``database`` to ``target`` (a file, or an existing directory to put a file of the same name in)."""
    if not database.is_file():
        raise BackupError(f"no database at {database} to back up: run `once` or `run` first")
    if target.is_dir():
        target = target / database.name
    live = database.resolve()
    if target.resolve() in {live, *(live.with_name(live.name + s) for s in ("-wal", "-shm", "-journal"))}:
        raise BackupError(f"{target} is the live database (or one of its files): give another path for the copy")
    if not target.parent.is_dir():
        raise BackupError(f"cannot write {target}: its directory {target.parent} does not exist")
    try:
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as error:
        raise BackupError(f"cannot write in {target.parent}: {error.strerror or error}") from None
    os.close(handle)
    try:
        items = _copy(database, Path(partial))
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as error:
        Path(partial).unlink(missing_ok=True)
        raise BackupError(f"could not copy {database} to {target}: {error}") from None
    return Backup(path=target, bytes=target.stat().st_size, items=items)


def _copy(database: Path, partial: Path) -> int:
    """The backup itself; returns the items in the copy. Raises ``sqlite3.Error`` on any failure."""
    source = open_read_only(database)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)          # pages=-1: the whole file from one read snapshot
        copy.execute("PRAGMA journal_mode=DELETE")
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
        has_items = copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'").fetchone()
        return copy.execute("SELECT count(*) FROM items").fetchone()[0] if has_items else 0
    finally:
        copy.close()
        source.close()
