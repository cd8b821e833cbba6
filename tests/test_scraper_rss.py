"""scrapers.rss on the real feeds in ../shared/fixtures/real/feeds, composed cases and a local server."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page, read_page
from scrapers import get_scraper
from scrapers.rss import entry_published, parse_feed, scrape_rss
from tests.conftest import shared_file
from tests.helpers import fetch_page

URL = "https://example.org/feed.xml"
REAL_FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "real"


def scraped(body: bytes, url: str = "https://example.org/feed.xml",
            content_type: str | None = None) -> tuple[Page, list[RawItem]]:
    """The page as read (``page.codec``: the encoding its bytes were decoded with) and the items scraped from it."""
    page = read_page(url, body, content_type)
    return page, scrape_rss(page, {})


def scrape(body: bytes, url: str = "https://example.org/feed.xml",
           content_type: str | None = None) -> list[RawItem]:
    return scraped(body, url, content_type)[1]


def titles(items: list[RawItem]) -> list[str]:
    return [item.title for item in items]


def test_rss_kind_is_registered():
    assert get_scraper("rss") is scrape_rss


# --- every real feed: correct text or a clear error ---------------------------------------------------------

EXPECTED = {
    # file: (number of items, a title that must be present, feed title)
    "acnnewswire_rss2_gb2312.xml": (8, "亚洲开发银行新闻稿亚行贷款力推中国河南省海河流域环境污染治理",
                                    "Asia Corporate Press via ACNNewswire.net"),
    "coolloud_rss1_rdf_big5.xml": (20, "第一屆北京同性戀文化節公開信", "苦勞網"),
    "w3cn_rss2_gb2312_nonrfc_dates.xml": (20, "盒模型bug的解决方法", "网页设计师 - 文章教程"),
    "sinica_atom03_big5.xml": (7, "「基礎理論密碼學」部落格開張", "「隨機部落格」之「線上演算法」"),
    "feedparser_gb2312_no_declaration.xml": (1, "不归移民漫画系列：专业工作", None),
    "oschina_news_rss2_utf8.xml": (50, "Chrome OS 的 Linux 终端迎来一系列新功能，运行更轻松",
                                   "OSCHINA 社区最新新闻"),
    "v2ex_atom_empty_title_missing_id_link.xml": (
        3, "[分享创造] 发现 unicode 有点意思ௐ，用来做 icon 怎么样ൠ？", "V2EX - guyskk"),
    "google_news_top_stories_rss_2019.xml": (
        38, "Deval Patrick Announces He Is Running For President In 2020 - NPR", "Top stories - Google News"),
    "oren_ru_news_rss_windows1251.xml": (10, "ЧОПовцы в Оренбурге избили молодого человека",
                                         "Новости Оренбурга и области / Раздел Новости"),
    "jn_pt_news_rss_iso8859_1.xml": (40, "Mãe de utente é a nova presidente da Raríssimas",
                                     "Jornal de Notícias - Últimas Notícias"),
    "feedparser_rss_unclosed_root_ampersand_link.xml": (0, None, None),   # its one item has a link, no title
    "feedparser_big5_atom_no_declaration.xml": (0, None, None),
    "feedparser_utf8_bom.xml": (0, None, None),
    "feedparser_rss_incomplete_cdata.xml": (0, None, None),
}
NOT_FEEDS = {"hexun_feed_url_returns_html_gb2312_undeclared.xml"}


def test_the_expectations_cover_every_real_feed():
    feeds_dir = REAL_FIXTURES / "feeds"
    if not feeds_dir.exists():
        pytest.skip(f"{feeds_dir} is absent")
    assert {p.name for p in feeds_dir.glob("*.xml")} == set(EXPECTED) | NOT_FEEDS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_real_feed_parses_with_correct_text(real_fixture, name):
    count, title, feed_title = EXPECTED[name]
    items = scrape(real_fixture(f"feeds/{name}"))
    assert len(items) == count
    if title is not None:
        assert title in titles(items)
    for item in items:
        assert item.title and item.title == item.title.strip()
        assert "\ufffd" not in item.title
        assert "<" not in item.title and "\n" not in item.title
        if feed_title is not None:
            assert item.extra["feed_title"] == feed_title


@pytest.mark.parametrize("name", sorted(NOT_FEEDS))
def test_real_non_feeds_fail_clearly(real_fixture, name):
    with pytest.raises(ScrapeError) as caught:
        scrape(real_fixture(f"feeds/{name}"))
    assert caught.value.error_class == "not_a_feed"


# --- GB2312 -------------------------------------------------------------------------------------------------

def test_acnnewswire_gb2312_items(real_fixture):
    page, items = scraped(real_fixture("feeds/acnnewswire_rss2_gb2312.xml"))
    first = items[0]
    assert first.title == ("JCB 与中国银联（China UnionPay）完成ATM网关协议的签订；"
                           "CUP持卡者得以第一次在日本享受使用ATM网络的权利")
    # "&amp;" in the link is unescaped; guid is the permalink.
    assert first.url == "http://www.acnnewswire.net/Article.Asp?lang=_c&Art_ID=29698"
    assert first.guid == first.url
    # "Tue, 27 Dec 2005 13:08:54+0900" (no space before the offset) defeats feedparser; we read it ourselves.
    assert first.published == datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)
    assert first.summary.startswith("唯一以亚洲为基地的国际付款品牌JCB很高兴地宣布")
    assert page.codec == "gb18030"
    assert first.publisher is None


def test_w3cn_non_rfc_dates_stay_raw_strings(real_fixture):
    """feedparser reads "2005-5-28 16:05:36" as UTC, but it has no zone: the pipeline applies its own."""
    items = scrape(real_fixture("feeds/w3cn_rss2_gb2312_nonrfc_dates.xml"))
    first = items[0]
    assert first.title == "如何以及何时使用sIFR"
    assert first.url == "http://www.w3cn.org/article/translate/2005/117.html"
    assert first.published == "2005-5-28 16:05:36"
    assert items[1].published == "2005-5-25 9:51:45"
    assert first.extra["author"] == "阿宏"
    assert all(isinstance(item.published, str) for item in items)


def test_gb2312_feed_without_declaration(real_fixture):
    items = scrape(real_fixture("feeds/feedparser_gb2312_no_declaration.xml"))
    assert titles(items) == ["不归移民漫画系列：专业工作"]
    assert items[0].url is None



def test_categories_are_the_names_a_feed_files_an_entry_under():
    feed = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>示例</title>'
            '<entry><title>乡村振兴新产业</title><category term="rural" label="乡村振兴"/><category term="economy"/>'
            '<category term="rural" label="乡村振兴"/></entry>'
            '<entry><title>无分类</title></entry></feed>').encode()
    tagged, untagged = scrape(feed)
    assert tagged.extra == {"feed_title": "示例", "categories": ["乡村振兴", "economy"]}
    assert untagged.extra == {"feed_title": "示例"}

# --- Big5 ---------------------------------------------------------------------------------------------------

def test_coolloud_big5_rdf(real_fixture):
    page, items = scraped(real_fixture("feeds/coolloud_rss1_rdf_big5.xml"))
    first = items[0]
    # The <title> holds a newline: collapsed to one space.
    assert first.title == "1226檔下點交之後 不見棺材不走人 進輪自救會長期抗戰"
    assert first.url == "http://www.coolloud.org.tw/news/database/interface/detailstander.asp?ID=108725"
    # dc:date 2005-12-30T23:26:28+08:00
    assert first.published == datetime(2005, 12, 30, 15, 26, 28, tzinfo=UTC)
    assert page.codec == "big5hkscs"
    assert first.extra["author"] == "苦勞報導"
    # What is stored beside the fields; its <dc:subject> is listed twice (two schemes) and kept once.
    assert first.extra == {"feed_title": "苦勞網", "author": "苦勞報導", "categories": ["關廠"]}
    assert "草率決策 惡搞公共化 華視工會抗議新聞局南遷政策" in titles(items)


def test_sinica_big5_atom03(real_fixture):
    items = scrape(real_fixture("feeds/sinica_atom03_big5.xml"))
    first = items[0]
    assert first.title == "新年快樂"
    assert first.url == "http://www.sinica.edu.tw/~hil/online/2005/02/blog-post.html"
    assert first.guid == "tag:blogger.com,1999:blog-7865778.post-110728736545344025"
    assert first.published == datetime(2005, 2, 1, 19, 45, 25, tzinfo=UTC)   # 2005-02-02T03:45:25+08:00
    assert titles(items)[-1] == "期末報告 -- 張晃維, 陳煥宗"


def test_big5_atom_without_declaration_is_decoded(real_fixture):
    page = read_page(URL, real_fixture("feeds/feedparser_big5_atom_no_declaration.xml"))
    result = parse_feed(page.text)
    assert page.codec == "big5hkscs"
    assert result.version == "atom10"
    # The file itself has "?" where its author lost characters; the rest must be real Chinese, not mojibake.
    assert result.feed.title.startswith("我希望")
    assert "成中文，并有助于改" in result.feed.title


# --- other real feeds ---------------------------------------------------------------------------------------

def test_google_news_publisher_from_source(real_fixture):
    items = scrape(real_fixture("feeds/google_news_top_stories_rss_2019.xml"))
    assert len(items) == 38
    first = items[0]
    assert first.title == ("Live updates: Trump asserts ‘normal people’ would close the case on his "
                           "impeachment - The Washington Post")
    assert first.publisher == "The Washington Post"
    assert first.url.startswith("https://news.google.com/__i/rss/rd/articles/CBMi")
    assert first.guid == "52780435491242"
    assert first.published == datetime(2019, 11, 14, 15, 28, tzinfo=UTC)
    # The " - Publisher" suffix is left for the normaliser.
    assert all(item.publisher and item.title.endswith(" - " + item.publisher) for item in items)
    # The escaped-HTML cluster in <description> comes out as plain text.
    assert "<" not in first.summary and "&nbsp;" not in first.summary
    assert "Most important takeaways from the first day of public impeachment hearings CNN" in first.summary


def test_oschina_bozo_feed_is_read(real_fixture, caplog):
    items = scrape(real_fixture("feeds/oschina_news_rss2_utf8.xml"))
    assert len(items) == 50
    assert items[1].title == "每日一博 | 探秘 ThreadLocal 的实现机制与小地雷"
    assert items[0].published == datetime(2020, 4, 6, 0, 28, 46, tzinfo=UTC)   # +0800
    assert "not well-formed" in caplog.text


def test_v2ex_three_entries_are_not_collapsed(real_fixture):
    items = scrape(real_fixture("feeds/v2ex_atom_empty_title_missing_id_link.xml"),
                   url="https://www.v2ex.com/feed/member/guyskk.xml")
    assert len(items) == 3
    untitled, no_link, relative_id = items
    # No title, no link, no id: the title falls back to the content.
    assert untitled.title == "test-content" == untitled.summary
    assert untitled.url is None and untitled.guid is None
    # <link rel="alternate"> with no href: no URL, but the id survives.
    assert no_link.title == "[Python] 最近看异步 IO，发现 curio 真是好，看了一半感觉豁然开朗"
    assert no_link.url is None
    assert no_link.guid == "tag:www.v2ex.com,2017-09-02:/t/387702"
    # A relative <id>/t/378265</id> resolved against the feed URL.
    assert relative_id.guid == "https://www.v2ex.com/t/378265"
    assert relative_id.url == "https://www.v2ex.com/t/378265"
    assert relative_id.summary.startswith("偶然发现一个网站介绍了所有的 unicode 码")
    assert len({(i.title, i.url, i.guid) for i in items}) == 3


def test_ampersand_link_in_unclosed_feed(real_fixture):
    result = parse_feed(read_page(URL, real_fixture("feeds/feedparser_rss_unclosed_root_ampersand_link.xml")).text)
    assert [entry.link for entry in result.entries] == ["http://link/get?a=1&b=2"]


def test_an_item_with_a_link_but_no_title_is_skipped_and_counted(real_fixture, caplog):
    """The real feedparser case: an <item> with only a <link>. Its URL is no headline: not an item."""
    assert scrape(real_fixture("feeds/feedparser_rss_unclosed_root_ampersand_link.xml")) == []
    assert "1 of 1 entries skipped for having no title" in caplog.text
    feed = ('<rss version="2.0"><channel><title>t</title>'
            '<item><title>乡村振兴：村里来了新产业</title><link>http://a.example/1</link></item>'
            '<item><title> </title><link>http://a.example/2</link></item>'
            '<item><link>http://a.example/3</link><description>脱贫攻坚成果巩固</description></item>'
            '</channel></rss>').encode()
    caplog.clear()
    caplog.set_level(logging.INFO, logger="scrapers.rss")
    items = scrape(feed)
    assert [(i.title, i.url, i.summary) for i in items] == [
        ("乡村振兴：村里来了新产业", "http://a.example/1", None),
        ("脱贫攻坚成果巩固", "http://a.example/3", "脱贫攻坚成果巩固")]     # the title taken from the summary
    assert "1 of 3 entries skipped" in caplog.text


V2EX = "feeds/v2ex_atom_empty_title_missing_id_link.xml"


@pytest.mark.parametrize("fetched_from", [
    "https://www.v2ex.com/feed/member/guyskk.xml",     # its own address
    "http://127.0.0.1:8080/feeds/v2ex.xml",            # a mirror, a proxy, a test server
    "https://rsshub.example.org/v2ex/member/guyskk",
])
def test_v2ex_relative_id_resolves_against_the_feeds_site_wherever_it_was_fetched(real_fixture, fetched_from):
    """<id>/t/378265</id> with <link rel="alternate" href="https://www.v2ex.com/"> on the feed."""
    items = scrape(real_fixture(V2EX), url=fetched_from)
    relative_id = items[2]
    assert relative_id.url == relative_id.guid == "https://www.v2ex.com/t/378265"
    assert [item.title for item in items] == [
        "test-content", "[Python] 最近看异步 IO，发现 curio 真是好，看了一半感觉豁然开朗",
        "[分享创造] 发现 unicode 有点意思ௐ，用来做 icon 怎么样ൠ？"]


def test_v2ex_served_by_a_local_server_links_to_v2ex(httpserver):
    httpserver.expect_request("/feeds/v2ex.xml").respond_with_data(
        shared_file(REAL_FIXTURES / V2EX).read_bytes(), content_type="application/atom+xml")
    items = scrape_rss(fetch_page(httpserver.url_for("/feeds/v2ex.xml")), {})
    assert [item.url for item in items] == [None, None, "https://www.v2ex.com/t/378265"]


def atom(root_attributes: str = "", feed_link: str | None = None, entry_link: str = "/t/1") -> bytes:
    site = f'<link rel="alternate" href="{feed_link}"/>' if feed_link else ""
    return (f'<feed xmlns="http://www.w3.org/2005/Atom" {root_attributes}><title>t</title>{site}'
            f'<entry><title>乡村振兴的新消息</title><link rel="alternate" href="{entry_link}"/><id>tag:x,2020:1</id>'
            "</entry></feed>").encode()


@pytest.mark.parametrize("body, url", [
    # xml:base on the feed comes first, whatever the site link says
    (atom('xml:base="https://base.example/news/"', "https://site.example/"), "https://base.example/t/1"),
    (atom('xml:base="https://base.example/news/"', "https://site.example/", "t/1"), "https://base.example/news/t/1"),
    # then the feed's site
    (atom(feed_link="https://site.example/"), "https://site.example/t/1"),
    (atom(feed_link="https://site.example/blog/", entry_link="t/1"), "https://site.example/blog/t/1"),
    # then the address it was fetched from
    (atom(), "http://127.0.0.1:8080/t/1"),
    (atom(feed_link="/"), "http://127.0.0.1:8080/t/1"),
    # absolute links are left alone
    (atom(feed_link="https://site.example/", entry_link="https://other.example/a"), "https://other.example/a"),
])
def test_relative_entry_links_resolve_against_xml_base_then_the_site_then_the_fetch_url(body, url):
    (item,) = scrape(body, url="http://127.0.0.1:8080/feeds/feed.xml")
    assert item.url == url


def test_bom_feed(real_fixture):
    page = read_page(URL, real_fixture("feeds/feedparser_utf8_bom.xml"))
    result = parse_feed(page.text)
    assert page.codec == "utf-8"
    assert result.version and not result.bozo
    assert scrape(real_fixture("feeds/feedparser_utf8_bom.xml")) == []


def test_incomplete_cdata_does_not_hang(real_fixture):
    body = real_fixture("feeds/feedparser_rss_incomplete_cdata.xml")
    outcome: dict[str, object] = {}

    def run():
        try:
            outcome["items"] = scrape(body)
        except ScrapeError as exc:   # pragma: no cover - either outcome is acceptable, a hang is not
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "parsing a truncated CDATA section hung"
    assert outcome.get("items") == []   # its only entry has neither title, link nor text


# --- not a feed ---------------------------------------------------------------------------------------------

def test_hexun_maintenance_page_is_not_a_feed(real_fixture):
    with pytest.raises(ScrapeError) as caught:
        scrape(real_fixture("feeds/hexun_feed_url_returns_html_gb2312_undeclared.xml"),
               url="http://blog.hexun.com/group/getrssresouce.aspx?classid=74")
    error = caught.value
    assert error.error_class == "not_a_feed"
    message = str(error)
    assert message.startswith("not a feed: http://blog.hexun.com/group/getrssresouce.aspx?classid=74")
    assert "an HTML page titled '和讯博客 -- 系统维护中'" in message
    assert "check the source's url" in message


@pytest.mark.parametrize("body", [b"", b"   \r\n"])
def test_empty_body_is_not_a_feed(body):
    with pytest.raises(ScrapeError) as caught:
        scrape(body)
    assert caught.value.error_class == "not_a_feed"
    assert "empty" in str(caught.value) or "whitespace" in str(caught.value)


def test_html_page_is_not_a_feed(real_fixture):
    with pytest.raises(ScrapeError) as caught:
        scrape(real_fixture("html/people_article_utf8_meta_gb2312_related_news.html"),
               content_type="text/html; charset=GB2312")
    assert caught.value.error_class == "not_a_feed"
    assert "an HTML page titled '女儿出嫁，郑板桥画了几笔兰花当嫁妆--文化--人民网'" in str(caught.value)


def test_a_str_or_path_is_never_handed_to_feedparser(tmp_path: Path):
    """A body naming a local file is parsed as data, not opened (feedparser opens paths, even as bytes)."""
    secret = tmp_path / "feed.xml"
    secret.write_text('<rss version="2.0"><channel><item><title>local secret</title>'
                      "<link>http://secret/</link></item></channel></rss>")
    with pytest.raises(ScrapeError) as caught:
        scrape(str(secret).encode())
    assert caught.value.error_class == "not_a_feed"


# --- composed feeds: sanitising, links, dates ---------------------------------------------------------------

def rss(items_xml: str, encoding: str = "utf-8", declaration: bool = True) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if declaration else ""
    text = f'{head}<rss version="2.0"><channel><title>新聞頻道</title>{items_xml}</channel></rss>'
    return text.encode(encoding)


def test_img_onerror_in_title_is_stripped():
    body = rss(
        "<item><title>&lt;img src=x onerror=alert(1)&gt;脱贫攻坚&lt;b&gt;新闻&lt;/b&gt;</title>"
        "<link>http://example.org/1</link></item>"
        "<item><title><![CDATA[<img src=x onerror=alert(2)> 乡村振兴\n  进展]]></title>"
        "<link>http://example.org/2</link>"
        "<description><![CDATA[<p>第一段<script>alert(3)</script></p><p>第二段&amp;更多</p>]]></description></item>"
    )
    items = scrape(body)
    assert titles(items) == ["脱贫攻坚新闻", "乡村振兴 进展"]
    assert items[1].summary == "第一段 第二段&更多"
    assert all("onerror" not in (item.summary or "") + item.title for item in items)


def test_relative_links_resolve_against_the_page_url():
    body = rss("<item><title>相对链接</title><link>/n1/2020/1215/c1001-1.html</link></item>"
               "<item><title>脚本链接</title><link>javascript:alert(1)</link></item>")
    items = scrape(body, url="http://www.people.com.cn/rss/politics.xml")
    assert items[0].url == "http://www.people.com.cn/n1/2020/1215/c1001-1.html"
    assert items[1].url is None


def test_entries_with_neither_title_link_nor_text_are_skipped():
    body = rss("<item><guid isPermaLink='false'>x1</guid></item><item><title>有标题</title></item>")
    items = scrape(body)
    assert titles(items) == ["有标题"]
    assert items[0].url is None


def test_summary_is_capped():
    body = rss(f"<item><title>长文</title><description>{'字' * 5000}</description></item>")
    summary = scrape(body)[0].summary
    assert len(summary) == 2000 and summary.endswith("…")


def test_gbk_only_characters_in_a_gb2312_feed():
    body = rss("<item><title>朱镕基与陶喆</title><link>http://example.org/a</link></item>", encoding="gbk")
    body = body.replace(b'encoding="gbk"', b'encoding="gb2312"')
    assert titles(scrape(body)) == ["朱镕基与陶喆"]


def test_hkscs_character_in_a_big5_feed():
    """feedparser alone decodes this whole feed as ISO-8859-2 mojibake because of the one HKSCS character."""
    body = rss("<item><title>𨋢 升降機故障</title><link>http://example.org/1</link></item>",
               encoding="big5hkscs")
    body = body.replace(b'encoding="big5hkscs"', b'encoding="big5"')
    items = scrape(body)
    assert titles(items) == ["𨋢 升降機故障"]
    assert items[0].extra["feed_title"] == "新聞頻道"


def test_header_charset_is_used_for_an_undeclared_feed(monkeypatch):
    import charset_normalizer

    class NoGuess:   # take detection out of the picture: only the header can give the right answer
        def best(self):
            return None

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda body: NoGuess())
    body = rss("<item><title>新聞聯播</title></item>", encoding="big5", declaration=False)
    assert titles(scrape(body, content_type="application/rss+xml; charset=big5")) == ["新聞聯播"]
    assert titles(scrape(body)) != ["新聞聯播"]


def utc_struct(fields: tuple) -> time.struct_time:
    """A date as feedparser gives it in ``*_parsed``: a ``time.struct_time`` in UTC."""
    return time.struct_time(fields)


@pytest.mark.parametrize("entry, expected", [
    ({"published": "Sat, 31 Dec 2005 06:15:55 GMT",
      "published_parsed": utc_struct((2005, 12, 31, 6, 15, 55, 5, 365, 0))},
     datetime(2005, 12, 31, 6, 15, 55, tzinfo=UTC)),
    ({"published": "2020-12-11 18:56", "published_parsed": utc_struct((2020, 12, 11, 18, 56, 0, 4, 346, 0))},
     "2020-12-11 18:56"),
    ({"updated": "2020-12-11", "updated_parsed": utc_struct((2020, 12, 11, 0, 0, 0, 4, 346, 0))}, "2020-12-11"),
    ({"published": "Mon, 06 Apr 2020 08:28:46 CST", "published_parsed": utc_struct((2020, 4, 6, 14, 28, 46, 0, 97, 0))},
     "Mon, 06 Apr 2020 08:28:46 CST"),
    ({"published": "Tue, 27 Dec 2005 13:08:54+0900"}, datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)),
    ({"published": "2005-12-30T23:26:28+08:00"}, datetime(2005, 12, 30, 15, 26, 28, tzinfo=UTC)),
    ({"published": "10:00 PM yesterday"}, "10:00 PM yesterday"),
    ({"published": "Mon, 06 Apr 2020 08:28:46 HKT", "published_parsed": utc_struct((2020, 4, 6, 8, 28, 46, 0, 97, 0))},
     "Mon, 06 Apr 2020 08:28:46 HKT"),     # feedparser reads an unknown zone name as UTC
    ({"published": "Mon, 06 Apr 2020 08:28:46 EST", "published_parsed": utc_struct((2020, 4, 6, 13, 28, 46, 0, 97, 0))},
     datetime(2020, 4, 6, 13, 28, 46, tzinfo=UTC)),
    ({"created_parsed": utc_struct((2021, 1, 2, 3, 4, 5, 5, 2, 0))}, datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ({}, None),
])
def test_entry_published(entry, expected):
    assert entry_published(entry) == expected


# --- through a local HTTP server ----------------------------------------------------------------------------



def test_gb2312_feed_fetched_over_http(httpserver, real_fixture):
    httpserver.expect_request("/rss2/press_rss_20c.asp").respond_with_data(
        real_fixture("feeds/acnnewswire_rss2_gb2312.xml"), content_type="text/xml")
    page = fetch_page(httpserver.url_for("/rss2/press_rss_20c.asp"))
    items = get_scraper("rss")(page, {})
    assert len(items) == 8
    assert items[1].title == "亚洲开发银行新闻稿亚行贷款力推中国河南省海河流域环境污染治理"


def test_big5_feed_with_a_lying_header_fetched_over_http(httpserver, real_fixture):
    # The server says UTF-8; the bytes are Big5 as the XML declaration says.
    httpserver.expect_request("/index.xml").respond_with_data(
        real_fixture("feeds/coolloud_rss1_rdf_big5.xml"), content_type="application/rss+xml; charset=utf-8")
    items = scrape_rss(fetch_page(httpserver.url_for("/index.xml")), {})
    assert len(items) == 20
    assert "第一屆北京同性戀文化節公開信" in titles(items)


def test_maintenance_page_fetched_over_http_is_not_a_feed(httpserver, real_fixture):
    httpserver.expect_request("/group/getrssresouce.aspx").respond_with_data(
        real_fixture("feeds/hexun_feed_url_returns_html_gb2312_undeclared.xml"), content_type="text/html")
    page = fetch_page(httpserver.url_for("/group/getrssresouce.aspx"))
    with pytest.raises(ScrapeError) as caught:
        scrape_rss(page, {})
    assert caught.value.error_class == "not_a_feed"
    assert "系统维护中" in str(caught.value)
