"""Identity rule 5 end to end: one outlet's two feeds word a headline slightly differently, one of them without a
link; the pipeline stores one item (``near``), whichever feed runs first. (Another outlet's rewording is another
item in the same story: tests/test_identity_pipeline.py.)"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from monitor.config import load_config
from monitor.service import Monitor
from tests.helpers import write_config

LINK = "http://www.163.example/news/a.html"
HOME_TITLE = "豪华别墅每天大量“女模”进出 警方调查发现大秘密"          # the home page's teaser, no link
NEWS_TITLE = "豪华别墅每天大量年轻女子进出 警方调查发现大秘密"        # the news channel's headline


def rss(title: str, link: str | None, publisher: str = "网易新闻") -> bytes:
    link_xml = f"<link>{escape(link)}</link>" if link else ""
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title><item>"
            f"<title>{escape(title)}</title>{link_xml}<pubDate>Wed, 16 Dec 2020 09:00:00 +0800</pubDate>"
            f"<source url='http://www.163.example/'>{escape(publisher)}</source></item></channel></rss>").encode()


@pytest.fixture
def monitor(httpserver, tmp_path):
    httpserver.expect_request("/home.xml").respond_with_data(rss(HOME_TITLE, None), content_type="application/rss+xml")
    httpserver.expect_request("/news.xml").respond_with_data(rss(NEWS_TITLE, LINK), content_type="application/rss+xml")
    sources = [{"name": name, "kind": "rss", "url": httpserver.url_for(f"/{name}.xml"), "every": "1h"}
               for name in ("home", "news")]
    opened = Monitor.open(load_config(write_config(tmp_path, sources)))
    yield opened
    opened.close()


@pytest.mark.parametrize("order", [("home", "news"), ("news", "home")])
def test_one_outlets_reworded_headline_is_one_item(monitor, order):
    for name in order:
        (result,) = monitor.run_once([name])
        assert result.status == "ok", result.error
    conn = monitor.store.conn
    (item,) = conn.execute("SELECT * FROM items").fetchall()
    assert item["url"] == LINK and item["publisher"] == "网易新闻"
    sightings = conn.execute("SELECT source, matched_by, title FROM sightings ORDER BY id").fetchall()
    assert [tuple(s) for s in sightings] == [
        (order[0], "new", HOME_TITLE if order[0] == "home" else NEWS_TITLE),
        (order[1], "near", HOME_TITLE if order[1] == "home" else NEWS_TITLE),
    ]
    runs = conn.execute("SELECT source, items_seen, items_new FROM runs ORDER BY id").fetchall()
    assert [tuple(r) for r in runs] == [(order[0], 1, 1), (order[1], 1, 0)]

