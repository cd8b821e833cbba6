"""The related-headlines spider over a small local site (tests/fixtures/related/site), through the real pipeline.

The site: start.html lists a1 (relative link), a2 (protocol-relative), an off-topic sports page and an on-topic
page on another site; a1 lists b1 and start; a2 lists b2 and the sports page; b1 lists c1 and c2. The topic is
``poverty`` (脫貧攻堅, 精準扶貧, 鄉村振興) from tests/helpers.write_config.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from datasette.app import Datasette

from db.metadata import datasette_metadata
from db.publish import SETTINGS
from monitor.service import Monitor
from tests.conftest import OWN_FIXTURES

SITE = OWN_FIXTURES / "related" / "site"
OLD = "2000-01-01T00:00:00+08:00"


@pytest.fixture
def site(httpserver):
    """Serve every page of the site at its path, {HOST} made the server's host:port."""
    host = f"{httpserver.host}:{httpserver.port}".encode()
    for path in sorted(SITE.rglob("*")):
        if path.is_file():
            kind = "application/rss+xml" if path.suffix == ".xml" else "text/html; charset=utf-8"
            body = path.read_bytes().replace(b"{HOST}", host)
            httpserver.expect_request("/" + path.relative_to(SITE).as_posix()).respond_with_data(
                body, content_type=kind)
    return httpserver


def requested(server) -> list[str]:
    return [request.path for request, _ in server.log if request.path != "/robots.txt"]


def related_source(server, **options) -> dict:
    return {"name": "spider", "kind": "related", "url": server.url_for("/news/start.html"), "every": "6h",
            "topics": ["poverty"], **options}


def rows(monitor: Monitor, sql: str, *params) -> list[sqlite3.Row]:
    return monitor.store.conn.execute(sql, params).fetchall()


def links_by_title(monitor: Monitor) -> set[tuple[str, str, int]]:
    return {(r[0], r[1], r[2]) for r in rows(monitor, """
        SELECT f.title, t.title, links.depth FROM links
        JOIN items f ON f.id = links.from_item_id JOIN items t ON t.id = links.to_item_id""")}


def test_depth_limit_relevance_gate_and_domains(site, monitor_for):
    monitor = monitor_for([related_source(site)])            # max_depth 2 by default
    [result] = monitor.run_once(["spider"])
    assert result.status == "ok", result.error
    # Depth 0 and 1 are fetched; depth-2 headlines (b1, b2) are stored but their pages are not.
    assert sorted(requested(site)) == ["/news/a1.html", "/news/a2.html", "/news/start.html"]
    # The relevance gate: the off-topic headline (listed by start and a2) is never fetched nor stored.
    assert "/news/sports.html" not in requested(site)
    titles = {r["title"] for r in rows(monitor, "SELECT title FROM items")}
    assert "周末足球联赛：主队三比一取胜" not in titles
    # Weaker blocks are not read when a related block has links.
    assert not titles & {"热门：明星婚礼现场曝光啦", "热门：新款手机发布会回顾"}
    start, a1, a2 = "决战决胜脱贫攻坚要抓好三个重点", "某县脱贫攻坚收官：贫困村全部出列", \
        "乡村振兴开新局 产业帮扶见实效——某省推进脱贫成果巩固"
    other_site, b1, b2 = "外地精准扶贫经验交流会召开", "精准扶贫档案：一户人家的五年", "乡村振兴在行动：合作社带富一方"
    assert links_by_title(monitor) == {
        (start, a1, 1), (start, a2, 1), (start, other_site, 1),
        (a1, b1, 2), (a1, start, 2), (a2, b2, 2),
    }
    # An on-topic page on another site is stored as a headline but not fetched (allowed_domains: the start's site).
    assert not rows(monitor, "SELECT 1 FROM pages WHERE url LIKE '%elsewhere.invalid%'")
    items = {r["title"]: r for r in rows(monitor, "SELECT * FROM items")}
    # What the list shows and what the page says both reach the item: the listed date, the page's publisher.
    assert items[a1]["published_at"] == "2020-12-11T18:56:00+08:00"
    assert items[a1]["publisher"] == "示例晚报"
    assert items[a2]["published_at"] == "2020-12-08T00:00:00+08:00"   # 12月8日, the year of the start article
    assert items[a2]["publisher"] == "示例农民报"
    assert items[start]["published_at"] == "2020-12-15T09:30:00+08:00"
    assert set(items) == {start, a1, a2, other_site, b1, b2}
    pages = {r["url"].rsplit("/", 1)[1]: r for r in rows(monitor, "SELECT * FROM pages")}
    assert set(pages) == {"start.html", "a1.html", "a2.html"}
    assert (pages["start.html"]["depth"], pages["start.html"]["heading"]) == (0, "相关新闻")
    assert (pages["start.html"]["related_found"], pages["start.html"]["related_kept"]) == (4, 3)
    assert pages["a1.html"]["heading"] == "相關新聞"
    assert pages["a1.html"]["canonical_url"].endswith("/news/a1.html")
    assert pages["a1.html"]["item_id"] == items[a1]["id"]
    assert result.items_new == 6


