"""``health`` (issue 13): the report on a database filled by real runs, and the command's exit status."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timedelta

from db.health_report import OVERDUE_GRACE, health_report
from db.readonly import open_read_only
from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def health(config, *options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "health",
                           *options], capture_output=True, text=True, timeout=60)


def sources(httpserver) -> list[dict]:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    return [{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"},
            {"name": "gone", "kind": "rss", "url": httpserver.url_for("/gone.xml"), "every": "15m"}]


def test_a_failing_source_makes_health_exit_1_and_says_what_fails(tmp_path, httpserver, monitor_for):
    monitor = monitor_for(sources(httpserver))
    for _ in range(3):                     # db.health flags a source failing after 3 failures in a row
        monitor.run_once()
    monitor.close()
    database = monitor.config.database
    before = hashlib.sha256(database.read_bytes()).hexdigest()

    done = health(monitor.config.path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "source:    feed: last success 20" in done.stdout and "; ok" in done.stdout
    assert "source:    gone: last success never; failing: 3 failures in a row (last: " in done.stdout
    assert "HTTP 404" in done.stdout or "404" in done.stdout
    assert "not healthy: 1 of 2 sources have problems" in done.stdout
    assert f"database:  {database} (" in done.stdout and "last write 20" in done.stdout

    report = json.loads(health(monitor.config.path, "--json").stdout)
    assert report["healthy"] is False
    assert [s["name"] for s in report["sources"]] == ["feed", "gone"]
    assert report["sources"][1]["flags"] == ["failing"] and report["sources"][1]["consecutive_failures"] == 3
    assert report["sources"][0]["last_success_at"] and report["database_bytes"] > 0
    assert report["problems"][0].startswith("gone: failing: 3 failures in a row")
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before      # read-only


def test_healthy_when_every_enabled_source_is_fine(tmp_path, httpserver, monitor_for):
    feed, gone = sources(httpserver)
    monitor = monitor_for([feed, {**gone, "enabled": False}])
    monitor.run_once()
    done = health(monitor.config.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("healthy: 1 sources without problems")


def test_a_source_never_run_and_a_missing_database_are_not_healthy(tmp_path, httpserver):
    config = write_config(tmp_path, sources(httpserver)[:1])
    done = health(config)
    assert done.returncode == 1 and "no database at" in done.stderr and "run `once` or `run` first" in done.stderr
    subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once"],
                   capture_output=True, timeout=60, check=True)
    config = write_config(tmp_path, sources(httpserver))       # `gone` added to the config, never run
    done = health(config)
    assert done.returncode == 1
    assert "source:    gone: last success never; never run: not in the database yet" in done.stdout


def test_a_source_whose_scheduled_run_is_long_past_is_overdue(httpserver, monitor_for):
    monitor = monitor_for(sources(httpserver)[:1])
    monitor.run_once()
    due = datetime.now(monitor.zone) + timedelta(minutes=15)
    monitor.store.set_next_run("feed", due)          # as the service records after each run
    conn = open_read_only(monitor.config.database)
    try:
        assert health_report(conn, monitor.config.database).healthy
        late = health_report(conn, monitor.config.database, now=due + OVERDUE_GRACE + timedelta(minutes=1))
    finally:
        conn.close()
    assert not late.healthy
    assert late.problems == [f"feed: overdue: its next run was due at {due.isoformat(timespec='seconds')}; "
                             "is the service running?"]
