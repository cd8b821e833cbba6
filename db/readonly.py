"""The database opened read-only, for the commands that only look (``status``, ``serve``, ``export``).

Nothing here creates, migrates or writes the file: a command that reads must not change what the service writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing file (never created); ``check_readable`` tells whether it is ours to
    read."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
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
