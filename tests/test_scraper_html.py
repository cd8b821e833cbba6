"""scrapers.html: CSS-selector list pages, on our own GBK page, real saved pages, and a local HTTP server."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page, read_page
from scrapers import get_scraper
from scrapers.html import scrape_html
from tests.helpers import fetch_page

GBK_LIST = Path(__file__).resolve().parent / "fixtures" / "gbk_list.html"
GBK_SELECT = {"item": "ul.news-list > li", "title": "a", "link": "a@href", "summary": "p.desc",
              "published": "span.date", "publisher": "span.src"}


def scraped(body: bytes, select: dict, url: str = "http://www.example.com/news/list.html",
            content_type: str | None = None) -> tuple[Page, list[RawItem]]:
    """The page as read (``page.codec``: the encoding its bytes were decoded with) and the items scraped from it."""
    page = read_page(url, body, content_type)
    return page, scrape_html(page, {"select": select})


def scrape(body: bytes, select: dict, url: str = "http://www.example.com/news/list.html",
           content_type: str | None = None) -> list[RawItem]:
    return scraped(body, select, url, content_type)[1]


def titles(items: list[RawItem]) -> list[str]:
    return [item.title for item in items]


def test_html_kind_is_registered():
    assert get_scraper("html") is scrape_html


# --- our own GBK list page ----------------------------------------------------------------------------------

def test_own_fixture_really_is_gbk_declared_gb2312():
    body = GBK_LIST.read_bytes()
    assert b"charset=gb2312" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")       # 镕 and 喆 are GBK-only


def test_gbk_list_page():
    page, items = scraped(GBK_LIST.read_bytes(), GBK_SELECT)
    assert titles(items) == [
        "朱镕基：脱贫攻坚 取得决定性成就",      # a newline inside the link text: one space
        "陶喆公益演唱会为乡村振兴募款",
        "国际联合国粮农组织发布报告",           # inline <b> joined without a space
        "专题：精准扶贫在行动",
    ]   # the <li> whose link has no text is skipped; 更多新闻请点击 (javascript:void(0)) is page chrome: dropped
    first, second, third, fourth = items
    assert first.url == "http://www.example.com/news/2020/1211/c1001-1.html"
    assert second.url == "http://www.example.com/news/c1002-2.html"
    assert third.url == "http://www.example.com/world/2020-12/07/c_1126830000.htm"
    assert fourth.url == "http://cdn.example.net/special/poverty.html"
    assert [item.published for item in items] == ["2020年12月11日 18:56", "12-08", "12-07", None]
    assert [item.publisher for item in items] == ["示例日报", "娱乐频道", None, "专题"]
    assert first.summary == "国务院新闻办公室 11日举行发布会，介绍“精准扶贫”进展。"
    assert second.summary is None
    assert page.codec == "gb18030"
    assert all(item.extra == {} for item in items)      # only the configured fields are read


def test_xhtml_with_gb2312_xml_declaration():
    """lxml fed these bytes directly finds no <li> at all (FACTS); decoding first reads them."""
    page = ('<?xml version="1.0" encoding="gb2312"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<title>列表</title></head><body><ul><li><a href="/a">朱镕基考察</a></li></ul></body></html>')
    items = scrape(page.encode("gbk"), {"item": "li"})
    assert [(item.title, item.url) for item in items] == [("朱镕基考察", "http://www.example.com/a")]


def test_gbk_list_page_title_from_attribute_and_https_page():
    select = dict(GBK_SELECT, title="a@title")
    items = scrape(GBK_LIST.read_bytes(), select, url="https://www.example.com/news/list.html")
    assert titles(items) == ["朱镕基：脱贫攻坚取得决定性成就"]   # only the first link has a title attribute
    assert items[0].url == "https://www.example.com/news/2020/1211/c1001-1.html"


def test_protocol_relative_link_takes_the_page_scheme():
    items = scrape(GBK_LIST.read_bytes(), GBK_SELECT, url="https://www.example.com/news/list.html")
    assert items[3].url == "https://cdn.example.net/special/poverty.html"


def test_default_title_and_link_selectors():
    items = scrape(GBK_LIST.read_bytes(), {"item": "ul.news-list > li"})
    assert titles(items)[:2] == ["朱镕基：脱贫攻坚 取得决定性成就", "陶喆公益演唱会为乡村振兴募款"]
    assert items[0].url == "http://www.example.com/news/2020/1211/c1001-1.html"
    assert items[0].summary is None and items[0].published is None and items[0].publisher is None


def test_empty_field_selectors_mean_none():
    select = dict(GBK_SELECT, link="", summary="", publisher="", title="")
    items = scrape(GBK_LIST.read_bytes(), select)
    assert items[0].title == "朱镕基：脱贫攻坚 取得决定性成就"    # title "" falls back to "a"
    assert all(item.url is None and item.summary is None and item.publisher is None for item in items)


# --- real pages ---------------------------------------------------------------------------------------------

def test_netease_rolling_list_with_lying_meta(real_fixture):
    page, items = scraped(real_fixture("html/netease_rolling_news_list_utf8_meta_gb2312.html"),
                          {"item": "ul.list_txt li", "title": "a:not(.cBlue)", "link": "a:not(.cBlue)@href",
                           "published": "span", "publisher": "a.cBlue"},
                          url="https://news.163.com/latest/")
    assert len(items) == 40
    first = items[0]
    assert first.title == "一图读懂 | 深圳盒马员工确诊，2地6人感染始末"
    assert first.url == "https://news.163.com/20/0816/22/FK6F0U6D0001899O.html"
    assert first.published == "(2020-08-16 22:26:38)"
    assert first.publisher == "[社会]"
    assert page.codec == "utf-8"
    assert items[-1].url == "http://dy.163.com/article/FK616GNC0519EO06.html"
    assert all(item.url and item.url.startswith(("http://", "https://")) for item in items)
    assert not any("\ufffd" in item.title or "Ã" in item.title for item in items)


def test_netease_list_with_a_lying_gb2312_header_too(real_fixture):
    items = scrape(real_fixture("html/netease_rolling_news_list_utf8_meta_gb2312.html"),
                   {"item": "ul.list_txt li", "title": "a:not(.cBlue)"},
                   url="https://news.163.com/latest/", content_type="text/html; charset=GB2312")
    assert items[0].title == "一图读懂 | 深圳盒马员工确诊，2地6人感染始末"


def test_tencent_list_protocol_relative_links(real_fixture):
    body = real_fixture("html/tencent_news_list.html")
    select = {"item": "div.channel_mod ul.list > li", "title": "h3 a", "link": "h3 a@href",
              "publisher": "a.source", "published": "span.time"}
    items = scrape(body, select, url="https://news.qq.com/")
    assert len(items) == 10
    first = items[0]
    assert first.title == "00后比90后少了4700万！这些大省出手了！专家：人口负增长拐点或在2027年前到来"
    assert first.url == "https://new.qq.com/omn/20200704/20200704A04HVX00.html"
    assert first.publisher == "21世纪经济报道"
    assert first.published == "9小时前"
    # The outlet links are protocol-relative (//new.qq.com/omn/author/1233).
    authors = scrape(body, dict(select, link="a.source@href"), url="https://news.qq.com/")
    assert authors[0].url == "https://new.qq.com/omn/author/1233"
    assert scrape(body, dict(select, link="a.source@href"), url="http://news.qq.com/")[0].url == \
        "http://new.qq.com/omn/author/1233"


def test_sogou_weixin_search_results(real_fixture):
    items = scrape(real_fixture("html/sogou_weixin_search_results.html"),
                   {"item": "ul.news-list > li", "title": "h3 a", "link": "h3 a@href",
                    "summary": "p.txt-info", "publisher": "a.account", "published": "div.s-p@t"},
                   url="https://weixin.sogou.com/weixin?type=2&query=%E9%AB%98%E8%80%83")
    assert len(items) == 10
    first, second = items[0], items[1]
    # <em><!--red_beg-->高考<!--red_end--></em>: the highlight markup goes, with no stray spaces.
    assert first.title == "高考有多重要,为什么要重视高考?丨微观点"
    assert second.title == "高考:穷人考不好,中产考状元,精英不高考"
    assert first.url.startswith("http://mp.weixin.qq.com/s?src=3&timestamp=1500052504&ver=1&signature=")
    assert "&amp;" not in first.url
    assert first.publisher == "占豪"
    assert first.published == "1498908951"   # the page prints dates with JS; the attribute holds the epoch
    # &ldquo; is unescaped.
    assert "说了下面这段话. “农村地区的..." in second.summary
    assert not any("red_beg" in (item.summary or "") + item.title for item in items)


def test_netease_homepage_news_feed_and_top_news_blocks(real_fixture):
    """A 431 KB portal page with 170+ headline links: one selector per block reads just that block, quickly."""
    body = real_fixture("html/netease_news_homepage_list.html")
    started = time.perf_counter()
    page, feed = scraped(body, {"item": "div.data_row.news_article", "title": "h3 a", "link": "h3 a@href",
                                "published": "span.time", "publisher": "strong.barlink"}, url="https://news.163.com/")
    assert time.perf_counter() - started < 10       # about 0.3 s; a generous bound against a quadratic slip
    assert len(feed) == 27
    first = feed[0]
    assert first.title == "无缘清华北大的江苏文科第一名 最终申请香港大学"
    assert first.url == "https://news.163.com/20/0802/16/FJ1P0UTC0001899O.html"
    assert first.published == "30分钟前"             # relative, as printed; the pipeline reads it
    assert first.publisher == "新闻"                 # the channel label, not the keyword links beside it
    assert page.codec == "utf-8"
    assert feed[-1].title == "舆论称中国奶业走上不可挽回的歧路?官方:居心叵测"
    assert feed[-1].published == "23小时前"
    by_title = {item.title: item for item in feed}
    # Items from other channels of the portal: other hosts, no channel label.
    money = by_title["美三大股指集体收涨!苹果市值全球最高"]
    assert (money.url, money.publisher) == ("https://money.163.com/20/0801/06/FIU4BFJ7002580S6.html", None)
    assert by_title["日本导演：看到TikTok被美国封杀 想起80年代的日本"].publisher == "国际新闻"
    # Full-width quotation marks are kept as the page prints them (folding happens for identity only).
    assert "胡锡进：TikTok有两宗＂罪＂ 特朗普真心想让它死" in by_title
    assert len({item.url for item in feed}) == 27
    assert all(item.summary is None for item in feed)

    top = scrape(body, {"item": "div.news_default_news ul.top_news_ul li"}, url="https://news.163.com/")
    assert titles(top) == [
        "习近平提出这些要求", "中共中央国务院中央军委对北斗导航系统开通的贺电",
        "乘势而上，巩固扩大疫情防控和经济恢复成果",
        "香港各界人士：推迟立法会选举是最合适安排", "湖北新增确诊3例：均在武汉 为境外输入病例",
        "扫黑办收到富二代悔过书：我赌输了家里的六千万", "美驻荷大使污蔑中国盗窃他国新冠疫苗知识产权",
        '中美关系已经"没有回头路"可走？刘晓明大使回应',
    ]   # a <li> holding two links gives its first; trailing spaces inside links are gone
    assert top[5].url == "http://dy.163.com/article/FJ11BC280521QBNK.html"


def test_xinhua_gb2312_wayback_page_list(real_fixture):
    """Real GB2312 bytes after a <script charset="utf-8">: the page's own news list reads correctly."""
    url = ("https://web.archive.org/web/20120611024252/http://www.he.xinhuanet.com/news/2012-06/04/"
           "content_25340717.htm")
    page, items = scraped(real_fixture("html/xinhuanet_hebei_article_gb2312_wayback.html"),
                          {"item": "ul.newslist1 li"}, url=url)
    assert items[0].title == "河北：中国文化遗产日系列活动启动"
    assert items[0].url == ("https://web.archive.org/web/20120611024252/http://www.he.xinhuanet.com/news/2012-06/04/"
                            "content_25340768.htm")
    assert "话剧《约定无期限》河北各市巡演结束" in titles(items)
    assert page.codec == "gb18030"


