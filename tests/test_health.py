"""Source health: failing sources backed off (never dropped) and recovering, flags shown to the operator."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from werkzeug import Request, Response

from db.health import MAX_BACKOFF, backoff_delay, health_flags
from monitor.cli import main
from monitor.config import load_config
from monitor.service import Monitor, apply_backoff, build_scheduler
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
GBK_LIST = (OWN_FIXTURES / "pipeline" / "poverty_list_gbk.html").read_bytes()
NOW = datetime(2026, 11, 28, 12, 0)


@pytest.mark.parametrize(("failures", "expected"), [
    (0, None), (1, None), (2, timedelta(minutes=30)), (3, timedelta(hours=1)), (5, timedelta(hours=4)),
    (9, MAX_BACKOFF), (40, MAX_BACKOFF),
])
def test_backoff_doubles_from_the_interval_up_to_a_day(failures, expected):
    assert backoff_delay(failures, timedelta(minutes=15)) == expected


def test_flags():
    hourly = [NOW - timedelta(hours=h) for h in (30, 29, 28, 27)]
    assert health_flags(consecutive_failures=3, last_error_class="timeout", ever_found_items=True,
                        new_item_times=[], now=NOW) == ["failing"]
    assert health_flags(consecutive_failures=1, last_error_class="selector_empty", ever_found_items=True,
                        new_item_times=[], now=NOW) == ["selectors_broken"]
    assert health_flags(consecutive_failures=1, last_error_class="selector_empty", ever_found_items=False,
                        new_item_times=[], now=NOW) == []                      # never worked: a config mistake
    assert health_flags(consecutive_failures=0, last_error_class=None, ever_found_items=True,
                        new_item_times=hourly, now=NOW) == ["stale"]          # hourly news, silent for 27 h
    assert health_flags(consecutive_failures=0, last_error_class=None, ever_found_items=True,
                        new_item_times=hourly, now=hourly[-1] + timedelta(hours=2)) == []


def test_a_failing_source_is_backed_off_and_returns_to_its_schedule_on_success(httpserver, tmp_path):
    state = {"up": False}

    def flaky(request: Request) -> Response:
        if state["up"]:
            return Response(FEED, content_type="application/rss+xml")
        return Response("maintenance", status=500)

    httpserver.expect_request("/feed.xml").respond_with_handler(flaky)
    config = load_config(write_config(tmp_path, [
        {"name": "flaky", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "10m"}]))
    monitor = Monitor.open(config)
    scheduler = build_scheduler(monitor)
    scheduler.start(paused=True)          # real jobs and triggers; the test fires the runs itself
    try:
        source = config.source("flaky")
        waits = []
        for _ in range(5):
            before = datetime.now(monitor.zone)
            result = monitor.run(source)
            assert result.status == "error" and result.error_class == "http_500"
            next_run = apply_backoff(scheduler, monitor, result)
            waits.append(round((next_run - before).total_seconds() / 60))
        # 1st failure keeps the 10-minute schedule (the first run was due at start-up: now); then 20, 40, 80, 160 min
        assert waits[1:] == [20, 40, 80, 160]
        row = monitor.store.conn.execute("SELECT * FROM sources WHERE name = 'flaky'").fetchone()
        assert row["consecutive_failures"] == 5 and row["backoff_until"] and row["flags"] == "failing"
        assert row["last_error_class"] == "http_500"

        state["up"] = True
        result = monitor.run(source)
        assert result.status == "ok" and result.consecutive_failures == 0
        apply_backoff(scheduler, monitor, result)
        row = monitor.store.conn.execute("SELECT * FROM sources WHERE name = 'flaky'").fetchone()
        assert (row["consecutive_failures"], row["backoff_until"], row["flags"]) == (0, None, "")
        # back on its own schedule: the job fires every 10 minutes from the run that succeeded
        job = scheduler.get_job("source:flaky")
        assert job.trigger.interval == timedelta(minutes=10)
    finally:
        scheduler.shutdown(wait=False)
        monitor.close()


def test_selectors_that_suddenly_match_nothing_are_flagged_in_status(httpserver, tmp_path, capsys):
    page = {"body": GBK_LIST}
    httpserver.expect_request("/list.html").respond_with_handler(
        lambda request: Response(page["body"], content_type="text/html"))
    config = write_config(tmp_path, [{
        "name": "list", "kind": "html", "url": httpserver.url_for("/list.html"), "every": "1h",
        "select": {"item": "ul.news-list li", "title": "a"}}])
    assert main(["--config", str(config), "once"]) == 0
    page["body"] = "<html><body><div class='redesigned'><a href='/x'>新版首页</a></div></body></html>".encode()
    assert main(["--config", str(config), "once"]) == 1
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("list "))
    assert "selectors_broken" in line and "[selector_empty]" in line and "ul.news-list li" in line