def test_second_run_refetches_nothing_within_revisit_after(site, monitor_for):
    monitor = monitor_for([related_source(site)])
    monitor.run_once(["spider"])
    first = len(requested(site))
    items = rows(monitor, "SELECT count(*) FROM items")[0][0]
    [again] = monitor.run_once(["spider"])
    assert again.status == "ok"
    assert len(requested(site)) == first                     # not even the start page
    assert again.items_seen == 0 and rows(monitor, "SELECT count(*) FROM items")[0][0] == items
    # Once the window has passed, the pages are read again.
    monitor.store.conn.execute("UPDATE pages SET fetched_at = ?", (OLD,))
    monitor.run_once(["spider"])
    assert len(requested(site)) == 2 * first
    assert rows(monitor, "SELECT count(*) FROM links")[0][0] == 6     # the same graph, not a second copy


def test_max_pages_caps_discovered_pages(site, monitor_for, caplog):
    monitor = monitor_for([related_source(site, max_pages=1)])
    [result] = monitor.run_once(["spider"])
    assert result.status == "ok"
    # The configured start page does not count; one discovered page does, breadth first.
    assert requested(site) == ["/news/start.html", "/news/a1.html"]
    assert "max_pages=1 reached" in caplog.text
    # The page left over is fetched by the next run, which reaches it through the stored graph: the start page and
    # a1, fetched recently, are not fetched again.
    monitor.run_once(["spider"])
    assert requested(site)[2:] == ["/news/a2.html"]
    a2_to_b2 = ("乡村振兴开新局 产业帮扶见实效——某省推进脱贫成果巩固", "乡村振兴在行动：合作社带富一方", 2)
    assert a2_to_b2 in links_by_title(monitor)


def test_deeper_crawl_follows_to_max_depth(site, monitor_for):
    monitor = monitor_for([related_source(site, max_depth=3)])
    monitor.run_once(["spider"])
    assert sorted(requested(site)) == ["/news/a1.html", "/news/a2.html", "/news/b1.html", "/news/b2.html",
                                       "/news/start.html"]
    depths = {r[0]: r[1] for r in rows(monitor, "SELECT t.title, links.depth FROM links "
                                                "JOIN items t ON t.id = links.to_item_id")}
    assert depths["精准扶贫第三层：只在 max_depth 3 时抓取上一页"] == 3
    assert rows(monitor, "SELECT count(*) FROM pages WHERE url LIKE '%start.html'")[0][0] == 1   # no loop


def test_allowed_domains_shuts_out_other_hosts(site, monitor_for):
    monitor = monitor_for([related_source(site, allowed_domains=["example.org"])])
    monitor.run_once(["spider"])
    assert requested(site) == ["/news/start.html"]           # configured start pages are always fetched
    assert len(links_by_title(monitor)) == 3


