"""What a run row says, end to end (local HTTP server -> fetcher -> scrapers -> store -> SQLite): the encoding of a
page that gave nothing, items left out by max_items, titles over the length cap, and pages of a source that fail
while its other pages are read."""

from __future__ import annotations

import sqlite3
from xml.sax.saxutils import escape

import pytest
from werkzeug import Response

from monitor.prepare.normalise import MAX_TITLE_CHARS
from monitor.service import Monitor

LIST_SELECT = {"item": "ul.news-list li", "title": "a", "link": "a@href"}



def source(httpserver, name: str, path: str, kind: str = "rss", **options) -> dict:
    return {"name": name, "kind": kind, "url": httpserver.url_for(path), "every": "1h", **options}


def run_row(monitor: Monitor, run_id: int) -> sqlite3.Row:
    return monitor.store.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()


def rss(titles: list[str], encoding: str = "utf-8", channel: str = "示例新闻") -> bytes:
    items = "".join(f"<item><title>{escape(t)}</title><link>http://news.example.cn/{i}.html</link></item>"
                    for i, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{channel}</title>'
            f"{items}</channel></rss>").encode("gbk" if encoding == "gb2312" else encoding)


# --- runs.encoding when a page was decoded but gave nothing ----------------------------------------------------

GB_LIST_CHANGED = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                   "<title>朱镕基旧居 新闻列表</title></head><body><div class='new-layout'><p>精准扶贫</p></div>"
                   "</body></html>").encode("gbk")
GB_MAINTENANCE = ('<html><head><meta charset="gb2312"><title>系统维护中</title></head><body>请稍后再试</body>'
                  "</html>").encode("gbk")


@pytest.mark.parametrize("kind, body, content_type, status, error_class", [
    # The layout changed: the selectors match nothing on a page read as GB18030 (镕 is not in GB2312).
    ("html", GB_LIST_CHANGED, "text/html", "error", "selector_empty"),
    # A maintenance page where the feed should be.
    ("rss", GB_MAINTENANCE, "text/html", "error", "not_a_feed"),
    # A well-formed feed with no items today.
    ("rss", rss([], encoding="gb2312", channel="扶贫新闻"), "application/rss+xml", "ok", None),
], ids=["layout-changed", "maintenance-page", "empty-feed"])
def test_the_codec_is_recorded_when_a_decoded_page_gives_no_items(httpserver, monitor_for, kind, body,
                                                                   content_type, status, error_class):
    httpserver.expect_request("/page").respond_with_data(body, content_type=content_type)
    options = {"select": LIST_SELECT} if kind == "html" else {}
    monitor = monitor_for([source(httpserver, "src", "/page", kind, **options)])
    (result,) = monitor.run_once()
    assert (result.status, result.error_class, result.items_seen) == (status, error_class, 0)
    row = run_row(monitor, result.run_id)
    assert (row["status"], row["error_class"], row["encoding"]) == (status, error_class, "gb18030")


def test_no_codec_when_nothing_was_decoded(httpserver, monitor_for):
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    monitor = monitor_for([source(httpserver, "gone", "/gone.xml")])
    (result,) = monitor.run_once()
    assert result.error_class == "http_404"
    assert run_row(monitor, result.run_id)["encoding"] is None


# --- max_items ----------------------------------------------------------------------------------------------

TITLES = [f"第{n}条：乡村振兴的新消息" for n in range(1, 7)]


def test_max_items_keeps_the_first_items_and_the_run_says_how_many_were_left_out(httpserver, monitor_for):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(TITLES), content_type="application/rss+xml")
    monitor = monitor_for([source(httpserver, "feed", "/feed.xml", max_items=4)])
    (result,) = monitor.run_once()
    stored = [r[0] for r in monitor.store.conn.execute("SELECT title FROM items ORDER BY id")]
    assert stored == TITLES[:4]
    assert (result.status, result.items_seen, result.items_new) == ("ok", 4, 4)
    note = "max_items=4 reached: 2 more items were not stored; raise sources[].max_items if the source lists more"
    assert result.note == note
    assert result.line() == f"feed: ok, 4 items seen, 4 new ({note})"
    row = run_row(monitor, result.run_id)
    assert (row["status"], row["items_seen"], row["error"], row["error_class"]) == ("ok", 4, note, None)
    health = monitor.store.conn.execute("SELECT * FROM sources WHERE name = 'feed'").fetchone()
    assert (health["consecutive_failures"], health["last_error"]) == (0, None)


