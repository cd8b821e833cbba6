"""Scheduler faults, with the service's real scheduler (``build_scheduler``) against a local server: a job that
raises is logged (and recorded when it got as far as a run) and the next run still happens; a run longer than its
interval never overlaps itself and the runs it missed collapse into one; a clock that jumps forward gives one run,
not a burst of catch-up runs."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta

import pytest

from monitor.service import build_scheduler
from tests.conftest import OWN_FIXTURES
from tests.fetch_server import answer, serve
from tests.test_service import wait_for

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}


def runs(monitor) -> list[tuple]:
    conn = sqlite3.connect(monitor.config.database)
    try:
        return conn.execute("SELECT status, error_class, started_at, finished_at FROM runs WHERE source = 'src' "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def finished(monitor) -> int:
    """Runs of 'src' that have ended (a run just started is 'running' until then)."""
    return sum(1 for run in runs(monitor) if run[3] is not None)


@pytest.fixture
def scheduled(monitor_for):
    """scheduled(route, every) -> (monitor, scheduler, server): one source, its scheduler started."""
    started = []

    def make(route, every: str, idle_sources: int = 0):
        serving = serve()
        server = serving.__enter__()
        server.routes["/feed.xml"] = route
        server.routes["/idle.xml"] = answer(200, FEED, RSS)
        idle = [{"name": f"idle{i}", "kind": "rss", "url": server.url("/idle.xml"), "every": "1h"}
                for i in range(idle_sources)]     # more workers than one: the one source could take two
        monitor = monitor_for([{"name": "src", "kind": "rss", "url": server.url("/feed.xml"), "every": every}, *idle],
                              workers=4)
        scheduler = build_scheduler(monitor)
        started.append((scheduler, serving))
        scheduler.start()
        return monitor, scheduler, server

    yield make
    for scheduler, serving in started:
        scheduler.shutdown(wait=True)
        serving.__exit__(None, None, None)


def test_a_job_that_raises_is_logged_and_the_next_run_still_happens(scheduled, monitor_for, caplog, monkeypatch):
    import monitor.service as service

    calls = []
    original = service.Monitor.run

    def raises_once(self, source):            # the fault: the job itself raises, before any run is recorded
        calls.append(source.name)
        if len(calls) == 1:
            raise RuntimeError("injected fault")
        return original(self, source)

    monkeypatch.setattr(service.Monitor, "run", raises_once)
    caplog.set_level(logging.ERROR, logger="monitor.service")
    monitor, _, _ = scheduled(answer(200, FEED, RSS), "1s")
    assert wait_for(lambda: finished(monitor) >= 1, timeout=15), "no run after the job raised"
    assert "job source:src raised: injected fault" in caplog.text
    assert runs(monitor)[0][0] == "ok"


def test_a_run_that_fails_unexpectedly_is_recorded_and_the_next_run_still_happens(scheduled, monkeypatch):
    from monitor.fetch import Fetcher

    calls = []
    original = Fetcher.fetch

    def fails_once(self, url, **kwargs):      # the fault: a bug deep inside a run
        calls.append(url)
        if len(calls) == 1:
            raise RuntimeError("injected fault")
        return original(self, url, **kwargs)

    monkeypatch.setattr(Fetcher, "fetch", fails_once)
    monitor, _, _ = scheduled(answer(200, FEED, RSS), "1s")
    assert wait_for(lambda: finished(monitor) >= 2, timeout=20)
    recorded = runs(monitor)
    assert recorded[0][:2] == ("error", "internal") and recorded[1][:2] == ("ok", None)


def test_a_run_longer_than_its_interval_never_overlaps_and_missed_runs_coalesce(scheduled):
    monitor, _, server = scheduled(answer(200, FEED, RSS, delay=2.5), "1s", idle_sources=3)
    assert wait_for(lambda: len([r for r in runs(monitor) if r[3]]) >= 2, timeout=30)
    recorded = [r for r in runs(monitor) if r[3]]
    for before, after in zip(recorded, recorded[1:], strict=False):
        assert after[2] >= before[3], f"a run started before the one before it finished: {before} {after}"
    # 2.5 s runs every 1 s: the missed runs collapse into the next one; no queue of them builds up.
    assert len(server.times("/feed.xml")) <= len(recorded) + 1


def test_a_clock_jumping_forward_gives_one_run_not_a_burst(scheduled):
    # Every minute: after the run at start-up none is due for about a minute, so only the jump can make one here.
    monitor, scheduler, server = scheduled(answer(200, FEED, RSS), "1m")
    assert wait_for(lambda: len(runs(monitor)) >= 1 and runs(monitor)[0][3], timeout=15)
    before = len(server.times("/feed.xml"))
    # What a jump of the clock by four minutes looks like to the scheduler: four due times are past (within the
    # misfire grace time, so they are not simply dropped) and they must give one run, not four.
    job = scheduler.get_job("source:src")
    job.modify(next_run_time=datetime.now(monitor.zone) - timedelta(minutes=4))
    scheduler.wakeup()
    assert wait_for(lambda: len(server.times("/feed.xml")) > before, timeout=10), "no run after the jump"
    wait_for(lambda: False, timeout=2)         # room for a burst to show
    assert len(server.times("/feed.xml")) - before == 1, "the missed runs of the hour were run one after another"
