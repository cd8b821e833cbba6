"""Issue 11, the real web's small breakages, end to end: a local server serves the bytes, the real fetcher, kinds and
store read them, and the rows in SQLite are checked.

1. a UTF-8 document with a few bad bytes is read as UTF-8 (the bytes replaced, counted in runs.replaced_bytes);
   UTF-8 read as a Cyrillic or Mac codepage is garbled;
2. UTF-32/UTF-16 without a byte-order mark (XML 1.0 appendix F) is read, never refused as binary data;
3. a 304 answer to an unconditional request is an error (bad_304), not "not modified";
4. a bare ampersand (AT&T) is stored as the feed wrote it;
5. titles of punctuation only are counted in the run's note;
6. runs keep milliseconds, and elapsed_ms sorts the slow sources;
7. a related block with one headline counts (under a related heading), advertisements do not.
"""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest
from werkzeug import Response

from monitor.core.encoding import decode_body, garbled_reason
from monitor.core.page import read_page
from monitor.fetch import Fetcher
from monitor.fetch.settings import HttpSettings
from monitor.service import Monitor
from scrapers import get_kind
from tests.conftest import OWN_FIXTURES
from tests.fetch_server import answer
from tests.helpers import fetch_page, old_database

FIXTURES = OWN_FIXTURES / "real_web"


def source(httpserver, name: str, path: str, kind: str = "rss", **options) -> dict:
    return {"name": name, "kind": kind, "url": httpserver.url_for(path), "every": "1h", **options}


def run_row(monitor: Monitor, run_id: int) -> sqlite3.Row:
    return monitor.store.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()


def titles(monitor: Monitor) -> list[str]:
    return [row[0] for row in monitor.store.conn.execute("SELECT title FROM items ORDER BY id")]


def serve_feed(httpserver, path: str, body: bytes, content_type: str = "application/rss+xml") -> None:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)


# --- 1. a few bad bytes ---------------------------------------------------------------------------------------

def test_chinese_utf8_feed_with_stray_bytes_stores_every_headline(httpserver, monitor_for):
    """A stray 0xA9 and a character cut in half used to fail the whole run with `encoding`, every headline lost."""
    serve_feed(httpserver, "/rss.xml", (FIXTURES / "chinese_utf8_stray_bytes.xml").read_bytes())
    monitor = monitor_for([source(httpserver, "cn", "/rss.xml")])
    (result,) = monitor.run_once()
    assert (result.status, result.items_new) == ("ok", 4), result.error
    assert titles(monitor) == ["决战决胜脱贫攻坚要抓好三个重点", "乡村振兴看福建：茶园里的新产业",
                               "精准扶贫：一条路改变一个村", "易地扶贫搬迁后的新生活"]
    summaries = [r[0] for r in monitor.store.conn.execute("SELECT summary FROM items ORDER BY id")]
    assert summaries[1].startswith("乡村振兴看福建：茶园里的新产业。\ufffd 2020 记者")
    assert "有关部\ufffd获悉" in summaries[2]
    row = run_row(monitor, result.run_id)
    assert (row["encoding"], row["replaced_bytes"], row["error_class"]) == ("utf-8", 3, None)
    note = "3 bytes could not be decoded as utf-8 and were replaced by U+FFFD; the rest was read"
    assert result.note == note and row["error"] == note


def test_english_utf8_feed_with_a_windows_quote_byte_is_utf8_not_mac_iceland(httpserver, monitor_for):
    serve_feed(httpserver, "/feed", (FIXTURES / "english_utf8_windows_quote.xml").read_bytes())
    monitor = monitor_for([source(httpserver, "en", "/feed")])
    (result,) = monitor.run_once()
    assert result.status == "ok", result.error
    assert titles(monitor) == ["Farmers’ incomes rise in “model” villages",
                               "New road links “remote” county to the city",
                               "Tea growers’ co-operative opens a factory"]
    row = run_row(monitor, result.run_id)
    assert (row["encoding"], row["replaced_bytes"]) == ("utf-8", 1)