def test_follow_related_on_a_feed(site, monitor_for):
    feed = {"name": "feed", "kind": "rss", "url": site.url_for("/feed.xml"), "every": "1h", "topics": ["poverty"],
            "follow": "related", "max_depth": 1}
    monitor = monitor_for([feed])
    [result] = monitor.run_once(["feed"])
    assert result.status == "ok", result.error
    # The feed's on-topic items are depth 0: their pages are read, their related headlines stored (depth 1).
    assert sorted(requested(site)) == ["/feed.xml", "/news/a1.html", "/news/a2.html"]
    items = {r["title"]: r for r in rows(monitor, "SELECT * FROM items")}
    assert items["某县脱贫攻坚收官：贫困村全部出列"]["publisher"] == "示例晚报"     # filled from the page
    assert ("某县脱贫攻坚收官：贫困村全部出列", "精准扶贫档案：一户人家的五年", 1) in links_by_title(monitor)
    matched = {r[0] for r in rows(monitor, "SELECT matched_by FROM sightings")}
    assert "page" in matched


def test_related_source_without_url_starts_from_stored_items(site, monitor_for):
    feed = {"name": "feed", "kind": "rss", "url": site.url_for("/feed.xml"), "every": "1h", "topics": ["poverty"]}
    spider = {"name": "spider", "kind": "related", "every": "6h", "topics": ["poverty"], "max_depth": 1}
    monitor = monitor_for([feed, spider])
    monitor.run_once(["feed"])
    [result] = monitor.run_once(["spider"])
    assert result.status == "ok", result.error
    assert sorted(requested(site)) == ["/feed.xml", "/news/a1.html", "/news/a2.html"]
    assert len(links_by_title(monitor)) == 3     # a1 -> b1, a1 -> start, a2 -> b2 (a2 -> sports gated out)
    # The next run starts from the stored items whose pages are not fetched yet (b1, b2 and start, stored by
    # this run): the corpus grows run by run, and a1 and a2 are not fetched again.
    monitor.run_once(["spider"])
    assert sorted(requested(site)[3:]) == ["/news/b1.html", "/news/b2.html", "/news/start.html"]


