"""Retries against a real local server: Retry-After, exponential backoff with jitter, the deadline over all."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.core.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.failures import parse_retry_after
from monitor.fetch.fetcher import MAX_RETRY_AFTER
from monitor.fetch.settings import HttpSettings
from tests.fetch_server import answer, hang_up, in_turn


def settings(**overrides) -> HttpSettings:
    values = {"user_agent": "news-monitor-test/1.0", "timeout": 5.0, "retries": 2, "per_host_delay": 0.0,
              "respect_robots": False}
    values.update(overrides)
    return HttpSettings(**values)



def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_429_with_retry_after_is_waited_for(server):
    server.routes["/busy"] = in_turn(answer(429, b"slow down", {"Retry-After": "1"}), answer(body=b"ok now"))
    with Fetcher(settings(), retry_backoff=0.01) as fetcher:
        assert fetcher.fetch(server.url("/busy")).body == b"ok now"
    arrivals = server.times("/busy")
    assert len(arrivals) == 2
    assert 0.95 <= arrivals[1] - arrivals[0] < 1.5   # the server's wait, not our 0.01 s backoff


def test_503_with_retry_after_as_http_date(server):
    # An HTTP-date has whole seconds: two seconds ahead means a wait of more than one second.
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    server.routes["/maintenance"] = in_turn(answer(503, b"maintenance", {"Retry-After": when}), answer(body=b"back"))
    with Fetcher(settings(), retry_backoff=0.01) as fetcher:
        assert fetcher.fetch(server.url("/maintenance")).body == b"back"
    arrivals = server.times("/maintenance")
    assert 0.9 <= arrivals[1] - arrivals[0] < 2.5


def test_retry_after_longer_than_the_cap_fails_at_once(server):
    server.routes["/busy"] = answer(429, b"slow down", {"Retry-After": "600"})
    with Fetcher(settings(timeout=1000.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/busy"))
        took = time.monotonic() - started
    message = str(info.value)
    assert info.value.error_class == "http_429" and info.value.http_status == 429
    assert "server asked to wait 600 s (Retry-After)" in message
    assert f"{MAX_RETRY_AFTER:g} s" in message and "will try at the next run" in message
    assert server.url("/busy") in message
    assert took < 0.5
    assert len(server.hits) == 1


def test_retry_after_longer_than_the_time_left_fails_at_once(server):
    server.routes["/busy"] = answer(503, b"later", {"Retry-After": "3"})
    with Fetcher(settings(timeout=2.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/busy"))
        took = time.monotonic() - started
    assert info.value.error_class == "http_503"
    assert "server asked to wait 3 s (Retry-After)" in str(info.value)
    assert "time left" in str(info.value) and "http.timeout 2 s" in str(info.value)
    assert took < 0.5 and len(server.hits) == 1


def test_backoff_spacing_grows(server):
    server.routes["/flaky"] = in_turn(answer(500), answer(502), answer(503), answer(body=b"finally"))
    with Fetcher(settings(retries=3), retry_backoff=0.1) as fetcher:
        assert fetcher.fetch(server.url("/flaky")).body == b"finally"
    spacing = gaps(server.times("/flaky"))
    assert len(spacing) == 3
    # About 0.1, 0.2, 0.4 s, each scaled by a random factor in [0.75, 1.25]: the ranges do not overlap.
    assert 0.07 <= spacing[0] < spacing[1] < spacing[2]
    assert spacing[2] >= 0.29


def test_jitter_spreads_backoff():
    fetcher = Fetcher(settings(), retry_backoff=1.0)
    pauses = {round(fetcher._backoff(1), 3) for _ in range(50)}
    assert len(pauses) > 10 and min(pauses) >= 0.75 and max(pauses) <= 1.25
    assert 30 * 0.75 <= fetcher._backoff(20) <= 30 * 1.25   # capped
    fetcher.close()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(server, status):
    server.routes["/page"] = in_turn(answer(status, b"try again"), answer(body=b"ok"))
    with Fetcher(settings(), retry_backoff=0.01) as fetcher:
        assert fetcher.fetch(server.url("/page")).body == b"ok"
    assert len(server.hits) == 2


def test_connection_dropped_is_retried(server):
    server.routes["/page"] = in_turn(hang_up, answer(body=b"ok"))
    with Fetcher(settings(), retry_backoff=0.01) as fetcher:
        assert fetcher.fetch(server.url("/page")).body == b"ok"
    assert len(server.hits) == 2


def test_retries_run_out_with_a_clear_message(server):
    server.routes["/down"] = answer(503, b"down")
    with Fetcher(settings(retries=2), retry_backoff=0.01) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/down"))
    assert info.value.error_class == "http_503"
    assert "gave up after 3 attempts" in str(info.value)
    assert len(server.hits) == 3


def test_retries_respect_the_per_host_delay(server):
    server.routes["/flaky"] = in_turn(answer(500), answer(body=b"ok"))
    with Fetcher(settings(per_host_delay=0.4), retry_backoff=0.01) as fetcher:
        fetcher.fetch(server.url("/flaky"))
    assert gaps(server.times("/flaky"))[0] >= 0.38


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("1.5", 1.5),
    ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),    # in the past: no wait
    ("soon", None),
    ("", None),
    (None, None),
    ("-5", None),
])
def test_retry_after_values(value, expected):
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected
