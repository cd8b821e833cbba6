"""Article pages read by kind ``related``: real pages served at their original paths, through the real fetcher.

Each page's related block must be found and its headlines read with absolute URLs (relative links resolved against
the local server's URL, where the page now lives), and the page's own metadata read.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from monitor.config import load_config
from monitor.core import dates
from monitor.core.errors import ScrapeError
from monitor.core.fold import fold_text
from monitor.core.outlets import strip_outlet_suffix
from monitor.core.page import Page, read_page
from monitor.core.urls import index_page
from monitor.seeding import import_seed
from monitor.service import Monitor
from scrapers import get_kind
from scrapers.related import read_article
from tests.conftest import OWN_FIXTURES, REAL_FIXTURES, shared_file
from tests.helpers import fetch_page, write_config

ZONE = dates.zone("Asia/Shanghai")

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
    "newscn_fortune_article_2023.html": "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
    "bbc_zhongwen_article_2012.html":
        "http://www.bbc.co.uk/zhongwen/simp/chinese_news/2012/12/121210_hongkong_politics.shtml",
    "sina_tw_article_traditional.html": "https://news.sina.com.tw/article/20200121/34046328.html",
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
    return dates.iso(dates.parse_date(article.published, ZONE))


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
    assert all(h.extra == {} for h in article.related)    # the item text around each is the seed's, not stored


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
    assert len(titles) == 6
    assert "新闻" not in titles and "军事" not in titles          # 【新闻】 category labels are not headlines
    # 中超-塔9双响... links to the section page http://sports.sina.com.cn/csl/, not to an article: left out.
    assert not [h for h in article.related if h.title.startswith("中超")]
    assert all(urlsplit(h.url).path != "/csl/" for h in article.related)
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


def test_newscn_matches_newspaper4ks_expected_output_where_the_fields_meet(served, real_fixture):
    """newspaper4k's gold output for the page, compared field by field where ours has the field."""
    expected = json.loads(real_fixture("html/newscn_fortune_article_2023.expected.json"))
    page = served("newscn_fortune_article_2023.html")
    article = read_article(page)
    assert urlsplit(page.url).path == urlsplit(expected["url"]).path
    assert article.title == expected["title"] == "短缺药品保供稳价 全力保障临床用药需求"
    assert article.canonical_url is expected["canonical_link"] is None      # neither rel=canonical nor og:url
    assert published(article)[:10] == expected["publish_date"][:10] == "2023-11-17"
    assert published(article) == "2023-11-17T20:52:15+08:00"                # we also read the printed time
    # <meta name=description>: the same text, its newline collapsed
    assert article.summary == " ".join(expected["meta_description"].split())
    # newspaper4k found no authors and no site name; the page's <meta name="source"> names the wire agency.
    assert expected["authors"] == [] and expected["meta_site_name"] == ""
    assert article.publisher == "新华社"
    assert page.codec == "utf-8"
    # Its related block is <!--相关新闻--> filled by script: nothing, and the 深度观察 sidebar is not taken for it.
    assert article.related == [] and article.heading is None
    configured = read_article(page, {"select": {"related": "div.list-txt li"}})
    assert [h.title for h in configured.related] == [
        "数说中国丨10月份市场销售加快恢复 服务零售增长较快", "个人养老金落地满周年 试点地区有望再扩围",
        "“儿童友好世界 你我一同点亮”线上接龙开启", "谁在“高仿”部委央企行骗？", "“乡村课堂”走俏 家门口学真本事",
        "台湾知名剧作家王安祈的戏曲人生",
    ]   # the column labels (经济参考报丨, 半月谈丨) link to front pages and are not headlines
    assert configured.related[1].url == "http://www.news.cn/fortune/2023-11/17/c_1129980004.htm"