def test_a_feed_of_exactly_max_items_says_nothing_was_left_out(httpserver, monitor_for):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(TITLES), content_type="application/rss+xml")
    monitor = monitor_for([source(httpserver, "feed", "/feed.xml", max_items=6)])
    (result,) = monitor.run_once()
    assert (result.items_seen, result.note) == (6, None)
    assert run_row(monitor, result.run_id)["error"] is None


def test_max_items_counts_the_items_a_source_keeps_not_those_its_topics_turn_away(httpserver, monitor_for):
    feed = rss(["足球联赛今晚开战", *TITLES[:3], "天气预报：明天有雨"])
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    monitor = monitor_for([source(httpserver, "feed", "/feed.xml", max_items=3, topics=["poverty"])])
    (result,) = monitor.run_once()
    assert (result.items_seen, result.note) == (3, None)


# --- the title length cap -----------------------------------------------------------------------------------


def test_an_over_long_title_is_cut_to_the_cap(httpserver, monitor_for):
    long_title = "乡村振兴" + "很长的标题" * 200          # 1004 characters, no outlet suffix
    suffixed = "脱贫攻坚" + "长标题" * 180 + " - 澎湃新闻"   # 551 characters with the outlet
    httpserver.expect_request("/feed.xml").respond_with_data(rss([long_title, TITLES[0], suffixed]),
                                                             content_type="application/rss+xml")
    monitor = monitor_for([source(httpserver, "feed", "/feed.xml")])
    (result,) = monitor.run_once()
    assert (result.status, result.items_new) == ("ok", 3)
    conn = monitor.store.conn
    item = conn.execute("SELECT * FROM items WHERE url = 'http://news.example.cn/0.html'").fetchone()
    assert MAX_TITLE_CHARS == 500
    assert item["title"] == long_title[:500]
    assert conn.execute("SELECT title FROM sightings WHERE item_id = ?", (item["id"],)).fetchone()[0] == \
        long_title[:500]
    # The outlet suffix of an over-long title is still read as its publisher, and not left cut in the title.
    outlet = conn.execute("SELECT title, publisher FROM items WHERE url = 'http://news.example.cn/2.html'").fetchone()
    assert (outlet["title"], outlet["publisher"]) == (suffixed[:500], "澎湃新闻")
    # A cut by length is not a title cut short with "...": the row is not waiting to be completed.
    assert item["title_cut"] == ""
    # the search index has the row
    assert conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH '\"乡 村 振 兴\"'").fetchone()[0] \
        == item["id"]


# --- a page that fails does not stop the source's other pages --------------------------------------------------

URLSET = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
          'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>http://news.example.cn/z.html</loc>'
          "<news:news><news:publication><news:name>示例日报</news:name></news:publication>"
          "<news:publication_date>2020-12-16T09:00:00+08:00</news:publication_date>"
          "<news:title>易地扶贫搬迁群众过上新生活</news:title></news:news></url></urlset>").encode()


def sitemap_index(*locations: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>" for loc in locations)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</sitemapindex>").encode()


def test_a_child_sitemap_that_fails_does_not_hide_the_children_after_it(httpserver, monitor_for):
    gone, news = httpserver.url_for("/gone.xml"), httpserver.url_for("/news.xml")
    httpserver.expect_request("/index.xml").respond_with_data(sitemap_index(gone, news),
                                                              content_type="application/xml")
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    httpserver.expect_request("/news.xml").respond_with_data(URLSET, content_type="application/xml")
    monitor = monitor_for([source(httpserver, "index", "/index.xml", "sitemap")])
    (result,) = monitor.run_once()
    assert monitor.store.conn.execute("SELECT title FROM items").fetchall()[0][0] == "易地扶贫搬迁群众过上新生活"
    assert (result.status, result.error_class, result.items_new) == ("error", "http_404", 1)
    assert gone in result.error
    row = run_row(monitor, result.run_id)
    assert (row["status"], row["items_new"], row["http_status"], row["encoding"]) == ("error", 1, 404, "utf-8")