def test_failed_pages_transient_retried_lasting_not(httpserver, monitor_for):
    page = ("<html><head><meta charset='utf-8'></head><body><h1>脱贫攻坚总览</h1><h2>相关新闻</h2><ul>"
            "<li><a href='/busy.html'>脱贫攻坚：服务器忙的一页</a></li>"
            "<li><a href='/gone.html'>脱贫攻坚：已删除的一页</a></li></ul></body></html>")
    httpserver.expect_request("/start.html").respond_with_data(page, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/busy.html").respond_with_data("busy", status=503)
    httpserver.expect_request("/gone.html").respond_with_data("gone", status=404)
    monitor = monitor_for([{"name": "spider", "kind": "related", "url": httpserver.url_for("/start.html"),
                             "every": "6h", "topics": ["poverty"]}])
    [result] = monitor.run_once(["spider"])
    assert result.status == "ok"                              # a discovered page's failure is not the run's
    failed = {r["url"].rsplit("/", 1)[1]: r["error_class"] for r in rows(monitor, "SELECT * FROM pages "
                                                                         "WHERE status = 'error'")}
    assert failed == {"busy.html": "http_503", "gone.html": "http_404"}
    monitor.store.conn.execute("UPDATE pages SET fetched_at = ? WHERE url LIKE '%start.html'", (OLD,))
    monitor.run_once(["spider"])
    paths = requested(httpserver)
    assert paths.count("/busy.html") == 2 and paths.count("/gone.html") == 1


def test_configured_start_page_failure_is_the_runs_error(httpserver, monitor_for):
    httpserver.expect_request("/missing.html").respond_with_data("no", status=404)
    monitor = monitor_for([{"name": "spider", "kind": "related", "url": httpserver.url_for("/missing.html"),
                             "every": "6h"}])
    [result] = monitor.run_once(["spider"])
    assert result.status == "error" and result.error_class == "http_404"
    assert "/missing.html" in result.error


def test_the_graph_in_datasette(site, monitor_for):
    monitor = monitor_for([related_source(site)])
    monitor.run_once(["spider"])
    database = monitor.config.database
    a1 = rows(monitor, "SELECT id FROM items WHERE title = '某县脱贫攻坚收官：贫困村全部出列'")[0]["id"]

    async def fetch(*urls):
        ds = Datasette([str(database)], metadata=datasette_metadata(database.stem),
                       settings={k: int(v) if v.isdigit() else v for k, v in SETTINGS.items()})
        return [await ds.client.get(url) for url in urls]

    name = database.stem
    every, to, from_, pages = asyncio.run(fetch(
        f"/{name}/related_links.json?_shape=array", f"/{name}/related_to.json?item_id={a1}&_shape=array",
        f"/{name}/related_from.json?item_id={a1}&_shape=array", f"/{name}/pages.json?_shape=array"))
    for response in (every, to, from_, pages):
        assert response.status_code == 200, response.text
    assert len(every.json()) == 6
    assert {(r["to_title"], r["depth"], r["found_by"]) for r in to.json()} == {
        ("精准扶贫档案：一户人家的五年", 2, "spider"), ("决战决胜脱贫攻坚要抓好三个重点", 2, "spider")}
    assert [r["from_title"] for r in from_.json()] == ["决战决胜脱贫攻坚要抓好三个重点"]
    assert len(pages.json()) == 3


def test_a_real_page_through_the_pipeline_stays_on_its_site(httpserver, monitor_for, real_fixture):
    path = "/n1/2019/0615/c1013-31153719.html"
    httpserver.expect_request(path).respond_with_data(
        real_fixture("html/people_article_utf8_meta_gb2312_related_news.html"), content_type="text/html")
    monitor = monitor_for([{"name": "people", "kind": "related", "url": httpserver.url_for(path), "every": "6h"}])
    [result] = monitor.run_once(["people"])
    assert result.status == "ok", result.error
    assert (result.items_seen, result.items_new) == (5, 5)
    # Without topics every headline is kept; they live on *.people.com.cn, outside the start page's site here.
    assert requested(httpserver) == [path]
    assert rows(monitor, "SELECT count(*) FROM links WHERE depth = 1")[0][0] == 4
    [page] = rows(monitor, "SELECT * FROM pages")
    assert (page["heading"], page["related_found"], page["related_kept"]) == ("相关新闻", 4, 4)
    article = rows(monitor, "SELECT * FROM items WHERE id = ?", page["item_id"])[0]
    assert (article["title"], article["published_at"]) == ("女儿出嫁，郑板桥画了几笔兰花当嫁妆",
                                                          "2019-06-15T08:18:00+08:00")


def test_items_are_labelled_with_every_topic_the_gate_with_the_sources_own(site, monitor_for):
    """DESIGN.md: every item is labelled with each configured topic it matches, whatever its source; the source's
    own topics are only its relevance gate."""
    topics = {"poverty": {"any": ["脫貧攻堅", "精準扶貧", "鄉村振興"]}, "industry": {"any": ["产业"]},
              "football": {"any": ["足球"]}}
    monitor = monitor_for([related_source(site, max_depth=1)], topics=topics)
    [result] = monitor.run_once(["spider"])
    assert result.status == "ok", result.error
    labels = {r["title"]: r["topics"] for r in rows(monitor, "SELECT title, topics FROM items")}
    assert labels["乡村振兴开新局 产业帮扶见实效——某省推进脱贫成果巩固"] == '["industry", "poverty"]'
    assert labels["某县脱贫攻坚收官：贫困村全部出列"] == '["poverty"]'
    assert "周末足球联赛：主队三比一取胜" not in labels        # matches a topic, but not the source's own: not kept
