"""One pass over several sources, end to end: local HTTP server -> fetcher -> scrapers -> store -> SQLite."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from werkzeug import Request, Response

from monitor.cli import main
from monitor.config import load_config
from monitor.seeding import import_seed
from monitor.service import Monitor
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
GBK_LIST = (OWN_FIXTURES / "pipeline" / "poverty_list_gbk.html").read_bytes()
LIST_SELECT = {"item": "ul.news-list li", "title": "a", "link": "a@href", "publisher": "span.src",
               "published": "span.date"}


def serve_with_etag(httpserver, path: str, body: bytes, content_type: str, etag: str = '"v1"') -> list[Request]:
    """Serve ``body`` at ``path``, answering 304 to a matching If-None-Match; returns the requests received."""
    received: list[Request] = []

    def handler(request: Request) -> Response:
        received.append(request)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, status=200, headers={"Content-Type": content_type, "ETag": etag})

    httpserver.expect_request(path).respond_with_handler(handler)
    return received



def rows(monitor: Monitor, sql: str, *params) -> list[sqlite3.Row]:
    return monitor.store.conn.execute(sql, params).fetchall()


def test_feed_and_gbk_list_page_are_ingested(httpserver, monitor_for):
    serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    # Served as text/html with no charset: must not be read as Latin-1; the page itself says gb2312 but holds 镕.
    serve_with_etag(httpserver, "/list.html", GBK_LIST, "text/html")
    monitor = monitor_for([
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"},
        {"name": "list", "kind": "html", "url": httpserver.url_for("/list.html"), "every": "1h",
         "select": LIST_SELECT},
    ])
    (feed,) = monitor.run_once(["feed"])       # one after the other: `once` runs sources concurrently
    (page,) = monitor.run_once(["list"])
    assert (feed.status, feed.items_seen, feed.items_new) == ("ok", 4, 4)
    assert page.status == "ok" and page.items_seen == 3

    item = rows(monitor, "SELECT * FROM items WHERE title LIKE '%衙下集镇%'")[0]
    assert item["title"] == "【决战决胜脱贫攻坚】衙下集镇：做大做强生猪产业，决战决胜脱贫攻坚"   # " - 澎湃新闻" dropped
    assert item["publisher"] == "澎湃新闻"
    assert item["published_at"] == "2020-09-21T10:23:00+08:00"
    assert item["url_key"] == "http://www.thepaper.cn/newsDetail_forward_9312345"

    zhu = rows(monitor, "SELECT * FROM items WHERE title LIKE '%镕基%'")[0]
    assert zhu["title"] == "朱镕基旧居前的精准扶贫故事"
    assert zhu["url"] == httpserver.url_for("/2020/1217/b2.html")
    assert zhu["publisher"] == "示例新闻网"
    assert zhu["published_at"] == "2020-12-17T08:05:00+08:00"
    fujian = rows(monitor, "SELECT * FROM items WHERE url LIKE 'http://other.example.cn/%'")[0]
    assert fujian["title"] == "鄉村振興看福建：茶園裡的新生活"
    assert fujian["published_at"].endswith("-12-14T00:00:00+08:00")

    # The same headline in the feed and on the page (different URLs, one publisher unknown): one row.
    same = rows(monitor, "SELECT * FROM items WHERE title = '乡村振兴：村里来了新产业'")
    assert len(same) == 1
    seen_by = rows(monitor, "SELECT source, matched_by, url FROM sightings WHERE item_id = ? ORDER BY id",
                   same[0]["id"])
    assert [(s["source"], s["matched_by"]) for s in seen_by] == [("feed", "new"), ("list", "title")]
    assert seen_by[1]["url"] == httpserver.url_for("/2020/1216/a1.html")
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == 6

    runs = rows(monitor, "SELECT source, status, http_status, items_seen, items_new FROM runs ORDER BY id")
    assert [tuple(r) for r in runs] == [("feed", "ok", 200, 4, 4), ("list", "ok", 200, 3, 2)]


def test_topics_filter_and_item_topics(httpserver, monitor_for):
    serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    monitor = monitor_for([{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m",
                            "topics": ["poverty"]}])
    (result,) = monitor.run_once()
    assert result.items_seen == 3     # the sports item matches no topic keyword and is not kept
    assert not rows(monitor, "SELECT 1 FROM items WHERE title LIKE '%足球%'")
    matched = {r["title"]: r["matched"] for r in rows(
        monitor, "SELECT items.title, matched FROM item_topics JOIN items ON items.id = item_id WHERE topic='poverty'")}
    # Traditional keywords (脫貧攻堅, 鄉村振興) matched simplified text.
    assert matched["乡村振兴：村里来了新产业"] == "脫貧攻堅, 鄉村振興"
    assert rows(monitor, "SELECT topics FROM items WHERE title = '乡村振兴：村里来了新产业'")[0][0] == '["poverty"]'


def test_a_source_limited_to_one_topic_labels_its_items_with_every_topic_they_match(httpserver, monitor_for):
    """A source's topics decide what it keeps; the labels are every configured topic an item matches (DESIGN.md)."""
    serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    monitor = monitor_for(
        [{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m",
          "topics": ["poverty"]}],
        topics={"poverty": {"any": ["脫貧攻堅", "鄉村振興"]}, "rural": {"any": ["新产业"]},
                "sports": {"any": ["足球"]}},
    )
    (result,) = monitor.run_once()
    assert result.items_seen == 3                      # the sports item matches only `sports`: not kept
    assert not rows(monitor, "SELECT 1 FROM items WHERE title LIKE '%足球%'")
    both = rows(monitor, "SELECT id, topics FROM items WHERE title = '乡村振兴：村里来了新产业'")[0]
    assert both["topics"] == '["poverty", "rural"]'
    labels = rows(monitor, "SELECT topic, matched FROM item_topics WHERE item_id = ? ORDER BY topic", both["id"])
    assert [tuple(r) for r in labels] == [("poverty", "脫貧攻堅, 鄉村振興"), ("rural", "新产业")]
    assert {r[0] for r in rows(monitor, "SELECT topic FROM item_topics")} == {"poverty", "rural"}


