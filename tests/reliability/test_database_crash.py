"""A crash while the schema is created or upgraded never bricks the database (issue 14, point 1).

Each migration and its ``user_version`` bump are one transaction, so a process that dies at any moment leaves the file
at the version before or after a migration, and the next start finishes the job. The process is killed with
``os._exit`` (no clean-up, as ``kill -9``) from SQLite's statement trace callback, before the Nth statement of its
connection runs, for every N (or every few) of a creation and of an upgrade: each kill point is then opened by
today's code, which must complete the schema, keep every row and leave ``PRAGMA integrity_check`` ok. A real
``kill -9`` of ``run_monitor.py once`` during an upgrade is the last case.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db.schema import SCHEMA_VERSION
from db.store import Store
from monitor.core import dates
from monitor.core.model import Item
from tests.conftest import PROJECT_DIR
from tests.helpers import old_database, write_config
from tests.reliability.dbcheck import database_state

ZONE = dates.zone("Asia/Shanghai")
KILLED = 137
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX only)")


def _open_and_die_at(path: Path, statement: int) -> int:
    """Open ``path`` with the Store in a forked child that dies before its ``statement``-th SQL statement; the
    child's exit status (KILLED, or 0 when the opening needed fewer statements)."""
    pid = os.fork()
    if pid == 0:   # the child: never returns
        try:
            real_connect = sqlite3.connect
            ran = 0

            def die_at(sql: str) -> None:
                nonlocal ran
                ran += 1
                if ran == statement:
                    os._exit(KILLED)

            def connect(*args, **kwargs):
                conn = real_connect(*args, **kwargs)
                conn.set_trace_callback(die_at)
                return conn

            sqlite3.connect = connect
            Store(path, ZONE).close()
            os._exit(0)
        except BaseException:
            os._exit(3)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _item(n: int) -> Item:
    title = f"鄉村振興第{n}號報道 各地推進產業發展"
    return Item(title=title, seen_title=title, url=f"http://news.example/{n}",
                url_key=f"news.example/{n}", title_key=f"乡村振兴第{n}号报道各地推进产业发展", origin="scraped")


def _check_after_kill(path: Path, before: dict[str, int]) -> None:
    """The next opening completes the schema; every row kept; the file intact; a new item can be stored."""
    store = Store(path, ZONE)
    try:
        saved = store.save_items([_item(10_000)], source="after", run_id=None)
        assert saved.new == 1
    finally:
        store.close()
    state = database_state(path)
    assert state["integrity"] == "ok" and state["search"] == "ok" and state["version"] == SCHEMA_VERSION
    assert state["duplicate_url_keys"] == 0
    for table, rows in before.items():
        assert state["counts"][table] == rows + (table in ("items", "sightings")), table


def _kill_at_every_point(template: Path | None, work: Path, before: dict[str, int], stride: int) -> int:
    """Kill an opening of (a copy of) ``template`` (None: a new file) at statement 1, 1 + stride, ...; returns how
    many kill points were tried."""
    statement = 1
    while True:
        path = work / f"kill-{statement}.db"
        if template is not None:
            shutil.copyfile(template, path)
        status = _open_and_die_at(path, statement)
        assert status in (KILLED, 0), f"the child failed before statement {statement} (status {status})"
        _check_after_kill(path, before)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if status == 0:       # the opening needed fewer statements: every point was tried
            return (statement + stride - 1) // stride
        statement += stride


def test_a_crash_at_any_statement_of_the_creation_of_a_database_leaves_one_that_opens(tmp_path):
    tried = _kill_at_every_point(None, tmp_path, {"items": 0, "runs": 0}, stride=3)
    assert tried > 100    # the creation runs some 380 statements: the kill points cover all of it


def _older_database(path: Path, version: int, items: int) -> dict[str, int]:
    """A file at schema ``version`` holding ``items`` items (with sightings and a run); returns its row counts."""
    db = old_database(path, version)
    conn = db.conn
    with conn:
        conn.execute("INSERT INTO runs (id, source, started_at, status) "
                     "VALUES (1, 'feed', '2024-05-01T08:00:00+08:00', 'ok')")
        stamps = {n: f"2024-05-{1 + n % 28:02d}T08:00:00+08:00" for n in range(1, items + 1)}
        conn.executemany(
            "INSERT INTO items (id, title, url, url_key, title_key, first_seen_at, last_seen_at, published_at, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scraped')",
            [(n, f"鄉村振興第{n}號報道 各地推進產業發展", f"http://old.example/{n}", f"old.example/{n}",
              f"乡村振兴第{n}号报道各地推进产业发展", stamp, stamp, stamp) for n, stamp in stamps.items()])
        conn.executemany("INSERT INTO sightings (item_id, source, run_id, seen_at) VALUES (?, 'feed', 1, ?)",
                         list(stamps.items()))
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
    conn.close()
    return {"items": items, "sightings": items, "runs": 1}


@pytest.mark.parametrize("version", [1, 4])
def test_a_crash_at_any_statement_of_an_upgrade_loses_nothing_and_the_next_start_finishes_it(tmp_path, version):
    """From schema 1 every migration runs (3 re-keys every item, 5 rebuilds the HTTP cache)."""
    template = tmp_path / "template.db"
    before = _older_database(template, version, items=12)
    tried = _kill_at_every_point(template, tmp_path, before, stride=2 if version == 1 else 1)
    assert tried > 40


def _start_once(command: list[str], cwd: Path, database: Path) -> tuple[subprocess.Popen, float]:
    """Start ``once`` and wait until it has opened the database (its -wal file appears: the upgrade begins)."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = Path(f"{database}-wal")
    while not wal.exists() and process.poll() is None:
        time.sleep(0.002)
    return process, time.monotonic()


def test_kill_9_of_once_during_the_upgrade_of_a_large_database(tmp_path):
    """The real process, killed at spread moments while it upgrades a 3,000-item file from schema 2."""
    template = tmp_path / "template.db"
    before = _older_database(template, 2, items=3000)
    config = write_config(tmp_path, [])
    database = tmp_path / "news.db"
    command = [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once"]

    def fresh_copy() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, database)

    fresh_copy()   # how long the upgrade takes, from the opening of the file to the end of the process
    process, opened = _start_once(command, tmp_path, database)
    assert process.wait(timeout=120) == 0
    took = time.monotonic() - opened
    mid_upgrade = 0
    for fraction in (0.1, 0.3, 0.5, 0.7):
        fresh_copy()
        process, opened = _start_once(command, tmp_path, database)
        time.sleep(took * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        conn = sqlite3.connect(database)
        reached = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.close()
        mid_upgrade += reached < SCHEMA_VERSION
        again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        state = database_state(database)
        assert state["integrity"] == "ok" and state["search"] == "ok" and state["version"] == SCHEMA_VERSION
        assert {table: state["counts"][table] for table in before} == before
    print(f"{mid_upgrade} of 4 kills landed before the upgrade was done (it takes {took:.2f} s)")
