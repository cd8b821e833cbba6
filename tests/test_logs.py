"""``--log-format json`` and APScheduler's chatter, seen in the output of real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import write_config
from tests.test_service import wait_for
from tests.test_service_shutdown import output, start, stop

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def test_json_log_lines_carry_time_level_logger_message_and_the_source_and_run(tmp_path, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"),
                                      "every": "15m"}])
    done = subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config),
                           "--log-format", "json", "once"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]   # every line is one JSON object
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    (finished,) = [e for e in entries if e["message"].startswith("feed: ok, 4 items seen")]
    assert (finished["level"], finished["logger"], finished["source"], finished["run"]) == (
        "INFO", "monitor.pipeline", "feed", 1)
    assert finished["time"].endswith("+00:00")


def test_apscheduler_info_lines_are_kept_out_of_the_log_unless_verbose(tmp_path, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"),
                                      "every": "15m"}])
    logs = {}
    for options in ((), ("-v",)):
        process = start(config, *options, "run", "--no-datasette")
        try:
            assert wait_for(lambda: "feed: ok" in output(config), timeout=30), output(config)
            time.sleep(0.5)
        finally:
            logs[options] = stop(process, config)
    assert "scheduled 1 sources" in logs[()]
    assert " apscheduler." not in logs[()]        # the logger names of its lines: apscheduler.scheduler, ...
    assert "INFO apscheduler.scheduler: Adding job tentatively" in logs[("-v",)]