# --- selector handling --------------------------------------------------------------------------------------

def test_base_href_is_used_for_links():
    page = ('<html><head><base href="https://static.example.org/news/"></head><body><ul>'
            '<li><a href="2020/a.html">甲</a></li><li><a href="/b.html">乙</a></li></ul></body></html>')
    items = scrape(page.encode(), {"item": "li"}, url="https://www.example.org/list")
    assert [item.url for item in items] == ["https://static.example.org/news/2020/a.html",
                                            "https://static.example.org/b.html"]


def test_attribute_of_the_item_itself_and_item_as_link():
    page = ('<div class="list"><a class="t" href="/1.html" title="第一条">第一条新闻</a>'
            '<a class="t" href="/2.html">第二条新闻</a></div>')
    items = scrape(page.encode(), {"item": "a.t", "link": "@href", "title": "a"}, url="http://example.org/")
    assert titles(items) == ["第一条新闻", "第二条新闻"]
    assert [item.url for item in items] == ["http://example.org/1.html", "http://example.org/2.html"]
    items = scrape(page.encode(), {"item": "a.t", "title": "@title"}, url="http://example.org/")
    assert titles(items) == ["第一条"]      # the second has no title attribute: skipped


def test_time_datetime_attribute():
    page = ('<ul><li><a href="/1">甲</a><time datetime="2020-12-11T18:56:00+08:00">12月11日</time></li>'
            '<li><a href="/2">乙</a><time>12月10日</time></li></ul>')
    items = scrape(page.encode(), {"item": "li", "published": "time"})
    assert [item.published for item in items] == ["2020-12-11T18:56:00+08:00", "12月10日"]
    items = scrape(page.encode(), {"item": "li", "published": "time@datetime"})
    assert [item.published for item in items] == ["2020-12-11T18:56:00+08:00", None]