def test_a_clean_run_records_no_replaced_bytes(httpserver, monitor_for):
    feed = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>' \
           "<item><title>乡村振兴看福建</title><link>http://news.example.cn/1.html</link></item></channel></rss>"
    serve_feed(httpserver, "/rss.xml", feed.encode())
    monitor = monitor_for([source(httpserver, "cn", "/rss.xml")])
    (result,) = monitor.run_once()
    row = run_row(monitor, result.run_id)
    assert (row["replaced_bytes"], row["error"], result.note) == (0, None, None)


def test_another_codec_wins_only_with_fewer_errors():
    # The only non-ASCII byte is a Windows quote: windows-1252 reads it with no error, UTF-8 with one.
    only_quote = decode_body(b"<p>The county\x92s officials</p>")
    assert (only_quote.text, only_quote.replaced_bytes) == ("<p>The county’s officials</p>", 0)
    assert only_quote.codec != "utf-8"     # windows-1252 or a sibling that reads 0x92 alike (detection's pick)
    # Curly quotes in UTF-8 and one 0x92: mac-iceland and cp1125 decode it without raising, but misread 2 characters.
    body = "<p>“model” villages</p>".encode() + b"<p>county\x92s</p>"
    assert decode_body(body) == ("<p>“model” villages</p><p>county\ufffds</p>", "utf-8", 1)
    # A GBK page is no UTF-8 document with a few bad bytes: its declaration still decides.
    gbk = '<meta charset="gbk"><p>决战决胜脱贫攻坚要抓好三个重点</p>'.encode("gbk")
    assert decode_body(gbk)[1:] == ("gb18030", 0)


@pytest.mark.parametrize("codec", ["cp1251", "cp866", "cp1125", "koi8-r", "mac-cyrillic", "mac-roman",
                                   "mac-iceland"])
def test_utf8_read_as_a_cyrillic_or_mac_codepage_is_garbled(codec):
    english = ["Farmers’ incomes rise in “model” villages", "Tea growers’ co-operative opens a factory"]
    reason = garbled_reason([t.encode().decode(codec) for t in english])
    assert reason is not None and "Cyrillic or Mac codepage" in reason
    chinese = ["决战决胜脱贫攻坚要抓好三个重点", "乡村振兴看福建"]
    assert garbled_reason([t.encode().decode(codec, errors="replace") for t in chinese]) is not None
    assert garbled_reason(["тАЩтАЭй is what bozo_linenoise became", "тАЩ again"]) is not None


@pytest.mark.parametrize("text", [
    pytest.param("Новости Оренбурга: чем ударили по бюджету, шаг за шагом; чай и сам город", id="russian"),
    pytest.param("Рік тому Він сказав: Гід показав Ліс і Дім; історії економії Росії", id="ukrainian"),
    pytest.param("ΕΛΛΑΔΑ: Η κυβέρνηση ανακοίνωσε νέα μέτρα για την ύπαιθρο", id="greek"),
    pytest.param("Jornal de Notícias – “Ética” e ação: Últimas Notícias de São João", id="portuguese"),
    pytest.param("决战决胜脱贫攻坚要抓好三个重点 決戰決勝脫貧攻堅", id="chinese"),
])
def test_real_text_in_those_scripts_is_not_garbled(text):
    assert garbled_reason(text) is None


@pytest.mark.parametrize("name, codec, title", [
    ("feeds/oren_ru_news_rss_windows1251.xml", "cp1251", "Новости Оренбурга и области / Раздел Новости"),
    ("feeds/jn_pt_news_rss_iso8859_1.xml", "cp1252", "Jornal de Notícias - Últimas Notícias"),
])
def test_real_legacy_feeds_still_read_through_the_store(httpserver, monitor_for, real_fixture, name, codec, title):
    serve_feed(httpserver, "/feed.xml", real_fixture(name), content_type="application/rss+xml")
    monitor = monitor_for([source(httpserver, "legacy", "/feed.xml")])
    (result,) = monitor.run_once()
    assert result.status == "ok" and result.items_new > 0, result.error
    row = run_row(monitor, result.run_id)
    assert (row["encoding"], row["replaced_bytes"]) == (codec, 0)
    feed_titles = {r[0] for r in monitor.store.conn.execute("SELECT json_extract(extra, '$.feed_title') FROM items")}
    assert feed_titles == {title}