def test_bbc_related_content_block_site_relative_links_and_dates(served, httpserver):
    article = read_article(served("bbc_zhongwen_article_2012.html"))
    assert article.title == "港特首梁振英就住宅违建事件道歉"
    assert article.publisher == "BBC中文网"
    assert published(article) == "2012-12-10T09:24:01+00:00"                 # the offset the page gives
    assert article.heading == "相关内容"
    assert [(h.title, h.url, h.published) for h in article.related] == [
        ("梁振英定下出席违建事件质询日期",
         httpserver.url_for("/zhongwen/simp/chinese_news/2012/12/121206_hongkong_illegal_structure.shtml"),
         "2012年12月6日"),
        ("港屋宇署确认梁振英大宅更多违建",
         httpserver.url_for("/zhongwen/simp/chinese_news/2012/11/121127_hongkong_leung_illegal_structure.shtml"),
         "2012年11月27日"),
        ("香港观察：道德荏弱的梁振英班子",
         httpserver.url_for("/zhongwen/simp/hong_kong_review/2012/11/121120_hkreview_liangzhenying_leadership.shtml"),
         "2012年11月20日"),
        # &#0147;...&#0148; are the Windows-1252 quotes that browsers show as “ ”
        ("香港廉署“已就梁振英违建立案”",
         httpserver.url_for("/zhongwen/simp/chinese_news/2012/06/120627_hongkong_cyleung.shtml"), "2012年6月27日"),
        # the link ends in a <span class="cta">收听 05:02</span> badge: not part of the headline
        ("音频：刘锐绍评港人为何不信梁振英",
         httpserver.url_for("/zhongwen/simp/multimedia/2012/07/120627_audio_hongkong_leung.shtml"), "2012年7月2日"),
        ("梁振英僭建被指可能涉选举失实",
         httpserver.url_for("/zhongwen/simp/chinese_news/2012/06/120622_cyleung_building.shtml"), "2012年6月22日"),
    ]
    assert dates.iso(dates.parse_date(article.related[0].published, ZONE)) == "2012-12-06T00:00:00+08:00"
    # The topic links under each headline (香港) and the BBC以外链接 box are not headlines of the block.
    assert all(h.summary is None for h in article.related)


def test_sina_tw_traditional_article_and_a_configured_list(served, httpserver):
    page = served("sina_tw_article_traditional.html")
    article = read_article(page)
    assert article.title == "9年來第1次戰勝詹姆斯!NBA歷史第二差紀錄終結"    # og:title, traditional script kept
    assert article.canonical_url == "https://news.sina.com.tw/article/20200121/34046328.html"
    assert article.publisher == "新浪新聞中心"                                  # og:site_name
    assert published(article) == "2020-01-21T11:12:51+08:00"
    assert page.codec == "utf-8"
    # 其他體育新聞 ("other sports news") is not a related heading: no block is made up.
    assert article.related == [] and article.heading is None
    configured = read_article(page, {"select": {"related": "div.other ul.list li"}})
    assert len(configured.related) == 6
    first = configured.related[0]
    # The link text is cut short ("冰球崛起！為我國奪下首面洛桑冬..."); the title attribute has the whole headline.
    assert first.title == "冰球崛起！為我國奪下首面洛桑冬青奧獎牌"
    assert first.url == httpserver.url_for("/article/20200121/34042914.html")
    assert "巴薩官方宣布簽下前國米前鋒 違約金達5000萬歐元" in [h.title for h in configured.related]


def test_sina_tw_traditional_titles_are_stored_as_written(served, httpserver, tmp_path):
    """Through the pipeline: rows keep the traditional script; only the identity key is folded."""
    served("sina_tw_article_traditional.html")
    source = {"name": "sina-tw", "kind": "related", "every": "6h", "max_depth": 1,
              "url": httpserver.url_for("/article/20200121/34046328.html"),
              "select": {"related": "div.other ul.list li"}}
    monitor = Monitor.open(load_config(write_config(tmp_path, [source])))
    try:
        [result] = monitor.run_once(["sina-tw"])
        assert result.status == "ok", result.error
        rows = {r["title"]: r for r in monitor.store.conn.execute("SELECT * FROM items")}
    finally:
        monitor.close()
    assert len(rows) == 7                                   # the article and its six listed headlines
    article = rows["9年來第1次戰勝詹姆斯!NBA歷史第二差紀錄終結"]
    assert article["publisher"] == "新浪新聞中心"
    assert article["published_at"] == "2020-01-21T11:12:51+08:00"
    bingqiu = rows["冰球崛起！為我國奪下首面洛桑冬青奧獎牌"]         # the full title attribute, as written
    assert bingqiu["url"] == httpserver.url_for("/article/20200121/34042914.html")
    # Identity compares folded keys: the simplified form of the same headline is the same key.
    assert bingqiu["title_key"] == fold_text("冰球崛起！为我国夺下首面洛桑冬青奥奖牌")


