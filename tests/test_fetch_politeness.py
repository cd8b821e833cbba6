"""Politeness against real local servers: robots.txt, Crawl-delay, per-host delay and concurrency, parallel hosts."""

from __future__ import annotations

import threading
import time

import pytest

from monitor.core.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.robots import MAX_CRAWL_DELAY, ROBOTS_MAX_BYTES, parse_robots
from monitor.fetch.settings import HttpSettings
from tests.fetch_server import answer, hang_up, serve

UA = "news-monitor/0.1 (+mailto:research@example.org)"


def settings(**overrides) -> HttpSettings:
    """robots.txt obeyed (the default); no retries or delay unless a test asks; 127.0.0.x is configured."""
    values = {"user_agent": UA, "timeout": 5.0, "retries": 0, "per_host_delay": 0.0, "respect_robots": True}
    values.update(overrides)
    return HttpSettings(**values)



@pytest.fixture
def second_host():
    with serve("127.0.0.2") as s:
        yield s


def fetch_all(fetcher: Fetcher, urls: list[str], s: HttpSettings) -> list[object]:
    """Fetch ``urls`` at once, one thread each, as the service's worker pool does; results or errors in order."""
    results: list[object] = [None] * len(urls)

    def run(index: int, url: str) -> None:
        try:
            results[index] = fetcher.fetch(url, settings=s)
        except FetchError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, url)) for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


# --- robots.txt -------------------------------------------------------------------------------------------


def test_robots_txt_disallowing_a_path_stops_the_fetch(server):
    server.routes["/robots.txt"] = answer(body=b"User-agent: *\nDisallow: /private/\n")
    server.routes["/private/feed.xml"] = answer(body=b"secret")
    server.routes["/news/feed.xml"] = answer(body=b"public")
    with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/private/feed.xml"))
        assert fetcher.fetch(server.url("/news/feed.xml")).body == b"public"

    error = info.value
    assert error.error_class == "robots"
    assert server.url("/private/feed.xml") in str(error)
    assert "robots.txt" in str(error) and "http.respect_robots: false" in str(error)
    assert "permission" in str(error)
    # robots.txt was read once for both URLs, and the disallowed page was never requested.
    assert server.paths() == ["/robots.txt", "/news/feed.xml"]


def test_robots_txt_group_for_our_user_agent_wins(server):
    server.routes["/robots.txt"] = answer(body=b"User-agent: news-monitor\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/feed.xml"))
        assert info.value.error_class == "robots"
        # Another User-Agent is not named in robots.txt: the "*" group lets it in.
        assert fetcher.fetch(server.url("/feed.xml"), settings=settings(user_agent="other-bot/2.0")).body == b"feed"


def test_respect_robots_false_skips_robots_txt(server):
    server.routes["/robots.txt"] = answer(body=b"User-agent: *\nDisallow: /\n")
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings()) as fetcher:
        assert fetcher.fetch(server.url("/feed.xml"), settings=settings(respect_robots=False)).body == b"feed"
    assert server.paths() == ["/feed.xml"]


@pytest.mark.parametrize("robots_route", [
    pytest.param(answer(404, b"not found"), id="404"),
    pytest.param(answer(500, b"oops"), id="500"),
    pytest.param(answer(403, b"forbidden"), id="403"),
    pytest.param(hang_up, id="unreachable"),
    pytest.param(answer(body=b"\x00\xff\xfe<html><body>\x89PNG garbage</body></html>"), id="garbage"),
    pytest.param(answer(body=b"User-agent: *\nDisallow: /\n" + b"#" * ROBOTS_MAX_BYTES), id="too-large"),
])
def test_robots_txt_that_cannot_be_had_allows_everything(server, robots_route):
    server.routes["/robots.txt"] = robots_route
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings()) as fetcher:
        assert fetcher.fetch(server.url("/feed.xml")).body == b"feed"
        assert fetcher.fetch(server.url("/feed.xml")).body == b"feed"
    # Remembered: robots.txt is not asked again for the second fetch.
    assert server.paths() == ["/robots.txt", "/feed.xml", "/feed.xml"]


def test_slow_robots_txt_leaves_the_page_its_time(server):
    """robots.txt may use half the deadline; when it stalls, the page is still fetched within the whole."""
    server.routes["/robots.txt"] = answer(body=b"User-agent: *\nDisallow: /\n", delay=5)
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings(timeout=1.0)) as fetcher:
        started = time.monotonic()
        assert fetcher.fetch(server.url("/feed.xml")).body == b"feed"
        took = time.monotonic() - started
    assert 0.45 < took < 1.0


