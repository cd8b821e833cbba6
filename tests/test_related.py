"""Article pages read by kind ``related``: real pages served at their original paths, through the real fetcher.

Each page's related block must be found and its headlines read with absolute URLs (relative links resolved against
the local server's URL, where the page now lives), and the page's own metadata read.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from monitor import text
from monitor.errors import ScrapeError
from monitor.text import strip_outlet_suffix
from scrapers import get_kind
from scrapers.base import Page
from scrapers.related import read_article, site_of
from tests.conftest import OWN_FIXTURES, REAL_FIXTURES, shared_file
from tests.helpers import fetch_page

ZONE = text.zone("Asia/Shanghai")

# file in ../shared/fixtures/real/html -> original URL (SOURCES.md; the people.com.cn 2019 page's URL is made from
# its own <meta name="catalogs"> 1013 and <meta name="contentid"> 31153719).
ORIGINALS = {
    "people_article_utf8_meta_gb2312_related_news.html": "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html",
    "people_politics_article_2024.html.gz": "http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html",
    "thepaper_article_related_relative_links.html": "https://www.thepaper.cn/newsDetail_forward_5420361",
    "sina_news_article_related.html": "https://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml",
    "chinanews_article_related_relative_links.html": "http://www.chinanews.com/ll/2020/07-04/9229287.shtml",
    "xinhuanet_world_article_related_links.html": "http://www.xinhuanet.com/world/2019-12/10/c_1125327450.htm",
    "sohu_article_2023.html": "https://www.sohu.com/a/733320600_429139",
    "ltn_article_traditional.html": "https://ec.ltn.com.tw/article/breakingnews/3119452",
}


@pytest.fixture
def served(httpserver):
    """served(name) -> the Page fetched from the local server at the original URL's path."""

    def serve(name: str) -> Page:
        body = shared_file(REAL_FIXTURES / "html" / name).read_bytes()
        path = urlsplit(ORIGINALS[name]).path
        headers = {"Content-Encoding": "gzip"} if name.endswith(".gz") else {}
        httpserver.expect_request(path).respond_with_data(body, content_type="text/html", headers=headers)
        return fetch_page(httpserver.url_for(path))

    return serve


def published(article) -> str:
    return text.iso(text.parse_date(article.published, ZONE))


def assert_absolute(items) -> None:
    for item in items:
        parts = urlsplit(item.url)
        assert parts.scheme in ("http", "https") and parts.netloc, item.url


def test_people_related_news_block(served):
    page = served("people_article_utf8_meta_gb2312_related_news.html")
    article = read_article(page)
    assert article.title == "女儿出嫁，郑板桥画了几笔兰花当嫁妆"      # not the <title>'s --文化--人民网
    assert article.publisher == "人民网-文化频道"
    assert published(article) == "2019-06-15T08:18:00+08:00"      # the printed time beats publishdate's day
    # 相关新闻 (div#rwb_xgxw) wins over 推荐阅读, which comes first on the page
    assert article.heading == "相关新闻"
    assert [(h.title, h.url) for h in article.related] == [
        ("一家人乘车赴跨国婚礼 丢了嫁妆多亏铁警找回", "http://sn.people.com.cn/n2/2019/0215/c378296-32641594.html"),
        ("《知否》开播 王鹤润挑战年龄差演绎长姐华兰", "http://gx.people.com.cn/n2/2018/1226/c229131-32456513.html"),
        ("素洁高雅 花之君子——历代文人“兰花图”简评", "http://jx.people.com.cn/n2/2018/0817/c355202-31945369.html"),
        ("湖州：山村箍桶匠坚守57年 做了无数嫁妆", "http://sn.people.com.cn/n2/2018/0516/c378296-31586983.html"),
    ]


