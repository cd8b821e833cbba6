"""scrapers.sitemap (kind ``sitemap``): news sitemaps, indexes, gzip, hostile XML; the real NYT sitemap end to end."""

from __future__ import annotations

import gzip
import logging
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from werkzeug import Request, Response

from monitor.core.errors import FetchError, ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page, read_page
from scrapers import get_kind
from scrapers import sitemap as sitemap_module
from scrapers.sitemap import discover_sitemaps, scrape_sitemap
from tests.conftest import OWN_FIXTURES
from tests.helpers import fetch_page

FIXTURES = OWN_FIXTURES / "sitemap"
NEWS_ZH = (FIXTURES / "news_zh.xml").read_bytes()
NEWS_1_GZ = (FIXTURES / "news-1.xml.gz").read_bytes()
NEWS_2 = (FIXTURES / "news-2.xml").read_bytes()
INDEX = (FIXTURES / "index.xml").read_bytes()
SUB_INDEX = (FIXTURES / "sub-index.xml").read_bytes()
NYT = "sitemaps/nytimes_news_sitemap_2011.xml"
ORIGIN = b"https://news.example.com"
URL = "https://news.example.com/sitemap.xml"
CST = timezone(timedelta(hours=8))
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def page(body: bytes, url: str = URL, content_type: str | None = "application/xml") -> Page:
    return read_page(url, body, content_type)


def scraped(body: bytes, **kwargs) -> tuple[Page, list[RawItem]]:
    """The page as read (``page.codec``: the encoding its bytes were decoded with) and the items scraped from it."""
    read = page(body, **kwargs)
    return read, scrape_sitemap(read, {"select": {}})


def scrape(body: bytes, **kwargs) -> list[RawItem]:
    return scraped(body, **kwargs)[1]


def urlset(*entries: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'{NEWS_NS}>{"".join(entries)}</urlset>').encode()


def entry(loc: str, title: str | None = None, date: str | None = None) -> str:
    news = ""
    if title is not None:
        news = (f"<news:news><news:publication><news:name>示例</news:name></news:publication>"
                f"{f'<news:publication_date>{date}</news:publication_date>' if date else ''}"
                f"<news:title>{title}</news:title></news:news>")
    return f"<url><loc>{loc}</loc>{news}</url>"


def scrape_error(body: bytes, **kwargs) -> ScrapeError:
    with pytest.raises(ScrapeError) as caught:
        scrape(body, **kwargs)
    return caught.value


def test_sitemap_kind_is_registered_with_discover():
    kind = get_kind("sitemap")
    assert kind.scrape is scrape_sitemap and kind.discover is discover_sitemaps
    assert kind.select_fields == frozenset()


# --- the real New York Times news sitemap ------------------------------------------------------------------------

def test_real_nytimes_news_sitemap(real_fixture):
    body = real_fixture(NYT)
    items = scrape(body, url="http://www.nytimes.com/sitemap_news.xml")
    assert len(items) == 343 == body.count(b"<url>")
    first = items[0]
    assert first.title == "Facebook and Prineville, Ore., Become Friends"
    assert first.url == "http://bits.blogs.nytimes.com/2011/04/18/facebook-and-prineville-ore-become-friends/"
    assert first.published == datetime(2011, 4, 18, 11, 6, 36, tzinfo=UTC)
    assert first.published.tzinfo is not None
    assert first.extra["genres"] == "Blog" and first.extra["language"] == "en"
    assert items[-1].title == "Fighting Words"
    assert items[-1].published == datetime(2011, 4, 16, 11, 12, 30, tzinfo=UTC)
    # The sitemap names the publication "New York Times" (without "The"); every entry has it.
    assert {item.publisher for item in items} == {"New York Times"}
    assert all(isinstance(item.published, datetime) and item.published.utcoffset() == timedelta(0) for item in items)
    titles = [item.title for item in items]
    # The three CDATA titles, ampersands intact.
    for cdata_title in ("S&P", "AT&T Follows Its Customers Overseas",
                        "S.&P. Lowers Outlook for U.S., Sending Stocks Down"):
        assert cdata_title in titles
    snoring = items[titles.index("The Claim: To Reduce Snoring, Try Sleeping on Your Side")]
    assert snoring.url == "http://www.nytimes.com/2011/04/19/health/19really.html"
    assert snoring.extra["keywords"] == "Sleep, Snoring, Apnea (Sleep Disorder), Medicine and Health"
    assert discover_sitemaps(page(body), {}) == []


# --- our own fixtures --------------------------------------------------------------------------------------------

