"""Identity's hard cases end to end: a local server serves the items (feeds, a list page), the pipeline stores them.

Each test is one case of issue 4: titles cut short, tags that are not the headline, one outlet's rewording (one
item) and another outlet's (one story), the slogan pair from the seed, a title edited after publication, Google News
titles and redirect links, templated headlines, recurring titles of one site. The assertions read the SQLite file
the monitor wrote: rows, stories, sightings' ``matched_by``.
"""

from __future__ import annotations

import base64
import sqlite3
from xml.sax.saxutils import escape

import pytest
from werkzeug import Request, Response

from monitor.seeding import import_seed
from monitor.service import Monitor
from tests.conftest import OWN_FIXTURES

FIXTURES = OWN_FIXTURES / "identity"
LIST_SELECT = {"item": "ul.list li", "title": "a", "link": "a@href", "publisher": "span.src",
               "published": "span.date"}



def serve(httpserver, path: str, body: bytes | str, content_type: str = "application/rss+xml") -> dict:
    """Serve ``body`` at ``path``; returns the source entry for config.yaml (the name is the path's stem)."""
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return {"name": path.strip("/").split(".")[0], "kind": "rss", "url": httpserver.url_for(path), "every": "1h"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rss(*items: tuple[str, str, str, str | None]) -> str:
    """A small RSS 2.0 feed of (title, link, RFC 822 date, publisher) items."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><pubDate>{date}</pubDate>"
        + (f"<source url='http://x.example/'>{escape(publisher)}</source>" if publisher else "") + "</item>"
        for title, link, date, publisher in items
    )
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
            f"{entries}</channel></rss>")


def google_news_link(article_url: str) -> str:
    """A Google News article link of the 2019-2023 form: base64url of a protobuf whose field 4 is the URL."""
    raw = article_url.encode()
    payload = b"\x08\x13\x22" + bytes([len(raw)]) + raw
    return "https://news.google.com/rss/articles/" + base64.urlsafe_b64encode(payload).decode().rstrip("=") + "?oc=5"


def rows(monitor: Monitor, sql: str, *params) -> list[sqlite3.Row]:
    return monitor.store.conn.execute(sql, params).fetchall()


def one(monitor: Monitor, sql: str, *params) -> sqlite3.Row:
    found = rows(monitor, sql, *params)
    assert len(found) == 1, [dict(r) for r in found]
    return found[0]


def seen_by(monitor: Monitor, item_id: int) -> list[tuple[str, str]]:
    return [tuple(r) for r in rows(monitor, "SELECT source, matched_by FROM sightings WHERE item_id = ? ORDER BY id",
                                    item_id)]


@pytest.mark.parametrize("order", [("outlet_list", "outlet_feed"), ("outlet_feed", "outlet_list")])
def test_titles_cut_short_and_tags_dropped_on_a_list_page_are_the_feed_items(httpserver, monitor_for, order):
    feed = serve(httpserver, "/outlet_feed.xml", fixture("outlet_feed.xml"))
    page = serve(httpserver, "/outlet_list.html", fixture("outlet_list_cut.html"), "text/html; charset=utf-8")
    page.update(kind="html", select=LIST_SELECT)
    monitor = monitor_for([feed, page])
    for name in order:
        (result,) = monitor.run_once([name])
        assert result.status == "ok", result.error

    # Trailing "...": one row, which keeps (or gains) the full title; both URLs are on its sightings.
    gansu = one(monitor, "SELECT * FROM items WHERE title LIKE '甘肃省残联%'")
    assert gansu["title"] == "甘肃省残联凝心聚力“背水一战” 贫困残疾人脱贫攻坚工作决战决胜态势明显"
    assert gansu["title_cut"] == ""
    urls = {r[0] for r in rows(monitor, "SELECT url FROM sightings WHERE item_id = ?", gansu["id"])}
    assert urls == {"http://www.example-daily.cn/n1/2020/1215/c1001-1.html",
                    httpserver.url_for("/wap/2020/1215/1.html")}
    assert seen_by(monitor, gansu["id"])[1] == (order[1], "truncated")
    # Leading "...": the fragment is part of the full title (a tag at its start).
    pingliang = one(monitor, "SELECT * FROM items WHERE title LIKE '%平凉专场举行'")
    assert pingliang["title"].startswith("【走向我们的小康生活") and pingliang["title_cut"] == ""
    assert seen_by(monitor, pingliang["id"])[1] == (order[1], "truncated")
    # A tag that is not the headline: the list shows the title without it; same folded core, same outlet.
    yaxia = one(monitor, "SELECT * FROM items WHERE title LIKE '%衙下集镇%'")
    assert seen_by(monitor, yaxia["id"])[1] == (order[1], "title")
    assert yaxia["core_key"] == "衙下集镇做大做强生猪产业决战决胜脱贫攻坚"
    # 4 list entries + 6 feed items, 3 of them the same: 7 rows, each in its own story.
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == 7
    assert rows(monitor, "SELECT count(DISTINCT story_id) FROM items")[0][0] == 7
    assert not rows(monitor, "SELECT 1 FROM story_keys JOIN items ON items.id = item_id WHERE title_cut != ''"
                    " AND items.title NOT LIKE '湖北%'")


def test_another_outlets_rewording_and_tags_join_the_story_but_slogans_do_not(httpserver, monitor_for):
    feed = serve(httpserver, "/outlet_feed.xml", fixture("outlet_feed.xml"))
    other = serve(httpserver, "/other_feed.xml", fixture("other_outlet_feed.xml"))
    page = serve(httpserver, "/outlet_list.html", fixture("outlet_list_cut.html"), "text/html; charset=utf-8")
    page.update(kind="html", select=LIST_SELECT)
    monitor = monitor_for([feed, other, page])
    for name in ("outlet_feed", "outlet_list", "other_feed"):
        monitor.run_once([name])

    def item(pattern: str, publisher: str) -> sqlite3.Row:
        return one(monitor, "SELECT * FROM items WHERE title LIKE ? AND publisher = ?", pattern, publisher)

    # One outlet's rewording of another's headline: two items (two publishers), one story, decided as near.
    first, reworded = item("印媒称%", "示例日报"), item("印媒：%", "另一家新闻网")
    assert first["id"] != reworded["id"] and first["story_id"] == reworded["story_id"]
    assert reworded["story_matched_by"] == "near"
    story = one(monitor, "SELECT * FROM stories WHERE id = ?", first["story_id"])
    assert (story["title"], story["items"], story["publishers"]) == (first["title"], 2, 2)
    assert story["first_published_at"] == "2020-12-16T09:00:00+08:00"
    assert story["last_published_at"] == "2020-12-16T11:30:00+08:00"

    # "视频：" and 【决战决胜脱贫攻坚】 are labels, not headlines: another outlet's item in the same story.
    tagged, video = item("【决战决胜脱贫攻坚】衙下%", "示例日报"), item("视频：衙下%", "另一家新闻网")
    assert tagged["story_id"] == video["story_id"] and video["story_matched_by"] == "title"

    # When what follows a tag is itself only a slogan, the tag stays part of the headline: two stories.
    assert item("【百日攻坚划重点】%", "示例日报")["story_id"] != item("决战决胜脱贫攻坚", "另一家新闻网")["story_id"]
    # 决胜全面小康 决战脱贫攻坚 and 人民日报评论部：决胜全面小康 决战脱贫攻坚 are two articles (decided; README).
    slogan, signed = item("决胜全面小康 决战脱贫攻坚", "示例日报"), item("人民日报评论部%", "另一家新闻网")
    assert slogan["story_id"] != signed["story_id"]
    # A list entry cut inside a number is not the full title of another count.
    assert item("湖北新增确诊3...", "示例日报")["story_id"] != item("湖北新增确诊35例%", "另一家新闻网")["story_id"]


def test_the_seed_slogan_pair_stays_two_items_and_two_stories(httpserver, monitor_for, seed_document):
    other = serve(httpserver, "/other_feed.xml", fixture("other_outlet_feed.xml"))
    feed = serve(httpserver, "/outlet_feed.xml", fixture("outlet_feed.xml"))
    monitor = monitor_for([other, feed])
    import_seed(monitor.store, seed_document, monitor.zone)
    plain = one(monitor, "SELECT * FROM items WHERE title = '決勝全面小康 決戰脫貧攻堅'")
    signed = one(monitor, "SELECT * FROM items WHERE title = '人民日報評論部:決勝全面小康 決戰脫貧攻堅'")
    assert plain["story_id"] != signed["story_id"]
    monitor.run_once(["other_feed"])
    monitor.run_once(["outlet_feed"])
    # Each scraped copy completes its own seed row (rule 3), never the other one.
    assert seen_by(monitor, signed["id"]) == [("seed", "new"), ("other_feed", "seed")]
    assert seen_by(monitor, plain["id"]) == [("seed", "new"), ("outlet_feed", "seed")]
    assert one(monitor, "SELECT url FROM items WHERE id = ?", signed["id"])[0].startswith("http://news.another-outlet")


def test_a_title_edited_after_publication_keeps_its_row_and_its_history(httpserver, monitor_for):
    link = "http://www.example-daily.cn/n1/2020/1223/c1001-9.html"
    versions = ["全国832个贫困县全部脱贫摘帽", "国务院扶贫办宣布：全国832个贫困县全部脱贫摘帽",
                "全国832个贫困县全部脱贫摘帽"]
    served: list[int] = []

    def feed_handler(request: Request) -> Response:
        title = versions[min(len(served), len(versions) - 1)]
        served.append(1)
        return Response(rss((title, link, "Wed, 23 Dec 2020 10:00:00 +0800", "示例日报")),
                        content_type="application/rss+xml")

    httpserver.expect_request("/edits.xml").respond_with_handler(feed_handler)
    mirror = serve(httpserver, "/mirror.xml",
                   rss(("全国贫困县全部摘帽（转载）", link, "Wed, 23 Dec 2020 12:00:00 +0800", "示例日报")))
    monitor = monitor_for([{"name": "edits", "kind": "rss", "url": httpserver.url_for("/edits.xml"), "every": "1h"},
                           mirror])
    monitor.run_once(["edits"])
    monitor.run_once(["edits"])          # the outlet edited its title: same URL, a new title
    row = one(monitor, "SELECT * FROM items")
    assert row["title"] == versions[1] and row["title_key"] == "国务院扶贫办宣布全国832个贫困县全部脱贫摘帽"
    history = one(monitor, "SELECT * FROM title_history")
    assert (history["item_id"], history["title"], history["new_title"], history["source"]) == \
        (row["id"], versions[0], versions[1], "edits")
    # the search index follows the new title
    assert rows(monitor, "SELECT rowid FROM items_fts WHERE items_fts MATCH '\"扶 贫 办 宣 布\"'")[0][0] == row["id"]

    monitor.run_once(["edits"])          # a stale copy shows the old title again: no flip back
    monitor.run_once(["mirror"])         # another source's own wording for the same URL: not an edit
    row = one(monitor, "SELECT * FROM items")
    assert row["title"] == versions[1]
    assert rows(monitor, "SELECT count(*) FROM title_history")[0][0] == 1
    assert [s[1] for s in seen_by(monitor, row["id"])] == ["new", "url", "url", "url"]
    assert one(monitor, "SELECT items FROM stories")[0] == 1


def test_google_news_titles_and_redirect_links_meet_the_publishers_own_items(httpserver, monitor_for, real_fixture):
    google = serve(httpserver, "/google.xml", real_fixture("feeds/google_news_top_stories_rss_2019.xml"))
    publishers = serve(httpserver, "/publishers.xml", fixture("publisher_feeds_2019.xml"))
    monitor = monitor_for([google, publishers])
    monitor.run_once(["google"])
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == 38
    # identity is keyed on the article URL each redirect link carries, never on news.google.com
    assert not rows(monitor, "SELECT 1 FROM items WHERE url_key LIKE 'http://news.google.com/%'")
    assert all(r[0].startswith("https://news.google.com/") for r in rows(monitor, "SELECT url FROM items"))

    monitor.run_once(["publishers"])
    assert rows(monitor, "SELECT count(*) FROM items")[0][0] == 38       # the publishers' items are the same rows
    wapo = one(monitor, "SELECT * FROM items WHERE publisher = 'The Washington Post' AND title LIKE 'Live updates%'")
    assert wapo["title"] == "Live updates: Trump asserts ‘normal people’ would close the case on his impeachment"
    assert seen_by(monitor, wapo["id"]) == [("google", "new"), ("publishers", "url")]
    # NPR's own feed words it differently; the URL decides, and its wording is kept on the sighting.
    npr = one(monitor, "SELECT * FROM items WHERE publisher = 'NPR' AND title LIKE 'Deval%'")
    assert npr["title"] == "Deval Patrick Announces He Is Running For President In 2020"
    assert rows(monitor, "SELECT title FROM sightings WHERE item_id = ? AND source = 'publishers'", npr["id"])[0][0] \
        == "Deval Patrick Makes A Late Entry Into The 2020 Presidential Race"
    assert not rows(monitor, "SELECT 1 FROM title_history")


def test_chinese_google_news_items_join_the_outlets_own_items_and_share_a_story(httpserver, monitor_for):
    people = "http://politics.people.com.cn/n1/2021/0225/c1001-32036479.html"
    xinhua = "http://www.xinhuanet.com/politics/2021-02/25/c_1127137845.htm"
    google = serve(httpserver, "/gnews.xml", rss(
        ("习近平：我国脱贫攻坚战取得了全面胜利 - 人民网", google_news_link(people), "Thu, 25 Feb 2021 03:10:00 GMT",
         "人民网"),
        ("习近平：我国脱贫攻坚战取得了全面胜利 - 新华网", google_news_link(xinhua), "Thu, 25 Feb 2021 03:30:00 GMT",
         "新华网"),
    ))
    own = serve(httpserver, "/people.xml", rss(
        ("习近平：我国脱贫攻坚战取得了全面胜利--时政--人民网", people + "?from=rss", "Thu, 25 Feb 2021 11:10:00 +0800",
         None),
    ))
    monitor = monitor_for([google, own])
    monitor.run_once(["gnews"])
    monitor.run_once(["people"])
    items = rows(monitor, "SELECT * FROM items ORDER BY id")
    assert [(r["title"], r["publisher"]) for r in items] == [
        ("习近平：我国脱贫攻坚战取得了全面胜利", "人民网"), ("习近平：我国脱贫攻坚战取得了全面胜利", "新华网")]
    assert items[0]["url_key"] == people
    assert seen_by(monitor, items[0]["id"]) == [("gnews", "new"), ("people", "url")]
    assert items[0]["story_id"] == items[1]["story_id"]
    assert tuple(one(monitor, "SELECT items, publishers FROM stories")) == (2, 2)


def test_templated_headlines_are_different_items_and_different_stories(httpserver, monitor_for):
    templated = serve(httpserver, "/templated.xml", fixture("templated_feed.xml"))
    other = serve(httpserver, "/nanyang.xml", rss(
        ("南召县召开决战决胜脱贫攻坚誓师大会", "http://www.nyrb.example.cn/2020/0402/1.html",
         "Thu, 02 Apr 2020 14:00:00 +0800", "南阳日报"),
    ))
    monitor = monitor_for([templated, other])
    monitor.run_once(["templated"])
    assert rows(monitor, "SELECT count(*), count(DISTINCT story_id) FROM items")[0][:] == (11, 11)
    monitor.run_once(["nanyang"])
    nanzhao = rows(monitor, "SELECT story_id, story_matched_by FROM items WHERE core_key = "
                   "'南召县召开决战决胜脱贫攻坚誓师大会' ORDER BY id")
    assert len(nanzhao) == 2 and nanzhao[0][0] == nanzhao[1][0] and nanzhao[1][1] == "title"
    stories = {r["title"]: r["items"] for r in rows(monitor, "SELECT title, items FROM stories")}
    assert stories["南召縣召開決戰決勝脫貧攻堅誓師大會"] == 2
    assert sum(stories.values()) == 12 and len(stories) == 11


def test_recurring_titles_of_the_real_nyt_sitemap_are_an_item_per_day(httpserver, monitor_for, real_fixture):
    """The NYT news sitemap (fixtures/real/sitemaps) holds five titles twice: three columns of two days
    ("Corrections", "Lottery Numbers", "100, 75, 50 Years Ago"), each issue its own page, and two articles filed on
    two pages of the site on one day (a sports brief in two sections; DealBook's blog and the paper's business
    page). A site's two pages of two days are two items and two stories; of one day, one item as before."""
    httpserver.expect_request("/sitemap_news.xml").respond_with_data(real_fixture(
        "sitemaps/nytimes_news_sitemap_2011.xml"), content_type="text/xml")
    monitor = monitor_for([{"name": "nyt", "kind": "sitemap", "url": httpserver.url_for("/sitemap_news.xml"),
                            "every": "1h"}])
    (result,) = monitor.run_once()
    assert (result.status, result.items_seen, result.items_new) == ("ok", 343, 341)
    for title in ("Corrections", "Lottery Numbers", "100, 75, 50 Years Ago"):
        issues = rows(monitor, "SELECT * FROM items WHERE title = ? ORDER BY url", title)
        assert len(issues) == 2 and issues[0]["url"] != issues[1]["url"], title
        assert issues[0]["story_id"] != issues[1]["story_id"], title
        assert [seen_by(monitor, issue["id"]) for issue in issues] == [[("nyt", "new")], [("nyt", "new")]]
    for pattern in ("McIlroy Rebounds to Lead a Rainy Malaysian Open", "Seeking Clues in Goldman%Succession Plan"):
        article = one(monitor, "SELECT * FROM items WHERE title LIKE ?", pattern)
        assert seen_by(monitor, article["id"]) == [("nyt", "new"), ("nyt", "title")]
        assert len(rows(monitor, "SELECT DISTINCT url FROM sightings WHERE item_id = ?", article["id"])) == 2


ONE_OUTLET_LINK = "http://www.163.example/news/a.html"
HOME_TITLE = "豪华别墅每天大量“女模”进出 警方调查发现大秘密"          # the home page's teaser, no link
NEWS_TITLE = "豪华别墅每天大量年轻女子进出 警方调查发现大秘密"        # the news channel's headline


def one_outlet_rss(title: str, link: str | None) -> bytes:
    link_xml = f"<link>{escape(link)}</link>" if link else ""
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title><item>"
            f"<title>{escape(title)}</title>{link_xml}<pubDate>Wed, 16 Dec 2020 09:00:00 +0800</pubDate>"
            "<source url='http://www.163.example/'>网易新闻</source></item></channel></rss>").encode()


