"""The address rule through the pipeline: with ``http.allow_private_networks: false``, URLs a run finds (a sitemap
index's children, the links of a related block) are refused when they reach a private address, with an error that
names the URL, and are never requested; other sources run as usual.

The local server is on 127.0.0.1, itself a private address: the configured URLs reach it because URLs written in
config.yaml may point anywhere; anything the run discovers there is refused like 10.0.0.1. No packet is sent to
10.0.0.1: an address literal is refused before any connection (so no test here may allow private networks for a
source that lists it).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from monitor.config import load_config
from monitor.service import Monitor
from tests.helpers import write_config

STRICT = {"timeout": "5s", "retries": 0, "per_host_delay": 0, "allow_private_networks": False}
FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item>'
        "<title>乡村振兴：村里来了新产业</title><link>http://news.example.cn/1.html</link></item>"
        "</channel></rss>").encode()
URLSET = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
          'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>http://news.example.cn/z.html</loc>'
          "<news:news><news:publication><news:name>示例日报</news:name></news:publication>"
          "<news:title>易地扶贫搬迁群众过上新生活</news:title></news:news></url></urlset>").encode()


@pytest.fixture
def strict_monitor(tmp_path):
    """A monitor whose http defaults refuse private addresses for discovered URLs (the shipped default)."""
    opened: list[Monitor] = []

    def make(sources: list[dict]) -> Monitor:
        monitor = Monitor.open(load_config(write_config(tmp_path, sources, http=STRICT)))
        opened.append(monitor)
        return monitor

    yield make
    for monitor in opened:
        monitor.close()


def requested(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path != "/robots.txt"]


def sitemap_index(*locations: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>" for loc in locations)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</sitemapindex>").encode()


def test_child_sitemaps_at_private_addresses_are_refused_and_other_sources_run(httpserver, strict_monitor):
    intranet = "http://10.0.0.1/sitemap-news.xml"
    loopback = httpserver.url_for("/news.xml")          # the local server, but found in the index, not configured
    httpserver.expect_request("/index.xml").respond_with_data(sitemap_index(intranet, loopback),
                                                              content_type="application/xml")
    httpserver.expect_request("/local-index.xml").respond_with_data(sitemap_index(loopback),
                                                                    content_type="application/xml")
    httpserver.expect_request("/news.xml").respond_with_data(URLSET, content_type="application/xml")
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    url = httpserver.url_for
    monitor = strict_monitor([
        {"name": "index", "kind": "sitemap", "url": url("/index.xml"), "every": "1h"},
        {"name": "feed", "kind": "rss", "url": url("/feed.xml"), "every": "1h"},
        # A source that trusts its network may follow its index to a private address.
        {"name": "trusted", "kind": "sitemap", "url": url("/local-index.xml"), "every": "1h",
         "http": {"allow_private_networks": True}},
    ])
    (index, feed) = monitor.run_once(["index", "feed"])
    assert (index.status, index.error_class, index.items_seen) == ("error", "blocked_address", 0)
    assert index.error.startswith(f"refused to fetch {intranet}: 10.0.0.1 is a private address")
    assert "http.allow_private_networks: true for this source" in index.error
    assert "(1 more pages of this source failed too: see the log)" in index.error
    assert requested(httpserver).count("/news.xml") == 0      # refused before any request
    assert (feed.status, feed.items_new) == ("ok", 1)
    stored = monitor.store.conn.execute("SELECT status, error_class, error FROM runs WHERE id = ?",
                                        (index.run_id,)).fetchone()
    assert (stored["status"], stored["error_class"]) == ("error", "blocked_address") and intranet in stored["error"]

    (trusted,) = monitor.run_once(["trusted"])
    assert (trusted.status, trusted.items_new) == ("ok", 1)
    assert requested(httpserver).count("/news.xml") == 1


def test_related_links_to_private_addresses_are_refused_and_recorded(httpserver, strict_monitor):
    port = httpserver.port
    article = ("<html><head><meta charset='utf-8'><title>脱贫攻坚总览</title></head><body><h1>脱贫攻坚总览</h1>"
               "<h2>相关新闻</h2><ul>"
               "<li><a href='http://10.0.0.1/n1/intranet.html'>脱贫攻坚：内网里的一页</a></li>"
               f"<li><a href='http://localhost:{port}/n1/local.html'>脱贫攻坚：本机上的一页</a></li>"
               "<li><a href='/n1/same-server.html'>脱贫攻坚：同一台服务器上的一页</a></li>"
               "</ul></body></html>")
    httpserver.expect_request("/start.html").respond_with_data(article, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    monitor = strict_monitor([
        {"name": "spider", "kind": "related", "url": httpserver.url_for("/start.html"), "every": "6h",
         "allowed_domains": ["127.0.0.1", "10.0.0.1", "localhost"]},
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "1h"},
    ])
    spider, feed = monitor.run_once()
    # The start page was read and its related headlines stored; none of their pages was requested.
    assert requested(httpserver).count("/start.html") == 1
    assert not [path for path in requested(httpserver) if path.startswith("/n1/")]
    assert spider.status == "ok" and spider.items_new == 4     # the page itself and its three headlines
    assert (feed.status, feed.items_new) == ("ok", 1)
    refused = {row["url"]: row for row in monitor.store.conn.execute(
        "SELECT url, status, error_class, error FROM pages WHERE status = 'error'")}
    expected = {
        "http://10.0.0.1/n1/intranet.html": "10.0.0.1 is a private address",
        f"http://localhost:{port}/n1/local.html": "localhost is 127.0.0.1, a loopback address",
        httpserver.url_for("/n1/same-server.html"): "127.0.0.1 is a loopback address",
    }
    assert set(refused) == set(expected)
    for url, reason in expected.items():
        assert refused[url]["error_class"] == "blocked_address"
        assert refused[url]["error"].startswith(f"refused to fetch {url}: {reason}")