def test_chinese_news_sitemap():
    read, items = scraped(NEWS_ZH)
    # Five <url>: one listed twice is read once, the plain page without <news:news> has no title and is skipped.
    assert [item.title for item in items] == [
        "决战决胜脱贫攻坚要抓好三个重点",                           # CDATA
        '贵州：最后9个深度贫困县退出"贫困县"序列 & 乡村振兴',        # entities unescaped by the XML parser
        "鄉村振興：廣東農村的新變化",                               # whitespace around the title removed
    ]
    first, second, third = items
    assert first.url == "https://news.example.com/n1/2020/1215/c1001-31967196.html"
    assert first.publisher == "人民网"
    assert first.published == datetime(2020, 12, 15, 8, 10, tzinfo=CST)        # <news:publication_date>,
    assert first.extra["lastmod"] == "2020-12-15T09:00:00+08:00"                # not <lastmod>
    assert first.extra["keywords"] == "脱贫攻坚, 精准扶贫"
    assert set(first.extra) <= {"lastmod", "language", "keywords", "genres", "stock_tickers"}
    assert second.published == "2020-11-23"                          # no zone: read later in the configured one
    assert third.published == datetime(2020, 12, 1, 10, 20, 30, tzinfo=UTC)   # <lastmod> as the fallback
    assert third.published == datetime.fromisoformat(third.extra["lastmod"])
    assert read.codec == "utf-8"


def test_dates_with_and_without_their_own_offset():
    items = scrape(urlset(entry("https://news.example.com/a.html", "甲", "2020-12-15T08:10:00+08:00"),
                          entry("https://news.example.com/b.html", "乙", "Tue, 15 Dec 2020 08:10:00 +0800"),
                          entry("https://news.example.com/c.html", "丙", "2020-12-15 08:10")))
    assert [item.published for item in items] == [datetime(2020, 12, 15, 8, 10, tzinfo=CST)] * 2 + ["2020-12-15 08:10"]
    assert [item.published.utcoffset() for item in items[:2]] == [timedelta(hours=8)] * 2



def test_the_news_fields_beyond_title_and_date_go_to_extra():
    body = urlset('<url><loc>https://news.example.com/a.html</loc><lastmod>2020-12-15</lastmod><news:news>'
                  '<news:publication><news:name>示例</news:name><news:language>zh-cn</news:language></news:publication>'
                  '<news:genres>PressRelease</news:genres><news:keywords>脱贫攻坚</news:keywords>'
                  '<news:stock_tickers>SHA:600000, SHE:000001</news:stock_tickers>'
                  '<news:title>示例新闻</news:title></news:news></url>')
    [item] = scrape(body)
    assert item.extra == {"lastmod": "2020-12-15", "language": "zh-cn", "keywords": "脱贫攻坚",
                          "genres": "PressRelease", "stock_tickers": "SHA:600000, SHE:000001"}

# Gzip is undone by the fetcher, before the page is decoded: these go through the real client and a local server.

def fetched_sitemap(httpserver, body: bytes, content_type: str | None = "application/xml",
                    path: str = "/sitemaps/news-1.xml.gz") -> list[RawItem]:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return scrape_sitemap(fetch_page(httpserver.url_for(path)), {"select": {}})


def fetch_error(httpserver, body: bytes) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetched_sitemap(httpserver, body)
    return caught.value


@pytest.mark.parametrize("content_type", ["application/x-gzip", "application/octet-stream", "text/xml", None])
def test_gzipped_sitemap_whatever_the_content_type(httpserver, content_type):
    assert NEWS_1_GZ[:2] == b"\x1f\x8b"
    items = fetched_sitemap(httpserver, NEWS_1_GZ, content_type)
    assert [item.title for item in items] == ["易地扶贫搬迁群众过上新生活", "陶喆公益演唱会为乡村振兴募款"]
    assert items[0].publisher == "示例日报"


def test_gzip_bomb_stops_early(httpserver):
    bomb = gzip.compress(b"<urlset>" + b" " * (64 * 1024 * 1024) + b"</urlset>", compresslevel=9)
    assert len(bomb) < 100 * 1024
    started = time.monotonic()
    error = fetch_error(httpserver, bomb)
    assert error.error_class == "too_large" and "after gzip decompression" in str(error)
    assert time.monotonic() - started < 2


