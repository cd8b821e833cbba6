"""Another program's database is refused before anything is written; a damaged one is named as such, with what to do
(issue 14, point 6).

A file is ours when it carries news-monitor's ``application_id`` or, made before that mark, holds the tables of its
``user_version``; an empty file is a new database. Anything else (unrelated tables, a ``runs`` table of its own,
another program's ``user_version`` or ``application_id``) is refused by the real ``once`` with exit status 1, a message
naming the file, and the file left byte for byte as it was (no WAL mode, no table added).
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.fetch_server import answer
from tests.helpers import write_config
from tests.reliability.feeds import feed


def run(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, cwd=config.parent)


def _unrelated(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('buy milk')")


def _own_runs_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, athlete TEXT, km REAL)")
    conn.execute("INSERT INTO runs (athlete, km) VALUES ('li', 10.5)")


def _foreign_user_version(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT, price REAL)")
    conn.execute("INSERT INTO items (sku, price) VALUES ('A-1', 3.5)")
    conn.execute("PRAGMA user_version = 3")


def _foreign_application_id(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA application_id = 1234")


@pytest.mark.parametrize("make", [_unrelated, _own_runs_table, _foreign_user_version, _foreign_application_id],
                         ids=["unrelated-tables", "a-runs-table", "user_version-3", "application_id"])
def test_another_programs_database_is_refused_and_left_untouched(tmp_path, server, make):
    server.routes["/feed.xml"] = answer(200, feed(range(3)), {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h"}],
                          database="theirs.db")
    database = tmp_path / "theirs.db"
    conn = sqlite3.connect(database)
    with conn:
        make(conn)
    conn.close()
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    for command in (("once",), ("seed", str(tmp_path / "none.json")), ("run", "--no-datasette")):
        result = run(config, *command)
        assert result.returncode == 1, (command, result.stderr)
        assert f"error: {database} " in result.stderr and "nothing was written to it" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "internal" not in result.stderr
        assert hashlib.sha256(database.read_bytes()).hexdigest() == before
        assert not Path(f"{database}-wal").exists()
    assert server.paths() == []      # refused before any source ran


def test_a_damaged_database_is_named_with_what_to_do(tmp_path, server):
    """One page of items rows in the middle of the file overwritten: every command that meets it says the file is
    damaged, how to look at it and how to restore it, never "internal"."""
    server.routes["/feed.xml"] = answer(200, feed(range(3000)), {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h",
                                      "max_items": 5000}])
    assert run(config, "once").returncode == 0
    database = tmp_path / "news.db"
    conn = sqlite3.connect(database)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [page for (page,) in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'items' AND pagetype = 'leaf' ORDER BY pageno")]
    conn.close()
    with open(database, "r+b") as file:       # the service is stopped: everything is in the main file
        file.seek(page_size * (leaves[len(leaves) // 2] - 1))     # a page of items rows, mid-file
        file.write(bytes(range(256)) * (page_size // 256))
    for command in (("once",), ("once",)):
        result = run(config, *command)
        assert result.returncode == 1
        said = result.stdout + result.stderr
        assert "internal" not in said and "Traceback" not in said, said
        assert f"the database {database} is damaged" in said and "PRAGMA integrity_check" in said, said
        assert "restore the file from your backup" in said
    exported = run(config, "export")      # reads every item: meets the damaged page too
    assert exported.returncode == 1 and "Traceback" not in exported.stderr
    assert f"error: the database {database} is damaged" in exported.stderr, exported.stderr