def test_own_page_protocol_relative_title_attribute_dates_and_the_weaker_heading():
    body = (OWN_FIXTURES / "related" / "site" / "news" / "start.html").read_bytes().replace(b"{HOST}", b"ex.org")
    article = read_article(read_page("https://ex.org/news/start.html", body))
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


def test_registered_kind_crawls_article_pages_and_returns_the_related_headlines():
    kind = get_kind("related")
    assert not kind.needs_url and "related" in kind.select_fields
    assert kind.scrape is None and kind.crawl is read_article     # the spider reads its pages, not the page loop
    body = (OWN_FIXTURES / "related" / "site" / "news" / "a1.html").read_bytes().replace(b"{HOST}", b"ex.org")
    items = kind.crawl(read_page("http://ex.org/news/a1.html", body), {"select": {}}).related
    # <base href="http://ex.org/news/archive/">: "../b1.html" is /news/b1.html
    assert [i.url for i in items] == ["http://ex.org/news/b1.html", "http://ex.org/news/start.html"]


@pytest.mark.parametrize("url", [
    "https://news.sina.com.cn/",
    "https://news.sina.com.cn",
    "http://sports.sina.com.cn/csl/",                       # the real sina page links a headline here
    "http://www.example.cn/index.html",
    "http://www.example.cn/china/index.shtml",
    "http://www.example.cn/world/asia/",
    "http://www.example.cn/hot-news/",
    "http://www.example.cn/csl/?utm_source=feed123&spm=C73544894212",   # tracking parameters aside
    "http://www.example.cn/news/?page=2",
])
def test_front_and_section_index_pages_are_not_headlines(url):
    assert index_page(url)


@pytest.mark.parametrize("url", [
    "https://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml",
    "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html",
    "https://www.thepaper.cn/newsDetail_forward_5420361",    # one segment, no trailing slash
    "https://www.sohu.com/a/733320600_429139",
    "http://www.xinhuanet.com/world/2019-12/10/c_1125327450.htm",
    "https://www.v2ex.com/t/378265/",                        # an id, with a trailing slash
    "http://www.example.cn/2019/10/",                        # a date
    "http://www.example.cn/news/poverty-alleviation-in-gansu/",   # a slug
    "http://www.example.cn/a/b/c/",                          # three directories deep
    "http://www.example.cn/?p=123",                          # an article id in the query
    "http://www.example.cn/index.php?id=4567",
    "http://www.example.cn/news/index",                      # no index file extension: a page
])
def test_article_pages_are_not_taken_for_index_pages(url):
    assert not index_page(url)


def test_sina_section_page_is_neither_stored_by_the_spider_nor_by_a_seed_import(served, httpserver, tmp_path):
    served("sina_news_article_related.html")
    source = {"name": "sina", "kind": "related", "every": "6h", "max_depth": 1,
              "url": httpserver.url_for("/c/2019-10-23/doc-iicezuev4202091.shtml")}
    monitor = Monitor.open(load_config(write_config(tmp_path, [source])))
    try:
        [result] = monitor.run_once(["sina"])
        assert result.status == "ok", result.error
        assert result.items_seen == 7                        # the article and six recommended headlines
        urls = [r[0] for r in monitor.store.conn.execute("SELECT url FROM items")]
        assert "http://sports.sina.com.cn/csl/" not in urls
        assert "https://news.sina.com.cn/s/2019-11-23/doc-iihnzahi2918036.shtml" in urls
        import_seed(monitor.store, REAL_FIXTURES / "html" / "sina_news_article_related.html", ZONE)
        seeded = [r[0] for r in monitor.store.conn.execute(
            "SELECT items.url FROM sightings JOIN items ON items.id = item_id WHERE source = 'seed'")]
    finally:
        monitor.close()
    assert len(seeded) == 7 and "http://sports.sina.com.cn/csl/" not in seeded