def test_broken_gzip_is_a_decoding_error(httpserver):
    truncated = gzip.compress(urlset(entry("https://a.example/1", "标题")))[:-20]
    assert fetch_error(httpserver, truncated).error_class == "decoding"
    httpserver.clear()
    assert fetch_error(httpserver, b"\x1f\x8b" + b"not gzip at all").error_class == "decoding"


def test_gzip_with_several_members(httpserver):
    xml = urlset(entry("https://a.example/1", "第一"), entry("https://a.example/2", "第二"))
    half = len(xml) // 2
    items = fetched_sitemap(httpserver, gzip.compress(xml[:half]) + gzip.compress(xml[half:]))
    assert [item.title for item in items] == ["第一", "第二"]
    # Members add up towards the limit too (http.max_bytes, 10 MiB by default).
    httpserver.clear()
    member = gzip.compress(b" " * (1024 * 1024))
    assert fetch_error(httpserver, member * 11).error_class == "too_large"


def test_sitemap_index_gives_no_items_and_discovers_children_once():
    index_url = "https://news.example.com/sitemaps/index.xml"
    assert scrape(INDEX, url=index_url) == []
    assert discover_sitemaps(page(INDEX, url=index_url), {}) == [
        "https://news.example.com/sitemaps/news-1.xml.gz", "https://news.example.com/sitemaps/sub-index.xml"]
    # The child index lists the top index again: the page's own URL is never returned.
    sub_url = "https://news.example.com/sitemaps/sub-index.xml"
    assert discover_sitemaps(page(SUB_INDEX, url=sub_url), {}) == [
        "https://news.example.com/sitemaps/index.xml", "https://news.example.com/sitemaps/news-1.xml.gz",
        "https://news.example.com/sitemaps/news-2.xml"]
    assert discover_sitemaps(page(SUB_INDEX, url=index_url), {}) == [
        "https://news.example.com/sitemaps/news-1.xml.gz", "https://news.example.com/sitemaps/news-2.xml"]


def test_index_locations_are_resolved_and_checked():
    body = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<sitemap><loc> /s/a.xml </loc></sitemap><sitemap><loc>ftp://x.example/b.xml</loc></sitemap>"
            b"<sitemap><loc></loc></sitemap><sitemap><loc>//cdn.example.net/c.xml.gz</loc></sitemap></sitemapindex>")
    assert discover_sitemaps(page(body), {}) == ["https://news.example.com/s/a.xml",
                                                 "https://cdn.example.net/c.xml.gz"]


def test_gzipped_index(httpserver):
    httpserver.expect_request("/sitemap_index.xml.gz").respond_with_data(gzip.compress(INDEX))
    urls = discover_sitemaps(fetch_page(httpserver.url_for("/sitemap_index.xml.gz")), {})
    assert len(urls) == 2


@pytest.mark.parametrize("body, described", [
    (b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>gone</body></html>",
     "an HTML page titled '404 Not Found'"),
    (b"", "an empty body"),
    (b"  \n ", "a body of only whitespace"),
    (b"Service Unavailable", "text starting with 'Service Unavailable'"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
     "a feed (root element <rss>): use kind rss"),
    (b'<?xml version="1.0"?><catalog><book id="1"/></catalog>', "root element is <catalog>"),
    (b'{"urls": []}', "JSON data"),
])
def test_not_a_sitemap(body, described):
    error = scrape_error(body)
    assert error.error_class == "not_a_sitemap"
    assert described in str(error) and URL in str(error)
    with pytest.raises(ScrapeError):
        discover_sitemaps(page(body), {})


def test_entities_are_never_resolved():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/passwd">'
           b'<!ENTITY inner "INNER">]>' + urlset(entry("https://a.example/1", "before &secret;&inner; after"))
           .split(b"?>", 1)[1])
    [item] = scrape(xxe)
    assert item.title == "before after"
    assert "root:" not in item.title and "INNER" not in item.title


def test_billion_laughs_is_harmless(caplog):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
    entries = entry("https://a.example/1", "之前") + entry("https://a.example/2", "&lol9;笑")
    body = f'<?xml version="1.0"?><!DOCTYPE urlset [{entities}]><urlset {NEWS_NS}>{entries}</urlset>'.encode()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="scrapers.sitemap"):
        items = scrape(body)
    assert time.monotonic() - started < 1
    # Entities are never expanded; libxml2 stops at the bomb, and what came before it is kept.
    assert [item.title for item in items] == ["之前"]
    assert "not well-formed" in caplog.text and "amplification" in caplog.text


