"""Reload on SIGHUP (issue 13), with a real ``run --no-datasette`` process: sources added, removed and changed in
config.yaml take effect without a restart; a config that no longer validates is logged and the old one kept."""

from __future__ import annotations

import signal
import sqlite3
import time

import yaml

from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config
from tests.test_service import wait_for
from tests.test_service_shutdown import output, start, stop

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def runs(database, source: str, after: int = 0) -> int:
    """The finished runs of ``source`` with an id above ``after``."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM runs WHERE source = ? AND id > ? AND status != 'running'",
                            (source, after)).fetchone()[0]
    except sqlite3.OperationalError:     # the service has not created its tables yet
        return 0
    finally:
        conn.close()


def last_run_id(database) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
    finally:
        conn.close()


def requests_to(httpserver, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_sighup_adds_removes_and_changes_sources_and_keeps_the_old_config_when_the_new_one_is_invalid(
        tmp_path, httpserver):
    for path in ("/a.xml", "/b.xml", "/b2.xml"):
        httpserver.expect_request(path).respond_with_data(FEED, content_type="application/rss+xml")
    a = {"name": "a", "kind": "rss", "url": httpserver.url_for("/a.xml"), "every": "1s"}
    b = {"name": "b", "kind": "rss", "url": httpserver.url_for("/b.xml"), "every": "1s"}
    config = write_config(tmp_path, [a])
    database = tmp_path / "news.db"
    process = start(config, "run", "--no-datasette")
    try:
        assert wait_for(lambda: database.exists() and runs(database, "a") >= 1, timeout=30), output(config)

        # Added: b runs without a restart.
        write_config(tmp_path, [a, b])
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: runs(database, "b") >= 2, timeout=30), output(config)
        assert "reload: " in output(config) and "1 sources added (b), 0 removed (-), 0 changed (-); 2 scheduled" \
            in output(config)

        # Invalid: the error is logged, and both sources go on running.
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["sources"][1]["evry"] = "1s"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "the running config is kept" in output(config), timeout=15), output(config)
        assert "ERROR monitor.service: reload: " in output(config)
        assert "sources[1].evry: unknown key; did you mean 'every'?" in output(config)
        mark = last_run_id(database)
        assert wait_for(lambda: runs(database, "a", mark) >= 2 and runs(database, "b", mark) >= 2, timeout=30), \
            output(config)

        # Removed and changed: a stops, b reads its new URL.
        write_config(tmp_path, [{**b, "url": httpserver.url_for("/b2.xml")}])
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "0 sources added (-), 1 removed (a), 1 changed (b); 1 scheduled" in output(config),
                        timeout=15), output(config)
        time.sleep(1.5)                          # a run of a that had already started may still finish
        mark, fetched_b = last_run_id(database), requests_to(httpserver, "/b.xml")
        assert wait_for(lambda: requests_to(httpserver, "/b2.xml") >= 2, timeout=30), output(config)
        assert runs(database, "a", mark) == 0
        assert requests_to(httpserver, "/b.xml") == fetched_b
        assert process.poll() is None    # the same process all along: never restarted
    finally:
        log = stop(process, config)
    assert process.returncode == 0, log
    assert "stopped cleanly" in log
