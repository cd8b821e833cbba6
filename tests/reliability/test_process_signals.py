"""``once`` stopped by SIGTERM (systemd, ``kill``) or SIGINT: the run in flight is recorded ``interrupted`` (never
left ``running``), runs not started do not start, what was stored stays, and the process exits at once with a line
per interrupted run and no traceback."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from tests.conftest import OWN_FIXTURES
from tests.fetch_server import answer, serve
from tests.helpers import write_config
from tests.test_service import wait_for
from tests.test_service_shutdown import output as read_output
from tests.test_service_shutdown import start

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_once_stopped_by_a_signal_records_its_run_interrupted(tmp_path, signum):
    with serve() as server:
        server.routes["/fast.xml"] = answer(200, FEED, RSS)
        server.routes["/slow.xml"] = answer(200, FEED, RSS, delay=60)
        server.routes["/queued.xml"] = answer(200, FEED, RSS)
        config = write_config(tmp_path, [
            {"name": "fast", "kind": "rss", "url": server.url("/fast.xml"), "every": "1h"},
            {"name": "slow", "kind": "rss", "url": server.url("/slow.xml"), "every": "1h"},
            {"name": "queued", "kind": "rss", "url": server.url("/queued.xml"), "every": "1h"},
        ], workers=1)
        process = start(config, "once")
        assert wait_for(lambda: "/slow.xml" in server.paths(), timeout=30), "the slow source never started"
        started = time.monotonic()
        process.send_signal(signum)
        process.send_signal(signum)          # impatient: twice (systemd and a user, or Ctrl-C pressed again)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        elapsed = time.monotonic() - started
    output = read_output(config)
    assert process.returncode == 1, output
    assert elapsed < 10, f"once took {elapsed:.1f} s to stop"
    assert "Traceback" not in output, output
    assert f"slow: error (interrupted): stopped by {signal.Signals(signum).name}" in output
    assert "/queued.xml" not in server.paths(), "a run not started when the signal came must not start"
    conn = sqlite3.connect(tmp_path / "news.db")
    runs = dict(conn.execute("SELECT source, status || ':' || coalesce(error_class, '') FROM runs"))
    assert runs == {"fast": "ok:", "slow": "error:interrupted"}
    assert conn.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 4       # the finished run's items stay
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