def test_robots_txt_redirected_between_two_busy_hosts_does_not_deadlock(server, second_host):
    """Each host's robots.txt redirects to the other's while a page of each is being fetched: each thread holds
    its host's turn and waits for the other's. The wait is bounded, robots.txt counts as unavailable (allow
    all), and both pages arrive."""
    server.routes["/robots.txt"] = answer(301, b"", {"Location": second_host.url("/robots.txt")}, delay=0.1)
    second_host.routes["/robots.txt"] = answer(301, b"", {"Location": server.url("/robots.txt")}, delay=0.1)
    server.routes["/feed.xml"] = answer(body=b"one")
    second_host.routes["/feed.xml"] = answer(body=b"two")
    s = settings(timeout=2.0, allow_private_networks=True)
    with Fetcher(s) as fetcher:
        started = time.monotonic()
        results = fetch_all(fetcher, [server.url("/feed.xml"), second_host.url("/feed.xml")], s)
        took = time.monotonic() - started
    assert [result.body for result in results] == [b"one", b"two"]
    assert took < 2.0


def test_crawl_delay_spaces_requests(server):
    server.routes["/robots.txt"] = answer(body=b"User-agent: *\nCrawl-delay: 0.5\n")
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings(per_host_delay=0.0)) as fetcher:
        for _ in range(3):
            fetcher.fetch(server.url("/feed.xml"))
    arrivals = server.times("/feed.xml")
    assert len(arrivals) == 3
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert all(gap >= 0.48 for gap in gaps), gaps


def test_crawl_delay_is_capped_and_per_user_agent():
    rules = parse_robots("http://example.org/robots.txt",
                         b"User-agent: news-monitor\nCrawl-delay: 3600\n\nUser-agent: *\nCrawl-delay: 2\n")
    assert rules.crawl_delay(UA) == MAX_CRAWL_DELAY
    assert rules.crawl_delay("other-bot/1.0") == 2.0
    assert parse_robots("http://example.org/robots.txt", b"User-agent: *\nDisallow:\n").crawl_delay(UA) == 0.0


# --- per-host delay and concurrency -----------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_per_host_concurrency_bounds_requests_in_flight(server, limit):
    server.routes["/slow"] = answer(body=b"slow", delay=0.2)
    s = settings(respect_robots=False, per_host_concurrency=limit)
    with Fetcher(s) as fetcher:
        results = fetch_all(fetcher, [server.url("/slow")] * 4, s)
    assert all(not isinstance(result, FetchError) for result in results)
    assert len(server.hits) == 4
    assert server.max_active == limit


def test_turns_at_a_host_are_given_in_arrival_order(server):
    for i in range(5):
        server.routes[f"/{i}"] = answer(body=b"x", delay=0.05)
    s = settings(respect_robots=False)
    threads = []
    with Fetcher(s) as fetcher:
        for i in range(5):
            threads.append(threading.Thread(target=fetcher.fetch, args=(server.url(f"/{i}"),)))
            threads[-1].start()
            time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=5)
    assert server.paths() == ["/0", "/1", "/2", "/3", "/4"]


def test_two_hosts_run_concurrently_while_each_host_is_spaced(server, second_host):
    """Two fetches to each of two hosts at once: the hosts do not wait for each other, but each host's own
    requests start per_host_delay apart (measured at the servers)."""
    for s in (server, second_host):
        s.routes["/feed.xml"] = answer(body=b"feed", delay=0.1)
    s = settings(respect_robots=False, per_host_delay=0.5)
    urls = [server.url("/feed.xml"), second_host.url("/feed.xml")] * 2
    with Fetcher(s) as fetcher:
        started = time.monotonic()
        results = fetch_all(fetcher, urls, s)
        took = time.monotonic() - started
    assert all(not isinstance(result, FetchError) for result in results)
    first, second = server.times("/feed.xml"), second_host.times("/feed.xml")
    assert len(first) == 2 and len(second) == 2
    assert first[1] - first[0] >= 0.48 and second[1] - second[0] >= 0.48   # each host spaced by its delay
    assert abs(first[0] - second[0]) < 0.2 and abs(first[1] - second[1]) < 0.2   # ... but at the same time
    assert took < 1.0   # serialised, it would take 0.5 * 3 + 4 * 0.1 = 1.9 s


def test_delay_is_shared_by_sources_with_different_settings(server):
    """Two sources on one host with different delays: each waits its own delay after the previous start."""
    server.routes["/a"] = answer(body=b"a")
    server.routes["/b"] = answer(body=b"b")
    with Fetcher(settings(respect_robots=False)) as fetcher:
        fetcher.fetch(server.url("/a"), settings=settings(respect_robots=False, per_host_delay=0.4))
        fetcher.fetch(server.url("/b"), settings=settings(respect_robots=False, per_host_delay=0.0))
        fetcher.fetch(server.url("/a"), settings=settings(respect_robots=False, per_host_delay=0.4))
    (a1, a2), (b,) = server.times("/a"), server.times("/b")
    assert b - a1 >= 0.38      # /a's delay holds the host for 0.4 s after it started
    assert a2 - b < 0.3        # /b asked for no delay after itself


def test_robots_request_counts_as_a_request_to_the_host(server):
    server.routes["/robots.txt"] = answer(404, b"")
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings(per_host_delay=0.3)) as fetcher:
        fetcher.fetch(server.url("/feed.xml"))
    (robots,), (page,) = server.times("/robots.txt"), server.times("/feed.xml")
    assert page - robots >= 0.28