# --- 2. UTF-32 / UTF-16 without a byte-order mark --------------------------------------------------------------

WIDE_FEED = ('<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>宽字符</title>'
             "<item><title>乡村振兴看福建</title><link>http://news.example.cn/1.html</link></item>"
             "</channel></rss>")


@pytest.mark.parametrize("codec, label, first_bytes", [
    ("utf-32-le", "UTF-32", "3c 00 00 00 3f 00"),
    ("utf-32-be", "UTF-32", "00 00 00 3c 00 00"),
    ("utf-16-le", "UTF-16", "3c 00 3f 00 78 00"),
    ("utf-16-be", "UTF-16", "00 3c 00 3f 00 78"),
])
def test_utf32_and_utf16_without_a_bom_are_read_not_called_binary(httpserver, monitor_for, codec, label,
                                                                  first_bytes):
    body = WIDE_FEED.format(label=label).encode(codec)
    assert body[:6].hex(" ") == first_bytes
    serve_feed(httpserver, "/wide.xml", body, content_type="application/xml")
    assert fetch_page(httpserver.url_for("/wide.xml")).codec == codec
    monitor = monitor_for([source(httpserver, "wide", "/wide.xml")])
    (result,) = monitor.run_once()
    assert result.status == "ok", result.error
    assert titles(monitor) == ["乡村振兴看福建"]
    assert run_row(monitor, result.run_id)["encoding"] == codec


def test_a_utf16_html_page_without_a_bom_is_read(httpserver):
    page = ("<html><head><title>新闻</title></head><body><ul><li><a href='/1.html'>乡村振兴看福建</a></li></ul>"
            "</body></html>")
    httpserver.expect_request("/list.html").respond_with_data(page.encode("utf-16-le"), content_type="text/html")
    fetched = fetch_page(httpserver.url_for("/list.html"))
    assert (fetched.codec, fetched.text) == ("utf-16-le", page)


# --- 3. 304 to an unconditional request ------------------------------------------------------------------------

def test_304_to_an_unconditional_request_is_an_error_run_every_time(httpserver, monitor_for):
    httpserver.expect_request("/feed.xml").respond_with_response(Response(status=304))
    monitor = monitor_for([source(httpserver, "stuck", "/feed.xml")])
    for _ in range(2):
        (result,) = monitor.run_once()
        assert (result.status, result.error_class, result.http_status) == ("error", "bad_304", 304)
        assert "304 Not Modified to an unconditional request" in result.error
        assert "If-None-Match" not in httpserver.log[-1][0].headers
    health = monitor.store.conn.execute("SELECT consecutive_failures, last_error_class FROM sources").fetchone()
    assert tuple(health) == (2, "bad_304")


