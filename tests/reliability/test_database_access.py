"""A lock held longer than the wait, a read-only folder, a config file that is not YAML (issue 14, point 7, the
database's part).

* A writer waits for another process's lock with a logged, bounded back-off (``NEWS_MONITOR_LOCK_WAIT`` seconds,
  short here); a lock that outlasts it makes the run an error of class ``locked``, recorded (not left ``running``)
  once the lock is gone, with no traceback. A lock shorter than the wait only delays the run.
* ``status`` and ``export`` only read: they work in a folder this user cannot write (a read-only mount here).
* A YAML syntax error names the config file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.fetch_server import answer
from tests.helpers import write_config
from tests.reliability.dbcheck import database_state
from tests.reliability.feeds import feed

RSS = {"Content-Type": "application/rss+xml"}


def once(config: Path, lock_wait: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once"],
                          capture_output=True, text=True, timeout=120, cwd=config.parent,
                          env={**os.environ, "NEWS_MONITOR_LOCK_WAIT": str(lock_wait)})


def locking_then(database: Path, hold: float, body: bytes):
    """A route that, when the run asks for its feed, has another connection take ``BEGIN EXCLUSIVE`` on the database
    for ``hold`` seconds, then answers ``body``: the run's write meets the lock."""
    def route(handler) -> None:
        holder = sqlite3.connect(database, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")

        def release() -> None:
            holder.rollback()
            holder.close()

        threading.Timer(hold, release).start()
        answer(200, body, RSS)(handler)

    return route


def test_a_lock_outlasting_the_wait_is_a_locked_run_recorded_when_the_lock_goes(tmp_path, server):
    database = tmp_path / "news.db"
    server.routes["/feed.xml"] = answer(200, feed(range(10)), RSS)
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h"}])
    assert once(config, lock_wait=5).returncode == 0

    server.routes["/feed.xml"] = locking_then(database, hold=3.5, body=feed(range(20)))
    locked = once(config, lock_wait=2)
    assert locked.returncode == 1, locked.stderr
    assert "Traceback" not in locked.stderr and "internal" not in locked.stdout
    assert f"feed: error (locked): the database {database} stayed locked by another process" in locked.stdout
    assert "NEWS_MONITOR_LOCK_WAIT" in locked.stdout
    assert "is locked by another process: waited" in locked.stderr      # the back-off is logged
    state = database_state(database)
    assert state["integrity"] == "ok" and state["runs_left_running"] == 0 and state["counts"]["items"] == 10
    conn = sqlite3.connect(database)
    last = conn.execute("SELECT status, error_class FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    failures = conn.execute("SELECT consecutive_failures FROM sources WHERE name = 'feed'").fetchone()[0]
    conn.close()
    assert last == ("error", "locked") and failures == 0

    server.routes["/feed.xml"] = locking_then(database, hold=1.0, body=feed(range(20)))
    waited = once(config, lock_wait=10)        # a lock shorter than the wait: the run waits, then stores
    assert waited.returncode == 0, waited.stderr
    assert "feed: ok, 20 items seen, 10 new" in waited.stdout
    assert database_state(database)["counts"]["items"] == 20


def test_a_bad_lock_wait_setting_is_named(tmp_path):
    config = write_config(tmp_path, [])
    result = once(config, lock_wait="soon")
    assert result.returncode == 1 and "NEWS_MONITOR_LOCK_WAIT='soon': expected a number of seconds" in result.stderr


_READ_ONLY_SCRIPT = """
set -e
mount --bind "$1" "$1"
mount -o remount,ro,bind "$1"
cd "$1"
if touch probe 2>/dev/null; then echo "the folder is writable"; exit 9; fi
"$2" "$3" status
"$2" "$3" export --format jsonl
"""


def test_status_and_export_work_in_a_read_only_folder(tmp_path, server):
    if not shutil.which("unshare") or subprocess.run(
            ["unshare", "-rm", "sh", "-c", "mount --bind /tmp /tmp"], capture_output=True).returncode:
        pytest.skip("this machine does not let an unprivileged user namespace make a read-only bind mount "
                    "(unshare -rm)")
    server.routes["/feed.xml"] = answer(200, feed(range(5)), RSS)
    folder = tmp_path / "data"
    folder.mkdir()
    config = write_config(folder, [{"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h"}])
    assert once(config, lock_wait=5).returncode == 0
    assert not Path(f"{folder / 'news.db'}-wal").exists()      # the writer is gone: no -wal, no -shm
    script = tmp_path / "read_only.sh"
    script.write_text(_READ_ONLY_SCRIPT, encoding="utf-8")
    result = subprocess.run(["unshare", "-rm", "sh", str(script), str(folder), sys.executable,
                             str(PROJECT_DIR / "run_monitor.py")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "feed" in result.stdout and "ok" in result.stdout              # status's row
    assert result.stdout.count('"url_key"') + result.stdout.count('"title"') >= 5   # export's five items
    assert "readonly" not in result.stderr and "unable to open" not in result.stderr


def test_a_yaml_syntax_error_names_the_config_file(tmp_path):
    config = tmp_path / "monitor.yaml"
    config.write_text("database: news.db\nsources: [\n  - name: a\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f'in "{config}", line' in result.stderr and "<unicode string>" not in result.stderr, result.stderr