def test_items_whose_only_link_is_not_a_web_address_are_dropped(caplog):
    page = ('<ul><li><a href="mailto:a@b.c">甲</a></li><li><a href="#top">乙</a></li>'
            '<li><a href=" JavaScript:go() ">丙</a></li><li><a>丁</a></li><li><a href="tel:+8610123">戊</a></li>'
            '<li><a href="data:text/html,x">己</a></li><li><a href="">庚</a></li></ul>')
    caplog.set_level(logging.INFO, logger="scrapers.html")
    items = scrape(page.encode(), {"item": "li"})
    assert titles(items) == ["乙", "丁", "庚"]          # no link, #, or an empty href: kept without a URL
    assert all(item.url is None for item in items)
    assert "4 of 7 items dropped" in caplog.text


def test_the_first_web_link_of_an_item_is_its_url():
    page = ('<ul><li><a href="javascript:void(0)" onclick="open(1)">甲新闻</a> <a href="/1.html">详情</a></li>'
            '<li><a href="mailto:x@y.z">乙新闻</a><a href="javascript:share()">分享</a></li></ul>')
    items = scrape(page.encode(), {"item": "li"}, url="http://example.org/list/")
    assert [(item.title, item.url) for item in items] == [("甲新闻", "http://example.org/1.html")]