def test_minor_errors_are_recovered():
    body = urlset(entry("https://a.example/1", "A & B"), entry("https://a.example/2", "第二条"))
    body = body.replace(b"</urlset>", "<url><loc>https://a.example/3</loc><news:news><news:title>断".encode())
    items = scrape(body)
    assert [item.url for item in items] == ["https://a.example/1", "https://a.example/2", "https://a.example/3"]
    assert items[1].title == "第二条"


def test_gb2312_declared_sitemap_with_gbk_characters():
    body = ('<?xml version="1.0" encoding="gb2312"?>' + urlset(entry("https://a.example/1", "朱镕基考察"))
            .decode("utf-8").split("?>", 1)[1]).encode("gbk")
    read, [item] = scraped(body)
    assert item.title == "朱镕基考察" and read.codec == "gb18030"


def test_sitemap_without_namespace_and_relative_locations():
    body = b"<urlset><url><loc>/n/1.html</loc><news><title>No namespace</title></news></url></urlset>"
    [item] = scrape(body)
    assert (item.title, item.url) == ("No namespace", "https://news.example.com/n/1.html")


def test_plain_sitemap_without_titles_gives_no_items_and_says_so(caplog):
    body = urlset(entry("https://a.example/1"), entry("https://a.example/2"))
    with caplog.at_level(logging.WARNING, logger="scrapers.sitemap"):
        assert scrape(body) == []
    assert "2 of 2 entries skipped" in caplog.text and "news sitemap" in caplog.text


def test_url_count_is_capped(monkeypatch, caplog):
    monkeypatch.setattr(sitemap_module, "MAX_URLS", 3)
    body = urlset(*(entry(f"https://a.example/{n}", f"标题{n}") for n in range(5)))
    with caplog.at_level(logging.WARNING, logger="scrapers.sitemap"):
        items = scrape(body)
    assert [item.title for item in items] == ["标题0", "标题1", "标题2"]
    assert "more than 3 <url> entries" in caplog.text


def test_many_entries_are_read_with_a_flat_tree():
    body = urlset(*(entry(f"https://a.example/{n}", f"标题{n}", "2020-12-11T18:56:00+08:00") for n in range(5000)))
    items = scrape(body)
    assert len(items) == 5000 and items[-1].title == "标题4999"


# --- end to end --------------------------------------------------------------------------------------------------