def test_duplicates_across_seed_feed_and_page_are_merged(httpserver, monitor_for, seed_document):
    serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    monitor = monitor_for([{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"}])
    import_seed(monitor.store, seed_document, monitor.zone)
    seed_count = rows(monitor, "SELECT count(*) FROM items")[0][0]
    (result,) = monitor.run_once()
    assert result.items_seen == 4 and result.items_new == 2     # two feed items were seed rows already

    # Same headline, simplified script and an outlet suffix vs the seed's traditional script: the seed row gains
    # the URL; it never becomes a second row.
    yaxia = rows(monitor, "SELECT * FROM items WHERE title LIKE '%衙下集%'")
    assert len(yaxia) == 1
    assert yaxia[0]["origin"] == "seed" and yaxia[0]["url"].startswith("https://www.thepaper.cn/newsDetail_forward_9312345")

    # The seed listed this title cut short ("...决战决胜..."): the row gains the full title, URL and date.
    gansu = rows(monitor, "SELECT * FROM items WHERE title LIKE '甘%'")
    assert len(gansu) == 1
    assert gansu[0]["title"] == "甘肃省残联凝心聚力“背水一战” 贫困残疾人脱贫攻坚工作决战决胜态势明显"
    assert gansu[0]["title_cut"] == "" and gansu[0]["url"] == "http://www.chinatimes.net.cn/article/100001.html"
    assert gansu[0]["publisher"] == "華夏時報"
    sighting = rows(monitor, "SELECT matched_by FROM sightings WHERE item_id = ? AND source = 'feed'", gansu[0]["id"])
    assert sighting[0][0] == "seed"
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == seed_count + 2
    assert rows(monitor, "SELECT count(*) FROM links")[0][0] == 20


def test_second_pass_adds_nothing_and_records_not_modified(httpserver, monitor_for):
    feed_requests = serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    monitor = monitor_for([{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"}])
    monitor.run_once()
    counts = [rows(monitor, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "sightings")]
    (second,) = monitor.run_once()
    assert second.status == "not_modified" and second.http_status == 304
    assert feed_requests[1].headers["If-None-Match"] == '"v1"'
    assert counts == [rows(monitor, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "sightings")]
    assert [r[0] for r in rows(monitor, "SELECT status FROM runs ORDER BY id")] == ["ok", "not_modified"]


def test_two_sources_on_one_feed_each_read_it_with_their_own_validators(httpserver, monitor_for):
    """The ETag one source stored must not make the server answer 304 to another source on the same URL."""
    feed_requests = serve_with_etag(httpserver, "/feed.xml", FEED, "application/rss+xml")
    url = httpserver.url_for("/feed.xml")
    monitor = monitor_for(
        [{"name": "poverty-feed", "kind": "rss", "url": url, "every": "15m", "topics": ["poverty"]},
         {"name": "sports-feed", "kind": "rss", "url": url, "every": "15m", "topics": ["sports"]}],
        topics={"poverty": {"any": ["脫貧攻堅", "鄉村振興"]}, "sports": {"any": ["足球"]}},
    )
    (poverty,) = monitor.run_once(["poverty-feed"])
    (sports,) = monitor.run_once(["sports-feed"])
    assert (poverty.status, poverty.items_new) == ("ok", 3)
    assert (sports.status, sports.http_status, sports.items_seen, sports.items_new) == ("ok", 200, 1, 1)
    assert "If-None-Match" not in feed_requests[1].headers       # the second source asked unconditionally
    stored = rows(monitor, "SELECT title, topics FROM items WHERE title LIKE '%足球%'")
    assert [tuple(r) for r in stored] == [("体育新闻：足球联赛开幕", '["sports"]')]

    again = {r.source: r for r in monitor.run_once()}
    assert {name: (r.status, r.http_status) for name, r in again.items()} == {
        "poverty-feed": ("not_modified", 304), "sports-feed": ("not_modified", 304)}
    assert [r.headers.get("If-None-Match") for r in feed_requests[2:]] == ['"v1"', '"v1"']
    cached = rows(monitor, "SELECT source, url, etag FROM http_cache ORDER BY source")
    assert [tuple(r) for r in cached] == [("poverty-feed", url, '"v1"'), ("sports-feed", url, '"v1"')]


def test_second_pass_without_conditional_get_adds_no_rows(httpserver, monitor_for):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    monitor = monitor_for([{"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"}])
    first = monitor.run_once()[0]
    second = monitor.run_once()[0]
    assert (first.items_new, second.items_seen, second.items_new) == (4, 4, 0)
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == 4
    assert {r[0] for r in rows(monitor, "SELECT matched_by FROM sightings WHERE run_id = ?", second.run_id)} == {"url"}


def test_broken_sources_are_recorded_while_the_others_are_stored(httpserver, monitor_for, real_fixture):
    maintenance = real_fixture("feeds/hexun_feed_url_returns_html_gb2312_undeclared.xml")
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    httpserver.expect_request("/maintenance.xml").respond_with_data(maintenance, content_type="text/xml")

    def slow(request: Request) -> Response:
        time.sleep(2.5)
        return Response(FEED, content_type="application/rss+xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    monitor = monitor_for([
        {"name": "broken", "kind": "rss", "url": httpserver.url_for("/broken.xml"), "every": "15m"},
        {"name": "slow", "kind": "rss", "url": httpserver.url_for("/slow.xml"), "every": "15m",
         "http": {"timeout": "1s"}},
        {"name": "maintenance", "kind": "rss", "url": httpserver.url_for("/maintenance.xml"), "every": "15m"},
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"},
    ])
    results = {r.source: r for r in monitor.run_once()}
    assert results["broken"].error_class == "http_500" and results["broken"].http_status == 500
    assert results["slow"].error_class == "timeout"
    assert results["maintenance"].error_class == "not_a_feed"
    assert "not a feed" in results["maintenance"].error
    assert results["feed"].status == "ok" and results["feed"].items_new == 4
    stored = {r["source"]: r for r in rows(monitor, "SELECT * FROM runs")}
    for name in ("broken", "slow", "maintenance"):
        assert stored[name]["status"] == "error" and stored[name]["error"]
    health = {r["name"]: r for r in rows(monitor, "SELECT * FROM sources")}
    assert health["broken"]["consecutive_failures"] == 1 and health["broken"]["last_error"]
    assert health["feed"]["consecutive_failures"] == 0 and health["feed"]["items_found"] == 4


def test_once_command_prints_a_line_per_source_and_exits_1_on_failure(httpserver, tmp_path, capsys):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("", status=404)
    config = write_config(tmp_path, [
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"},
        {"name": "gone", "kind": "rss", "url": httpserver.url_for("/gone.xml"), "every": "15m"},
    ])
    assert main(["--config", str(config), "once"]) == 1
    out = capsys.readouterr().out
    assert "feed: ok, 4 items seen, 4 new" in out
    assert "gone: error (http_404)" in out
    assert main(["--config", str(config), "once", "feed"]) == 0
    assert main(["--config", str(config), "once", "nosuch"]) == 2
    assert "no source named 'nosuch'" in capsys.readouterr().err


def test_database_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    config = write_config(tmp_path, [])
    monkeypatch.chdir(Path("/"))
    monitor = Monitor.open(load_config(config))
    monitor.close()
    assert (tmp_path / "news.db").exists()


def test_real_people_com_cn_page_with_a_lying_charset_header(httpserver, monitor_for, real_fixture):
    """people.com.cn: UTF-8 bytes, `<meta charset=GB2312>`, and here a server that says GB2312 as well."""
    page = real_fixture("html/people_article_utf8_meta_gb2312_related_news.html")
    httpserver.expect_request("/n1/2019/0615/c1013-31160361.html").respond_with_data(
        page, content_type="text/html; charset=GB2312")
    monitor = monitor_for([{
        "name": "people-related", "kind": "html", "every": "1h",
        "url": httpserver.url_for("/n1/2019/0615/c1013-31160361.html"),
        "select": {"item": "#rwb_xgxw li"},
    }])
    (result,) = monitor.run_once()
    assert (result.status, result.items_new) == ("ok", 4)
    stored = {r["title"]: r["url"] for r in rows(monitor, "SELECT title, url FROM items")}
    assert stored["一家人乘车赴跨国婚礼 丢了嫁妆多亏铁警找回"] == "http://sn.people.com.cn/n2/2019/0215/c378296-32641594.html"
    assert "素洁高雅 花之君子——历代文人“兰花图”简评" in stored