@pytest.mark.parametrize("order", [("home", "news"), ("news", "home")])
def test_one_outlets_reworded_headline_is_one_item(httpserver, monitor_for, order):
    """Rule 5: one outlet's two feeds word a headline slightly differently, one without a link: one item (``near``),
    whichever runs first (another outlet's rewording is another item of the same story: tests above)."""
    monitor = monitor_for([serve(httpserver, "/home.xml", one_outlet_rss(HOME_TITLE, None)),
                           serve(httpserver, "/news.xml", one_outlet_rss(NEWS_TITLE, ONE_OUTLET_LINK))])
    for name in order:
        (result,) = monitor.run_once([name])
        assert result.status == "ok", result.error
    item = one(monitor, "SELECT * FROM items")
    assert item["url"] == ONE_OUTLET_LINK and item["publisher"] == "网易新闻"
    sightings = rows(monitor, "SELECT source, matched_by, title FROM sightings ORDER BY id")
    assert [tuple(s) for s in sightings] == [
        (order[0], "new", HOME_TITLE if order[0] == "home" else NEWS_TITLE),
        (order[1], "near", HOME_TITLE if order[1] == "home" else NEWS_TITLE),
    ]
    runs = rows(monitor, "SELECT source, items_seen, items_new FROM runs ORDER BY id")
    assert [tuple(r) for r in runs] == [(order[0], 1, 1), (order[1], 1, 0)]
