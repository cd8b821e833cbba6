"""What every database fault case checks afterwards: the file is intact and nothing stored was lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from db.search import register_search_tokenizer


def database_state(path: Path) -> dict:
    """Integrity, schema version, row counts and duplicate URL keys of a database file (read with plain sqlite3 and
    the search tokenizer, so the search index is checked too)."""
    conn = sqlite3.connect(path)
    register_search_tokenizer(conn)
    try:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'items_fts%'")]
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "counts": {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables},
            "duplicate_url_keys": conn.execute(
                "SELECT count(*) FROM (SELECT url_key FROM items WHERE url_key IS NOT NULL GROUP BY url_key "
                "HAVING count(*) > 1)").fetchone()[0] if "items" in tables else 0,
            "runs_left_running": conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
            if "runs" in tables else 0,
        } | ({"search": _search_index_check(conn)} if "items" in tables else {})
    finally:
        conn.close()


def _search_index_check(conn: sqlite3.Connection) -> str:
    """FTS5's own check of the search index against the items (raises nothing: says what is wrong)."""
    try:
        with conn:
            conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    except sqlite3.Error as error:
        return str(error)
    return "ok"