def test_304_to_a_conditional_request_is_still_not_modified(httpserver, monitor_for):
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>乡村振兴看福建</title>' \
           "<link>http://news.example.cn/1.html</link></item></channel></rss>"
    answers = iter([Response(feed, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"}),
                    Response(status=304)])
    httpserver.expect_request("/feed.xml").respond_with_handler(lambda request: next(answers))
    monitor = monitor_for([source(httpserver, "feed", "/feed.xml")])
    assert monitor.run_once()[0].status == "ok"
    (second,) = monitor.run_once()
    assert second.status == "not_modified"
    assert httpserver.log[-1][0].headers["If-None-Match"] == '"v1"'


# --- 4. a bare ampersand -----------------------------------------------------------------------------------------

def test_bare_ampersands_are_stored_as_the_feed_wrote_them(httpserver, monitor_for):
    entries = ["AT&T buys Time Warner", "Q&A: farmers &amp; growers", "中文 &#x4e2d; and&nbsp;space",
               "R&D spending rises"]
    items = "".join(f"<item><title>{t}</title><link>http://news.example.com/{i}?a=1&amp;b=2</link></item>"
                    for i, t in enumerate(entries))
    feed = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T&C</title>{items}' \
           "</channel></rss>"
    serve_feed(httpserver, "/feed.xml", feed.encode())
    monitor = monitor_for([source(httpserver, "amp", "/feed.xml")])
    (result,) = monitor.run_once()
    assert result.status == "ok", result.error
    assert titles(monitor) == ["AT&T buys Time Warner", "Q&A: farmers & growers", "中文 中 and space",
                               "R&D spending rises"]


# --- 5. titles of punctuation only --------------------------------------------------------------------------------

def test_titles_of_punctuation_only_are_counted_in_the_note(httpserver, monitor_for, caplog):
    items = "".join(f"<item><title>{t}</title><link>http://news.example.cn/{i}.html</link></item>"
                    for i, t in enumerate(["&amp;", "…", "乡村振兴看福建"]))
    feed = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    serve_feed(httpserver, "/feed.xml", feed.encode())
    monitor = monitor_for([source(httpserver, "punct", "/feed.xml")])
    with caplog.at_level(logging.WARNING):
        (result,) = monitor.run_once()
    assert (result.status, result.items_seen) == ("ok", 1)
    assert titles(monitor) == ["乡村振兴看福建"]
    note = "2 items had no usable title (empty or only punctuation, such as '&') and were not stored"
    assert result.note == note and run_row(monitor, result.run_id)["error"] == note
    assert f"punct: {note}" in caplog.text


# --- 6. runs to the millisecond --------------------------------------------------------------------------------

MS_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")


def test_runs_keep_milliseconds_and_elapsed_ms_finds_the_slow_source(server, monitor_for):
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>x1 headline</title>' \
           b"<link>http://news.example.cn/1.html</link></item></channel></rss>"
    # A threaded server and two requests at once to its host: the fast source never waits behind the slow one.
    server.routes["/slow.xml"] = answer(body=feed, headers={"Content-Type": "application/rss+xml"}, delay=1.0)
    server.routes["/fast.xml"] = answer(body=feed, headers={"Content-Type": "application/rss+xml"})
    both = {"every": "1h", "kind": "rss", "http": {"per_host_concurrency": 2}}
    monitor = monitor_for([{"name": "fast", "url": server.url("/fast.xml"), **both},
                           {"name": "slow", "url": server.url("/slow.xml"), **both}])
    monitor.run_once()
    rows = monitor.store.conn.execute("SELECT * FROM runs ORDER BY elapsed_ms DESC").fetchall()
    assert [row["source"] for row in rows] == ["slow", "fast"]
    slow_row = rows[0]
    assert MS_STAMP.match(slow_row["started_at"]) and MS_STAMP.match(slow_row["finished_at"])
    assert isinstance(slow_row["elapsed_ms"], int) and slow_row["elapsed_ms"] >= 1000
    assert slow_row["elapsed_s"] == pytest.approx(slow_row["elapsed_ms"] / 1000, abs=0.001)
    # The sources' own times stay to the second.
    assert re.fullmatch(r"\S+T\d\d:\d\d:\d\d\+08:00", monitor.store.conn.execute(
        "SELECT last_run_at FROM sources WHERE name = 'slow'").fetchone()[0])


def test_older_runs_get_elapsed_ms_from_elapsed_s(tmp_path, monitor_for):
    db = old_database(tmp_path / "news.db", 6)
    db["runs"].insert({"source": "old", "started_at": "2020-12-11T18:56:00+08:00",
                       "finished_at": "2020-12-11T18:56:02+08:00", "status": "ok", "elapsed_s": 2.0})
    db.conn.close()
    monitor = monitor_for([{"name": "x", "kind": "rss", "url": "http://127.0.0.1:9/x", "every": "1h"}])
    row = monitor.store.conn.execute("SELECT elapsed_ms, replaced_bytes FROM runs WHERE source = 'old'").fetchone()
    assert tuple(row) == (2000, None)


# --- 7. a related block of one headline --------------------------------------------------------------------------

def article(heading: str, block: str) -> bytes:
    return (f"<html><head><title>决战决胜脱贫攻坚要抓好三个重点</title></head><body>"
            f"<h1>决战决胜脱贫攻坚要抓好三个重点</h1><div class='text'><p>正文内容，关于脱贫攻坚。</p></div>"
            f"<div class='box'><h3>{heading}</h3>{block}</div></body></html>").encode()


ONE_HEADLINE = "<ul><li><a href='/2020/1210/c1001-31961234.html'>乡村振兴看福建：茶园里的新产业</a></li></ul>"


def crawl_related(httpserver, monitor_for, body: bytes) -> tuple[list[str], int]:
    httpserver.expect_request("/2020/1215/c1001-31967000.html").respond_with_data(body, content_type="text/html")
    monitor = monitor_for([source(httpserver, "spider", "/2020/1215/c1001-31967000.html", kind="related",
                                  max_depth=1)])
    (result,) = monitor.run_once()
    assert result.status == "ok", result.error
    links = monitor.store.conn.execute("SELECT count(*) FROM links").fetchone()[0]
    return [t for t in titles(monitor) if t != "决战决胜脱贫攻坚要抓好三个重点"], links


@pytest.mark.parametrize("heading", ["相关新闻", "相關焦點", "相关推荐"])
def test_one_headline_under_a_related_heading_is_a_block(httpserver, monitor_for, heading):
    related, links = crawl_related(httpserver, monitor_for, article(heading, ONE_HEADLINE))
    assert (related, links) == (["乡村振兴看福建：茶园里的新产业"], 1)


@pytest.mark.parametrize("heading, block", [
    pytest.param("推荐新闻", ONE_HEADLINE, id="recommended-heading"),
    pytest.param("推荐阅读", ONE_HEADLINE, id="recommended-reading"),
    pytest.param("相关新闻", "<div><a href='/2020/1210/c1001-31961234.html'>"
                 "<img src='/ad.jpg' alt='乡村振兴看福建：茶园'></a></div>", id="image-only"),
    pytest.param("相关新闻", "<div><a href='https://googleads.g.doubleclick.net/aclk?sa=l&ai=x'>乡村振兴贷款，低息快批</a>"
                 "</div>", id="ad-host"),
    pytest.param("相关新闻", "<div><a href='https://promo.example.com/click?url=https%3A%2F%2Fshop.example.com%2F'>"
                 "特价茶叶限时抢购中</a></div>", id="off-site-click-link"),
    pytest.param("相关新闻", "<div><a href='/'>人民网首页欢迎您</a></div>", id="front-page"),
])
def test_a_lone_link_that_is_no_headline_is_no_block(httpserver, monitor_for, heading, block):
    assert crawl_related(httpserver, monitor_for, article(heading, block)) == ([], 0)


def test_two_headlines_under_a_recommended_heading_still_make_a_block():
    two = ONE_HEADLINE.replace(
        "</ul>", "<li><a href='/2020/1211/c1001-31962000.html'>精准扶贫：一条路改变一个村</a></li></ul>")
    page = read_page("http://www.example.cn/2020/1215/c1001-31967000.html", article("推荐新闻", two))
    found = get_kind("related").crawl(page, {"select": {}})
    assert (found.heading, [h.title for h in found.related]) == (
        "推荐新闻", ["乡村振兴看福建：茶园里的新产业", "精准扶贫：一条路改变一个村"])


def test_fetcher_raises_bad_304_for_a_found_link_with_the_found_link_advice(httpserver):
    httpserver.expect_request("/a.html").respond_with_response(Response(status=304))
    settings = HttpSettings(timeout=5.0, retries=0, per_host_delay=0.0, allow_private_networks=True)
    from monitor.core.errors import FetchError

    with Fetcher(settings) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(httpserver.url_for("/a.html"), configured=False)
    assert info.value.error_class == "bad_304" and "found on a page" in str(info.value)
