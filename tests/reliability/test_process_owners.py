"""Two processes on one database: each run records its owner (``runs.owner``, ``db.owners``), so a process that
opens the file closes as ``interrupted`` only the runs of owners that are gone (killed, crashed), never the runs
another live process has in flight (a ``once`` from cron beside the ``run`` service)."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.fetch_server import answer, serve
from tests.helpers import write_config
from tests.test_service import wait_for
from tests.test_service_shutdown import output, start, stop

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}
SLOW_S = 20      # the slow source's answer: far longer than a `once` of the fast one takes
HTTP = {"timeout": "60s", "retries": 0, "per_host_delay": 0, "allow_private_networks": True}


def sources(server) -> list[dict]:
    return [{"name": "slow", "kind": "rss", "url": server.url("/slow.xml"), "every": "1h"},
            {"name": "fast", "kind": "rss", "url": server.url("/fast.xml"), "every": "1h"}]


def slow_run(database) -> tuple | None:
    """(status, error_class, owner) of the slow source's run, or None before it started."""
    conn = sqlite3.connect(database, timeout=30)
    try:
        row = conn.execute("SELECT status, error_class, owner FROM runs WHERE source = 'slow'").fetchone()
    except sqlite3.OperationalError:   # no tables yet
        row = None
    finally:
        conn.close()
    return row


def once(config, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once",
                           *names], capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def slow_and_fast(tmp_path, *command: str):
    """A server of a slow and a fast feed, and ``command`` started on them: (server, config, process), once the
    process's slow run is in flight."""
    with serve() as server:
        server.routes["/slow.xml"] = answer(200, FEED, RSS, delay=SLOW_S)
        server.routes["/fast.xml"] = answer(200, FEED, RSS)
        config = write_config(tmp_path, sources(server), http=HTTP)
        process = start(config, *command)
        try:
            assert wait_for(lambda: "/slow.xml" in server.paths() and slow_run(tmp_path / "news.db"), timeout=60), \
                output(config)
        except BaseException:
            process.kill()
            process.wait()
            raise
        yield server, config, process


def test_once_beside_the_service_leaves_its_runs_in_flight_alone(tmp_path):
    database = tmp_path / "news.db"
    with slow_and_fast(tmp_path, "run", "--no-datasette") as (server, config, service):
        try:
            asked = server.times("/slow.xml")[0]
            beside = once(config, "fast")
            answered_by_now = time.monotonic() - asked >= SLOW_S
            during = slow_run(database)
            assert beside.returncode == 0 and "fast: ok" in beside.stdout, beside.stdout + beside.stderr
            assert not answered_by_now, "the once took so long that the slow run may have ended: nothing shown"
            # The service's run is still in flight, and still its own: once did not close it as interrupted.
            assert during[:2] == ("running", None), during
            assert wait_for(lambda: slow_run(database)[0] != "running", timeout=SLOW_S + 30)
        finally:
            log = stop(service, config)
    assert slow_run(database)[:2] == ("ok", None), log
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM runs WHERE error_class = 'interrupted'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0


def test_the_runs_of_a_killed_process_are_closed_by_the_next_one(tmp_path):
    database = tmp_path / "news.db"
    with slow_and_fast(tmp_path, "once", "slow") as (_, config, killed):
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert slow_run(database)[0] == "running"          # nobody closed it: the process is gone
        after = once(config, "fast")
    assert after.returncode == 0, after.stdout + after.stderr
    status, error_class, owner = slow_run(database)
    assert (status, error_class) == ("error", "interrupted")
    assert owner.split("/")[1] == str(killed.pid)