def test_people_2024_served_gzip_metadata_matches_expected(served, real_fixture):
    page = served("people_politics_article_2024.html.gz")
    assert page.body.lstrip().startswith(b"<!DOCTYPE")       # decompressed by the fetcher
    expected = json.loads(real_fixture("html/people_politics_article_2024.expected.json"))["V1"]
    article = read_article(page)
    assert article.title == strip_outlet_suffix(expected["title"])[0]
    assert published(article)[:10] == expected["publishing_date"][:10]
    assert published(article) == "2024-04-24T23:52:00+08:00"
    assert article.publisher == "新华网"                      # 来源：新华网: a Xinhua story on people.com.cn
    # The 2024 layout has no related block; its "rm_relevant" box is app downloads and is not taken for one.
    assert article.related == [] and article.heading is None


def test_thepaper_relative_links_resolve_against_the_page(served, httpserver):
    page = served("thepaper_article_related_relative_links.html")
    article = read_article(page)
    assert article.title == "新年伊始，习近平的重要文章谈了啥？"
    assert published(article) == "2020-01-03T18:13:00+08:00"
    assert article.heading == "相关推荐"
    assert [(h.title, h.url) for h in article.related] == [
        ("人民日报整版刊文：把新时代改革开放推向前进的根本要求", httpserver.url_for("/newsDetail_forward_5417616")),
        ("《求是》杂志发表习近平总书记重要文章", httpserver.url_for("/newsDetail_forward_5401961")),
        ("中国稳健前行丨把握党的领导制度体系丰富内涵", httpserver.url_for("/newsDetail_forward_5118857")),
    ]


def test_sina_script_filled_block_falls_back_to_recommended(served):
    page = served("sina_news_article_related.html")
    article = read_article(page)
    assert article.canonical_url == "https://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml"   # og:url
    assert article.title == "陈同佳刑满出狱 向潘晓颖家人鞠躬致歉"
    assert article.publisher == "环球网"
    assert published(article) == "2019-10-23T09:10:42+08:00"
    # 相关新闻 is a tab filled in by script (empty in the HTML); 推荐新闻 is the block with links.
    assert article.heading == "推荐新闻"
    titles = [h.title for h in article.related]
    assert titles[0] == "“中国特工”叛逃澳大利亚？官方回应"
    assert len(titles) == 7
    assert "新闻" not in titles and "军事" not in titles          # 【新闻】 category labels are not headlines
    assert article.related[0].url == "https://news.sina.com.cn/s/2019-11-23/doc-iihnzahi2918036.shtml"
    assert_absolute(article.related)


def test_chinanews_site_relative_links(served, httpserver):
    page = served("chinanews_article_related_relative_links.html")
    article = read_article(page)
    assert article.title == "【中国稳健前行】坚定实施扩大内需战略"
    assert article.publisher == "求是网"
    assert published(article) == "2020-07-04T12:10:24+08:00"
    # 相关新闻 is empty on this page (filled by script); 推荐阅读 holds the links, in the heading's next sibling.
    assert article.heading == "推荐阅读"
    assert len(article.related) == 20
    first = article.related[0]
    assert first.title == "60秒会打乒乓球14：推挡球，怎么推，怎么挡"
    assert first.url == httpserver.url_for("/ty/2020/07-11/9235518.shtml")   # "/ty/..." resolved
    assert_absolute(article.related)


def test_xinhuanet_has_no_static_block_but_a_configured_selector_reads_its_list(served):
    page = served("xinhuanet_world_article_related_links.html")
    article = read_article(page)
    assert article.title == "法国全国大罢工再次严重影响交通"          # from "\n法国...-新华网\n": the <h1> is empty
    assert article.publisher == "新华网"
    assert published(article) == "2019-12-10T07:57:40+08:00"
    # div.relate-news is filled by script: no heading, no block, and no block made up from the navigation.
    assert article.related == []
    configured = read_article(page, {"select": {"related": "div.nav-carousel a"}})
    assert configured.heading == "select.related"
    titles = [h.title for h in configured.related]
    assert len(titles) == 9
    assert "法国全国大罢工再次严重影响交通" not in titles          # the article itself is not related to itself
    assert configured.related[0].url == "http://www.xinhuanet.com/politics/2019-12/10/c_1125327377.htm"