# --- bodies that are not text as sent ---------------------------------------------------------------------------

PEOPLE_2024 = "/n1/2024/0424/c1001-40223222.html"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_a_gzipped_article_page_sent_without_content_encoding_is_read(httpserver, monitor_for, real_fixture):
    """The real people.com.cn page, gzip bytes served as text/html with no Content-Encoding: once "ok, 0 items"."""
    body = real_fixture("html/people_politics_article_2024.html.gz")
    assert body[:2] == b"\x1f\x8b"
    httpserver.expect_request(PEOPLE_2024).respond_with_data(body, content_type="text/html")
    monitor = monitor_for([source(httpserver, "people", PEOPLE_2024, "related", max_depth=1)])
    (result,) = monitor.run_once()
    assert (result.status, result.items_seen, result.items_new) == ("ok", 1, 1)
    title, publisher = monitor.store.conn.execute("SELECT title, publisher FROM items").fetchone()
    assert title.startswith("促进航天技术更好惠及人民") and publisher == "新华网"
    page = monitor.store.conn.execute("SELECT status, http_status FROM pages").fetchone()
    assert tuple(page) == ("ok", 200)


@pytest.mark.parametrize("kind, options", [
    ("related", {}),
    ("html", {"select": LIST_SELECT}),
    ("rss", {}),
])
def test_binary_data_where_a_page_should_be_fails_the_run_clearly(httpserver, monitor_for, kind, options):
    httpserver.expect_request("/page").respond_with_data(PNG, content_type="text/html")
    monitor = monitor_for([source(httpserver, "src", "/page", kind, **options)])
    (result,) = monitor.run_once()
    assert (result.status, result.error_class, result.items_seen) == ("error", "not_a_page", 0)
    assert "binary data (a PNG image)" in result.error
    row = run_row(monitor, result.run_id)
    assert (row["status"], row["error_class"]) == ("error", "not_a_page")
    if kind == "related":
        page = monitor.store.conn.execute("SELECT status, error_class FROM pages").fetchone()
        assert tuple(page) == ("error", "not_a_page")


def test_two_sitemap_sources_on_one_index_each_read_the_index_and_its_children(httpserver, monitor_for):
    """Child sitemaps are conditional-GET state of the source that fetched them too, not of the URL alone."""
    asked: list[tuple[str, str | None]] = []

    def with_etag(body: bytes, etag: str):
        def handler(request):
            asked.append((request.path, request.headers.get("If-None-Match")))
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            return Response(body, headers={"Content-Type": "application/xml", "ETag": etag})
        return handler

    news = httpserver.url_for("/news.xml")
    httpserver.expect_request("/index.xml").respond_with_handler(with_etag(sitemap_index(news), '"i1"'))
    httpserver.expect_request("/news.xml").respond_with_handler(with_etag(URLSET, '"n1"'))
    monitor = monitor_for([source(httpserver, "a", "/index.xml", "sitemap"),
                           source(httpserver, "b", "/index.xml", "sitemap")])
    (a,) = monitor.run_once(["a"])
    (b,) = monitor.run_once(["b"])
    assert (a.status, a.items_seen, b.status, b.items_seen) == ("ok", 1, "ok", 1)
    assert asked == [("/index.xml", None), ("/news.xml", None), ("/index.xml", None), ("/news.xml", None)]
    again = monitor.run_once()
    assert [(r.source, r.status) for r in again] == [("a", "not_modified"), ("b", "not_modified")]
    cached = monitor.store.conn.execute("SELECT source, url, etag FROM http_cache ORDER BY source, url").fetchall()
    assert [tuple(r) for r in cached] == [("a", httpserver.url_for("/index.xml"), '"i1"'), ("a", news, '"n1"'),
                                          ("b", httpserver.url_for("/index.xml"), '"i1"'), ("b", news, '"n1"')]
