"""The background service as a user runs it: a real process, a 2-second source, Datasette beside it, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def count_runs(database, source: str) -> int:
    if not database.exists():
        return 0
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        sql = "SELECT count(*) FROM runs WHERE source = ? AND status != 'running'"
        return conn.execute(sql, (source,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_service_runs_sources_on_schedule_serves_datasette_and_stops_on_sigterm(httpserver, tmp_path):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/down.xml").respond_with_data("down", status=503)
    port = free_port()
    config = write_config(tmp_path, [
        {"name": "fast", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "2s"},
        {"name": "down", "kind": "rss", "url": httpserver.url_for("/down.xml"), "every": "2s"},
    ], datasette={"host": "127.0.0.1", "port": port})
    database = tmp_path / "news.db"
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        ran_three_times = wait_for(lambda: count_runs(database, "fast") >= 3, timeout=20)
        assert ran_three_times, "the 2-second source did not run 3 times"
        assert count_runs(database, "down") >= 2          # the failing source keeps its schedule beside the other
        items = wait_for(lambda: get_json(f"http://127.0.0.1:{port}/news/items.json?_shape=array"), timeout=20)
        assert items and len(items) == 4
        assert {"title", "url", "published_at", "story_id"} <= set(items[0])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    assert "stopped cleanly" in output
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 4
    health = dict(conn.execute("SELECT name, consecutive_failures FROM sources").fetchall())
    assert health["fast"] == 0 and health["down"] >= 2
    assert conn.execute("SELECT next_run_at FROM sources WHERE name = 'fast'").fetchone()[0]