def test_configured_metadata_selectors_and_a_bad_selector(served):
    page = served("xinhuanet_world_article_related_links.html")
    select = {"title": "div.h-title", "published": "span.h-time", "publisher": "em#source",
              "related": "div.bottom-ad a"}
    article = read_article(page, {"select": select})
    assert (article.title, article.published, article.publisher) == (
        "法国全国大罢工再次严重影响交通", "2019-12-10 07:57:40", "新华网")
    assert [h.title for h in article.related][:2] == ["中国彩灯节在莫斯科开幕", "上海：冬日暖景"]
    with pytest.raises(ScrapeError, match=r"related: select.related 'div\[' is not a valid CSS selector") as caught:
        read_article(page, {"select": {"related": "div["}})
    assert caught.value.error_class == "bad_selector"


def test_scheme_less_og_url_and_keyword_tail(served):
    article = read_article(served("sohu_article_2023.html"))
    assert urlsplit(article.canonical_url)[1:] == ("www.sohu.com", "/a/733320600_429139", "", "")
    # the keyword tail _中国共产党_哀悼_前往 is dropped
    assert article.title == "视频丨李克强同志遗体在京火化 习近平等到八宝山革命公墓送别"
    assert published(article) == "2023-11-02T20:13:00+08:00"


def test_base_href_and_traditional_heading(served):
    article = read_article(served("ltn_article_traditional.html"))
    assert article.heading == "相關新聞"
    assert article.title == "是你嗎？ 1-2月期發票千萬獎開出18張"
    assert article.related[0].url == "https://news.ltn.com.tw/news/business/breakingnews/3112509"


def test_own_page_protocol_relative_title_attribute_dates_and_the_weaker_heading():
    body = (OWN_FIXTURES / "related" / "site" / "news" / "start.html").read_bytes().replace(b"{HOST}", b"ex.org")
    article = read_article(Page(url="https://ex.org/news/start.html", body=body))
    assert article.title == "决战决胜脱贫攻坚要抓好三个重点"
    assert article.publisher == "示例日报"
    assert article.published == "2020年12月15日09:30"
    assert article.heading == "相关新闻"                     # 推荐阅读 below is second choice
    assert [(h.title, h.url, h.published) for h in article.related] == [
        ("某县脱贫攻坚收官：贫困村全部出列", "https://ex.org/news/a1.html", "2020-12-11 18:56"),
        # "//ex.org/..." takes the page's scheme; the cut-short text gives way to the full title attribute
        ("乡村振兴开新局 产业帮扶见实效——某省推进脱贫成果巩固", "https://ex.org/news/a2.html", "12月8日"),
        ("周末足球联赛：主队三比一取胜", "https://ex.org/news/sports.html", "2020-12-12"),
        ("外地精准扶贫经验交流会召开", "http://elsewhere.invalid/2020/1210/poverty.html", None),
    ]


def test_registered_kind_returns_the_related_headlines():
    kind = get_kind("related")
    assert not kind.needs_url and "related" in kind.select_fields
    body = (OWN_FIXTURES / "related" / "site" / "news" / "a1.html").read_bytes().replace(b"{HOST}", b"ex.org")
    items = kind.scrape(Page(url="http://ex.org/news/a1.html", body=body), {"select": {}})
    # <base href="http://ex.org/news/archive/">: "../b1.html" is /news/b1.html
    assert [i.url for i in items] == ["http://ex.org/news/b1.html", "http://ex.org/news/start.html"]


@pytest.mark.parametrize(("url", "site"), [
    ("http://culture.people.com.cn/n1/x.html", "people.com.cn"),
    ("https://www.thepaper.cn/newsDetail_forward_1", "thepaper.cn"),
    ("https://news.ltn.com.tw/news/1", "ltn.com.tw"),
    ("http://127.0.0.1:8000/news/a.html", "127.0.0.1"),
    ("http://localhost/a", "localhost"),
])
def test_site_of(url, site):
    assert site_of(url) == site
