"""The database opened read-only, for the commands that only look (``status``, ``serve``, ``export``).

Nothing here creates, migrates or writes the file: a command that reads must not change what the service writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing file (never created); ``check_readable`` tells whether it is ours to
    read.

    A WAL database opened with ``mode=ro`` still needs its ``-shm`` file, which SQLite creates when it is missing:
    in a folder this user cannot write (a read-only mount, a backup copy, another user's service), that fails with
    "unable to open database file" or "attempt to write a readonly database". When no ``-wal`` file exists, no
    writer has the file open and everything is in the main file: it is then read as ``immutable`` (no locks, no
    ``-shm``). With a ``-wal`` file present, ``mode=ro`` is the only safe way (the ``-wal`` holds commits the main
    file does not): its error stands.
    """
    conn = _connect(path, "mode=ro")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:      # any other error is the caller's to tell (check_readable meets it again)
        name = getattr(error, "sqlite_errorname", "")
        wal = Path(f"{path}-wal")
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")) and not (wal.exists() and wal.stat().st_size):
            conn.close()
            return _connect(path, "immutable=1")
    return conn


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?{mode}", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def check_readable(conn: sqlite3.Connection) -> None:
    """``sqlite3.Error`` unless the file reads as an SQLite database (``SQLITE_NOTADB``: it is something else)."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version (``db.schema``); 0: no news-monitor tables yet."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def source_states(conn: sqlite3.Connection) -> dict[str, dict]:
    """Each stored source's row (``sources``: last run, status, failures, flags...), by name."""
    return {row["name"]: dict(row) for row in conn.execute("SELECT * FROM sources")}