def requests_for(httpserver, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_real_nytimes_sitemap_end_to_end(httpserver, monitor_for, real_fixture):
    body = real_fixture(NYT)
    httpserver.expect_request("/sitemap_news.xml").respond_with_data(body, content_type="text/xml")
    monitor = monitor_for([{"name": "nyt", "kind": "sitemap", "url": httpserver.url_for("/sitemap_news.xml"),
                            "every": "1h"}])
    [result] = monitor.run_once()
    assert (result.status, result.items_seen) == ("ok", 343)
    conn = monitor.store.conn
    assert conn.execute("SELECT count(*) FROM sightings WHERE run_id = ?", (result.run_id,)).fetchone()[0] == 343
    # Five titles appear twice on different URLs. The recurring columns ("Corrections", "Lottery Numbers", "100, 75,
    # 50 Years Ago": different days in their URLs) stay two items each (identity rule 2, recurring titles); the two
    # same-day pages of one article (the McIlroy brief, the Goldman piece) merge: 343 - 2 = 341 items.
    assert result.items_new == 341 == conn.execute("SELECT count(*) FROM items").fetchone()[0]
    row = conn.execute("SELECT * FROM items WHERE title = 'S&P'").fetchone()
    assert row["url"] == "http://krugman.blogs.nytimes.com/2011/04/18/sp/"
    assert row["publisher"] == "New York Times"
    assert row["published_at"] == "2011-04-18T18:47:08+08:00"       # 10:47:08Z in Asia/Shanghai
    assert conn.execute("SELECT count(*) FROM items WHERE published_at IS NULL").fetchone()[0] == 0


def test_gzipped_sitemap_end_to_end(httpserver, monitor_for):
    httpserver.expect_request("/sitemaps/news-1.xml.gz").respond_with_data(
        NEWS_1_GZ, content_type="application/x-gzip")
    monitor = monitor_for([{"name": "gz", "kind": "sitemap", "every": "1h",
                            "url": httpserver.url_for("/sitemaps/news-1.xml.gz")}])
    [result] = monitor.run_once()
    assert (result.status, result.items_seen, result.items_new) == ("ok", 2, 2)
    rows = monitor.store.conn.execute("SELECT title, url, publisher, published_at FROM items ORDER BY title").fetchall()
    assert [tuple(row) for row in rows] == [
        ("易地扶贫搬迁群众过上新生活", "https://news.example.com/n1/2020/1216/c1001-31970001.html", "示例日报",
         "2020-12-16T09:00:00+08:00"),
        ("陶喆公益演唱会为乡村振兴募款", "https://news.example.com/n1/2020/1216/c1001-31970003.html", "示例日报",
         "2020-12-16T20:11:43+08:00"),
    ]


def test_html_instead_of_a_sitemap_is_a_failed_run(httpserver, monitor_for):
    httpserver.expect_request("/sitemap.xml").respond_with_data(
        "<html><head><title>网站维护中</title></head><body></body></html>", content_type="text/html")
    monitor = monitor_for([{"name": "sm", "kind": "sitemap", "url": httpserver.url_for("/sitemap.xml"),
                            "every": "1h"}])
    [result] = monitor.run_once()
    assert (result.status, result.error_class) == ("error", "not_a_sitemap")
    assert "an HTML page titled '网站维护中'" in result.error


def serve_index(httpserver) -> None:
    """The index, a child index that lists the index again (a cycle), a gzipped child and a plain one."""
    origin = httpserver.url_for("/").rstrip("/").encode("ascii")
    for path, body, content_type in [
        ("/sitemaps/index.xml", INDEX.replace(ORIGIN, origin), "application/xml"),
        ("/sitemaps/sub-index.xml", SUB_INDEX.replace(ORIGIN, origin), "application/xml"),
        ("/sitemaps/news-1.xml.gz", NEWS_1_GZ, "application/octet-stream"),
        ("/sitemaps/news-2.xml", NEWS_2, "text/xml; charset=utf-8"),
    ]:
        httpserver.expect_request(path).respond_with_data(body, content_type=content_type)


def test_sitemap_index_with_a_cycle_end_to_end(httpserver, monitor_for):
    serve_index(httpserver)
    monitor = monitor_for([{"name": "index", "kind": "sitemap", "every": "1h",
                            "url": httpserver.url_for("/sitemaps/index.xml")}])
    [result] = monitor.run_once()
    assert (result.status, result.items_seen, result.items_new) == ("ok", 3, 3)
    for path in ("/sitemaps/index.xml", "/sitemaps/sub-index.xml", "/sitemaps/news-1.xml.gz",
                 "/sitemaps/news-2.xml"):
        assert requests_for(httpserver, path) == 1, path
    titles = {row[0] for row in monitor.store.conn.execute("SELECT title FROM items")}
    assert titles == {"易地扶贫搬迁群众过上新生活", "陶喆公益演唱会为乡村振兴募款", "朱镕基旧居前的精准扶贫故事"}


def test_sitemap_index_children_are_capped_by_max_pages(httpserver, monitor_for):
    serve_index(httpserver)
    monitor = monitor_for([{"name": "index", "kind": "sitemap", "every": "1h", "max_pages": 1,
                            "url": httpserver.url_for("/sitemaps/index.xml")}])
    [result] = monitor.run_once()
    assert (result.status, result.items_seen) == ("ok", 2)          # only the first child, news-1.xml.gz
    assert requests_for(httpserver, "/sitemaps/sub-index.xml") == 0
    assert requests_for(httpserver, "/sitemaps/news-2.xml") == 0


def test_children_are_read_again_when_the_index_is_not_modified(httpserver, monitor_for):
    """A news site's index rarely changes while its news sitemap changes all day: a 304 must not hide new items."""
    origin = httpserver.url_for("/").rstrip("/").encode("ascii")
    index = INDEX.replace(ORIGIN, origin).replace(b"sub-index.xml", b"news-2.xml")

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"i1"':
            return Response(status=304, headers={"ETag": '"i1"'})
        return Response(index, headers={"Content-Type": "application/xml", "ETag": '"i1"'})

    httpserver.expect_request("/sitemaps/index.xml").respond_with_handler(conditional)
    httpserver.expect_request("/sitemaps/news-1.xml.gz").respond_with_data(NEWS_1_GZ)
    httpserver.expect_request("/sitemaps/news-2.xml").respond_with_data(NEWS_2, content_type="text/xml")
    monitor = monitor_for([{"name": "index", "kind": "sitemap", "every": "1h",
                            "url": httpserver.url_for("/sitemaps/index.xml")}])
    [first] = monitor.run_once()
    assert (first.status, first.items_seen) == ("ok", 3)
    [second] = monitor.run_once()
    assert requests_for(httpserver, "/sitemaps/news-2.xml") == 2
    assert second.items_seen == 3
