"""The background service: as a user runs it (a real process, a 2-second source, Datasette beside it, SIGTERM),
and its schedule at start-up (backoffs kept across restarts, hosts interleaved)."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta

from monitor.config import load_config
from monitor.core import dates
from monitor.service import Monitor, apply_backoff, build_scheduler
from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
ZONE = dates.zone("Asia/Shanghai")      # the timezone of tests.helpers.write_config


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
    ], datasette={"host": "127.0.0.1", "port": port}, seeds=[str(PROJECT_DIR / "data" / "seed-headlines.json")])
    database = tmp_path / "news.db"
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        ran_three_times = wait_for(lambda: count_runs(database, "fast") >= 3, timeout=20)
        assert ran_three_times, "the 2-second source did not run 3 times"
        assert count_runs(database, "down") >= 2          # the failing source keeps its schedule beside the other
        feed_items = f"http://127.0.0.1:{port}/news/items.json?_shape=array&sources__contains=fast"
        items = wait_for(lambda: get_json(feed_items), timeout=20)
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
    # The configured seed was imported at start-up, once: 21 items and 20 links. Two of the feed's 4 items are
    # seed headlines, so they completed those seed rows (identity rule 3) instead of adding rows.
    assert conn.execute("SELECT count(*) FROM seed_imports").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 20
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 21 + 4 - 2
    merged = "SELECT count(*) FROM items WHERE sources LIKE '%seed%' AND sources LIKE '%fast%' AND url IS NOT NULL"
    assert conn.execute(merged).fetchone()[0] == 2
    health = dict(conn.execute("SELECT name, consecutive_failures FROM sources").fetchall())
    assert health["fast"] == 0 and health["down"] >= 2
    assert conn.execute("SELECT next_run_at FROM sources WHERE name = 'fast'").fetchone()[0]


def test_a_backoff_survives_a_restart_and_cron_sources_are_scheduled(httpserver, tmp_path):
    """A failing source backed off before a restart is not run again at start-up, but when its backoff ends."""
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/down.xml").respond_with_data("down", status=500)
    config = load_config(write_config(tmp_path, [
        {"name": "up", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "10m"},
        {"name": "down", "kind": "rss", "url": httpserver.url_for("/down.xml"), "every": "10m"},
        {"name": "down-cron", "kind": "rss", "url": httpserver.url_for("/down.xml"), "cron": "*/5 * * * *"},
    ]))

    def first_runs_after_start() -> dict[str, datetime]:
        monitor = Monitor.open(config)
        scheduler = build_scheduler(monitor)
        scheduler.start(paused=True)
        try:
            return {job.name: job.next_run_time for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
            monitor.close()

    monitor = Monitor.open(config)
    scheduler = build_scheduler(monitor)
    scheduler.start(paused=True)       # real jobs and triggers; the test fires the runs itself
    try:
        for _ in range(2):             # two failures in a row: backed off (2x the interval)
            for name in ("down", "down-cron"):
                apply_backoff(scheduler, monitor, monitor.run(config.source(name)))
        stored = dict(monitor.store.conn.execute("SELECT name, backoff_until FROM sources").fetchall())
    finally:
        scheduler.shutdown(wait=False)
        monitor.close()
    backoff = {name: datetime.fromisoformat(stored[name]) for name in ("down", "down-cron")}

    restart = datetime.now(ZONE)
    runs = first_runs_after_start()
    assert runs["up"] - restart < timedelta(seconds=10)                  # a healthy source runs at start-up
    assert runs["down"] == backoff["down"] and runs["down"] - restart > timedelta(minutes=19)
    # a cron source keeps its own times: the first one at or after its backoff (and it is scheduled, not paused)
    assert backoff["down-cron"] <= runs["down-cron"] < backoff["down-cron"] + timedelta(minutes=5)
    assert runs["down-cron"].minute % 5 == 0 and runs["down-cron"].second == 0

    monitor = Monitor.open(config)     # a backoff that ended while the service was stopped holds nothing back
    monitor.store.set_backoff("down", restart - timedelta(hours=1))
    monitor.close()
    assert first_runs_after_start()["down"] - datetime.now(ZONE) < timedelta(seconds=10)


def test_first_runs_interleave_hosts(tmp_path):
    """At start-up the sources of one host do not all start together: hosts take turns, a second apart."""
    config = load_config(write_config(tmp_path, [
        {"name": name, "kind": "rss", "url": f"http://{host}.example/{name}.xml", "every": "1h"}
        for name, host in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")]
    ]))
    monitor = Monitor.open(config)
    scheduler = build_scheduler(monitor)
    scheduler.start(paused=True)
    try:
        jobs = sorted(scheduler.get_jobs(), key=lambda job: job.next_run_time)
    finally:
        scheduler.shutdown(wait=False)
        monitor.close()
    assert [job.name for job in jobs] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    times = [job.next_run_time for job in jobs]
    assert all(later - earlier == timedelta(seconds=1) for earlier, later in zip(times, times[1:], strict=False))