def test_a_page_whose_matched_items_all_link_to_scripts_is_a_clear_error():
    page = ('<ul><li><a href="javascript:window.close()">关闭窗口</a></li>'
            '<li><a href="javascript:p()">打印</a></li></ul>')
    with pytest.raises(ScrapeError) as caught:
        scrape(page.encode(), {"item": "li"})
    assert caught.value.error_class == "selector_empty"
    assert "javascript:" in str(caught.value)


def test_xinhua_page_controls_linking_to_scripts_are_not_items(real_fixture):
    """The real Hebei Xinhua page: 【关闭窗口】【发表评论】【打印本稿】 under the article, two of them javascript:."""
    url = ("https://web.archive.org/web/20120611024252/http://www.he.xinhuanet.com/news/2012-06/04/"
           "content_25340717.htm")
    items = scrape(real_fixture("html/xinhuanet_hebei_article_gb2312_wayback.html"),
                   {"item": "td[height='30'] a"}, url=url)
    assert ("发表评论", "https://web.archive.org/web/20120611024252/http://forum.xinhuanet.com/frame.jsp") in [
        (item.title, item.url) for item in items]
    assert not {"关闭窗口", "打印本稿"} & set(titles(items))
    # Every link of the page read as an item: none is a javascript: control, every one has an http(s) URL or none.
    every = scrape(real_fixture("html/xinhuanet_hebei_article_gb2312_wayback.html"), {"item": "a"}, url=url)
    assert not {"关闭窗口", "打印本稿"} & set(titles(every))
    assert all(item.url is None or item.url.startswith("https://web.archive.org/") for item in every)


