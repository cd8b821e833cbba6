"""The order in which ``once`` hands sources to its workers: round robin over hosts (monitor.service
._interleave_hosts), so the workers do not all queue behind one host's politeness delay; results keep config order."""

from __future__ import annotations

from monitor.config import SourceConfig, load_config
from monitor.service import Monitor, _interleave_hosts
from tests.fetch_server import answer, serve
from tests.helpers import write_config


def src(name: str, *urls: str, kind: str = "rss") -> SourceConfig:
    return SourceConfig(name=name, kind=kind, url=urls[0] if urls else None, urls=tuple(urls[1:]), every=3600.0)


def names(sources: list[SourceConfig]) -> list[str]:
    return [s.name for s in sources]


def test_round_robin_over_hosts_in_order_of_first_appearance():
    sources = [src("a1", "http://a.example/1"), src("a2", "http://a.example/2"), src("a3", "http://a.example/3"),
               src("b1", "http://b.example/1"), src("c1", "https://c.example/1"), src("b2", "http://b.example/2")]
    assert names(_interleave_hosts(sources)) == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_hosts_are_compared_without_case_port_or_scheme_and_by_the_first_url():
    sources = [src("a1", "http://A.example/1"), src("a2", "https://a.example:8443/2"),
               src("b1", "http://b.example/1", "http://a.example/also"), src("a3", "http://a.example/3")]
    assert names(_interleave_hosts(sources)) == ["a1", "b1", "a2", "a3"]


def test_sources_without_a_url_share_one_turn():
    sources = [src("topic1", kind="related"), src("topic2", kind="related"), src("a1", "http://a.example/1"),
               src("a2", "http://a.example/2")]
    assert names(_interleave_hosts(sources)) == ["topic1", "a1", "topic2", "a2"]


def test_nothing_is_lost_or_repeated():
    sources = [src(f"s{i}", f"http://h{i % 3}.example/{i}") for i in range(10)]
    ordered = _interleave_hosts(sources)
    assert sorted(names(ordered)) == sorted(names(sources)) and len(ordered) == 10
    assert _interleave_hosts([]) == []


def test_once_starts_sources_host_by_host_and_returns_results_in_config_order(tmp_path):
    feed = (b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title><item>"
            b"<title>\xe4\xb9\xa1\xe6\x9d\x91\xe6\x8c\xaf\xe5\x85\xb4</title></item></channel></rss>")
    with serve("127.0.0.1") as one, serve("127.0.0.2") as two:
        for server in (one, two):
            for path in ("/1.xml", "/2.xml"):
                server.routes[path] = answer(body=feed, headers={"Content-Type": "application/rss+xml"})
        sources = [{"name": name, "kind": "rss", "url": server.url(path), "every": "1h"}
                   for name, server, path in [("one-1", one, "/1.xml"), ("one-2", one, "/2.xml"),
                                              ("two-1", two, "/1.xml"), ("two-2", two, "/2.xml")]]
        monitor = Monitor.open(load_config(write_config(tmp_path, sources, workers=1)))
        try:
            results = monitor.run_once()
        finally:
            monitor.close()
        started = sorted([(at, "one-" + path[1]) for path, at in one.hits if path != "/robots.txt"]
                         + [(at, "two-" + path[1]) for path, at in two.hits if path != "/robots.txt"])
    assert [r.source for r in results] == ["one-1", "one-2", "two-1", "two-2"]
    assert all(r.status == "ok" for r in results)
    assert [name for _, name in started] == ["one-1", "two-1", "one-2", "two-2"]