def test_item_selector_matching_nothing_is_an_error():
    with pytest.raises(ScrapeError) as caught:
        scrape(GBK_LIST.read_bytes(), {"item": "ul.list li"})
    error = caught.value
    assert error.error_class == "selector_empty"
    assert "'ul.list li'" in str(error)
    assert "http://www.example.com/news/list.html" in str(error)
    assert "新闻列表_示例新闻网" in str(error)


def test_items_without_any_title_are_an_error():
    with pytest.raises(ScrapeError) as caught:
        scrape(GBK_LIST.read_bytes(), {"item": "ul.news-list > li", "title": "h3"})
    assert caught.value.error_class == "selector_empty"
    assert "'h3'" in str(caught.value)


def test_empty_body_is_an_error():
    with pytest.raises(ScrapeError) as caught:
        scrape(b"", {"item": "li"})
    assert caught.value.error_class == "selector_empty"


@pytest.mark.parametrize("select, named", [
    ({"item": "ul.list li["}, "'ul.list li['"),
    ({"item": "li", "title": "a[href"}, "select.title 'a[href'"),
    ({"item": "li", "link": "a:nosuchpseudo@href"}, "'a:nosuchpseudo'"),
    ({"item": ""}, "select.item"),
    ({}, "select.item"),
])
def test_bad_selector(select, named):
    with pytest.raises(ScrapeError) as caught:
        scrape(GBK_LIST.read_bytes(), select)
    assert caught.value.error_class == "bad_selector"
    assert named in str(caught.value)


def test_missing_select_option():
    with pytest.raises(ScrapeError) as caught:
        scrape_html(read_page("http://x/", b"<li>a</li>"), {})
    assert caught.value.error_class == "bad_selector"


# --- through a local HTTP server ----------------------------------------------------------------------------



@pytest.mark.parametrize("content_type",
                         ["text/html", "text/html; charset=gb2312", "text/html; charset=ISO-8859-1"])
def test_gbk_list_fetched_over_http(httpserver, content_type):
    httpserver.expect_request("/news/list.html").respond_with_data(GBK_LIST.read_bytes(),
                                                                   content_type=content_type)
    page = fetch_page(httpserver.url_for("/news/list.html"))
    items = get_scraper("html")(page, {"select": GBK_SELECT})
    assert titles(items)[:2] == ["朱镕基：脱贫攻坚 取得决定性成就", "陶喆公益演唱会为乡村振兴募款"]
    assert items[0].url == httpserver.url_for("/news/2020/1211/c1001-1.html")
    assert items[0].published == "2020年12月11日 18:56"
