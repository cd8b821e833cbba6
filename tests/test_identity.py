"""monitor.identity: the core of a headline, the near-duplicate decision and its guards, the index keys; and the
Google News redirect links of monitor.text."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from monitor import identity
from monitor.core import fold, urls
from monitor.identity import compare, headline
from tests.conftest import PROJECT_DIR


def same_story(a: str, b: str) -> identity.Match | None:
    return compare(headline(a), headline(b))


@pytest.mark.parametrize(
    ("title", "core"),
    [
        ("【決戰決勝脫貧攻堅】衙下集鎮:做大做強生豬產業,決戰決勝脫貧攻堅", "衙下集镇做大做强生猪产业决战决胜脱贫攻坚"),
        ("【百日攻堅劃重點】決戰決勝脫貧攻堅", "百日攻坚划重点决战决胜脱贫攻坚"),     # what follows is only a slogan
        ("视频：三峡大坝开启泄洪深孔泄洪", "三峡大坝开启泄洪深孔泄洪"),
        ("专题传奇落幕！林丹正式宣布退役 无缘第五次征战奥运", "传奇落幕林丹正式宣布退役无缘第五次征战奥运"),
        ("一图读懂 | 深圳盒马员工确诊，2地6人感染始末", "深圳盒马员工确诊2地6人感染始末"),
        ("日本新天皇即位 宝座上有9只中国神鸟(图)", "日本新天皇即位宝座上有9只中国神鸟"),
        ("甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝...",
         "甘肃省残联凝心聚力背水一战贫困残疾人脱贫攻坚工作决战决胜"),
        ("《三体》系列雄霸畅销书榜", "三体系列雄霸畅销书榜"),            # a book title is the headline
    ],
)
def test_the_core_of_a_headline(title, core):
    assert headline(title).key == core


def test_cut_marks_and_numbers():
    h = headline("...系列新聞發布會平涼專場...")
    assert h.cut == "both"
    assert headline("十三届全国人大三次会议举行第二次全体会议").numbers == ("13", "2", "3")
    assert headline("AOL to sell 800 patents to Microsoft for $1.0 bn").numbers == ("1", "800")
    assert headline("Gunman kills six in shooting").numbers == ("6",)
    assert headline("決戰決勝脫貧攻堅要抓好三個重點").numbers == ("3",)
    assert headline("一鼓作气 攻坚克难").numbers == ()


@pytest.mark.parametrize(
    ("a", "b", "rule"),
    [
        ("決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点", "title"),
        ("【決戰決勝脫貧攻堅】衙下集鎮:做大做強生豬產業", "视频：衙下集镇：做大做强生猪产业", "title"),
        ("一个月内 91岁的朱镕基第二次给他们写...", "一个月内 91岁的朱镕基第二次给他们写信(图)", "truncated"),
        ("...系列新闻发布会平凉专场举行", "“决胜全面小康 决战脱贫攻坚”系列新闻发布会平凉专场举行", "truncated"),
        ("央行：2020年上半年人民币贷款增加12.0...", "央行：2020年上半年人民币贷款增加12.09万亿元", "truncated"),
        ("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵", "印媒：中印第五轮军长级会谈举行", "near"),
        ("字节跳动同意剥离Tik Tok美国业务 此前遭特朗普威胁", "外媒：字节跳动同意剥离Tik Tok美国业务", "near"),
        ("南召县召开决战决胜脱贫攻坚誓师大会", "南召县举行决战决胜脱贫攻坚誓师大会", "near"),     # 召开 / 举行
        ("习近平出席决战决胜脱贫攻坚座谈会并发表重要讲话", "习近平在决战决胜脱贫攻坚座谈会上发表重要讲话", "near"),
        ("Romney announces Paul Ryan as running mate", "Romney names Ryan as running mate", "near"),
        # One Latin word swapped, but not a name: lower-case on one side, or an inflection (STS 2013 pairs).
        ("Capello quits as England manager", "Capello resigns as England manager", "near"),
        ("Federer Wins 7th Wimbledon Title", "Federer captures 7th Wimbledon title", "near"),
        ("Annan urges end to Syria violence, minister defects", "Annan urges end to Syrian violence", "near"),
    ],
)
def test_one_story(a, b, rule):
    match = same_story(a, b)
    assert match is not None and match.rule == rule
    assert same_story(b, a).rule == rule


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("南召縣召開決戰決勝脫貧攻堅誓師大會", "西峡县召开决战决胜脱贫攻坚誓师大会"),                 # place before 县
        ("【走向我们的小康生活】系列新闻发布会平凉专场举行", "【走向我们的小康生活】系列新闻发布会庆阳专场举行"),
        ("湖南60余万名党员干部与贫困户结对促脱贫", "湖北60余万名党员干部与贫困户结对促脱贫"),           # 南 / 北
        ("北京市新冠肺炎疫情防控工作第148新闻发布会", "北京市新冠肺炎疫情防控工作第149新闻发布会"),   # numbers
        ("十三届全国人大三次会议举行第二次全体会议", "十三届全国人大三次会议举行第三次全体会议"),
        ("12月15日全国新冠肺炎疫情通报", "12月16日全国新冠肺炎疫情通报"),                           # dates
        ("视频：2013年全球大事回顾（下）", "视频：2013年全球大事回顾（中）"),                         # ordinals
        ("李微微:在決戰決勝脫貧攻堅中彰顯政協擔當作為", "王志群：在决战决胜脱贫攻坚中彰显政协担当作为"),  # subject
        ("決勝全面小康 決戰脫貧攻堅", "人民日報評論部:決勝全面小康 決戰脫貧攻堅"),                     # a slogan
        ("【百日攻堅劃重點】決戰決勝脫貧攻堅", "決戰決勝脫貧攻堅"),
        ("美方同意延长对伊武器禁运", "美方不同意延长对伊武器禁运"),                                   # negation
        ("今年入汛以来三峡枢纽已成功应对6场次洪水", "今年入汛以来三峡枢纽已成功应对第6场次洪水"),     # 6 / 第6
        ("广西举行统筹做好常态化疫情防控决战决胜脱贫攻坚发布会",
         "广西举行统筹做好常态化疫情防控促进经济社会发展发布会"),
        ("湖北新增确诊3...", "湖北新增确诊35例：均在武汉"),                                        # cut in a number
        ("脫貧攻堅...", "脱贫攻坚取得决定性成就"),                                                  # too short
        # One capitalised Latin word swapped, nothing else changed: another name in the same sentence.
        ("Patriots beat Bills in overtime to clinch the AFC East title",
         "Patriots beat Dolphins in overtime to clinch the AFC East title"),
        ("Aust stocks open lower", "Tokyo stocks open lower"),                                    # STS 2013: 1.5
        ("Indonesian president to visit UK", "Indonesian president to visit Australia"),          # STS 2013: 1.4
        ("Trump says he will visit China next month", "Biden says he will visit China next month"),
        ("华为发布Mate40系列手机", "华为发布P40系列手机"),                          # in a Chinese headline
    ],
)
def test_not_one_story(a, b):
    assert same_story(a, b) is None
    assert same_story(b, a) is None


def test_close_matches_may_be_one_item_loose_ones_only_one_story():
    assert same_story("新京报评论：“野火青年”们，别假装关心洪灾受灾同胞了",
                      "“野火青年”们 别假装关心洪灾受灾同胞了").close
    assert not same_story("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵", "印媒：中印第五轮军长级会谈举行").close


def test_near_duplicates_share_index_keys_and_templated_siblings_are_still_candidates():
    """Candidates are cheap to find; the guards, not the index, keep templated headlines apart."""
    def keys(title):
        return set(identity.band_keys(headline(title).tokens))

    assert keys("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵") & keys("印媒：中印第五轮军长级会谈举行")
    assert keys("雄安等13地区试点“交通强国”建设") & keys("交通运输部：雄安新区等13个地区开展交通强国建设试点")
    assert keys("南召县召开决战决胜脱贫攻坚誓师大会") & keys("西峡县召开决战决胜脱贫攻坚誓师大会")
    fragment = headline("甘肃省残联凝心聚力“背水一战” 贫困残疾人...")
    full = headline("甘肃省残联凝心聚力“背水一战”的报道")
    assert set(identity.cut_keys(fragment)) & set(identity.cut_lookup_keys(full))


def test_index_keys_are_the_same_in_every_process():
    """Stored keys are looked up by later processes: they must not depend on Python's per-process hash seed."""
    title = "印媒：中印第五轮军长级会谈举行"
    code = ("from monitor.identity import band_keys, headline; "
            f"print(list(band_keys(headline({title!r}).tokens)))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=PROJECT_DIR, env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outputs == {f"{list(identity.band_keys(headline(title).tokens))}\n"}
    assert all(0 <= key < 2 ** 63 for key in identity.band_keys(headline(title).tokens))


def test_fold_variants_opencc_leaves_apart():
    assert fold.fold_text("台製機具逾12國搶著要") == fold.fold_text("台制机具逾12国抢着要")
    assert fold.fold_char("妳") == "你"


def test_every_google_news_link_of_the_real_feed_carries_its_article_url(real_fixture):
    root = ET.fromstring(real_fixture("feeds/google_news_top_stories_rss_2019.xml"))
    links = [item.findtext("link") for item in root.iter("item")]
    assert len(links) == 38
    for link in links:
        target = urls.unwrap_redirect(link)
        assert target and target.startswith("https://") and "news.google.com" not in target
        assert urls.canonical_url(link) == urls.canonical_url(target)


@pytest.mark.parametrize("link", [
    "https://news.google.com/rss/articles/CBMiWkFVX3lxTE1qSWZhbmRvbQ?oc=5",     # the newer opaque form
    "https://news.google.com/topstories?hl=en-US",
    "https://example.com/articles/CBMiAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "https://news.google.com/rss/articles/!!!notbase64!!!",
])
def test_other_links_are_not_unwrapped(link):
    assert urls.unwrap_redirect(link) is None


# --- recurring titles: two pages of one site on two days (identity.recurring) -----------------------------------

NYT_CORRECTIONS_17 = "http://www.nytimes.com/2011/04/17/pageoneplus/corrections.html"
NYT_CORRECTIONS_18 = "http://www.nytimes.com/2011/04/18/pageoneplus/corrections.html"


@pytest.mark.parametrize(("host", "site"), [
    ("www.nytimes.com", "nytimes.com"),
    ("dealbook.nytimes.com", "nytimes.com"),
    ("politics.people.com.cn", "people.com.cn"),
    ("m.people.com.cn", "people.com.cn"),
    ("www.bbc.co.uk", "bbc.co.uk"),
    ("ec.ltn.com.tw", "ltn.com.tw"),
    ("www.beijing.gov.cn", "beijing.gov.cn"),
    ("news.xxx.gd.cn", "xxx.gd.cn"),            # a province's registry under .cn
    ("www.news.cn", "news.cn"),
    ("127.0.0.1", "127.0.0.1"),
])
def test_the_site_of_a_host_is_its_registrable_domain(host, site):
    assert urls.registrable_domain(host) == site


@pytest.mark.parametrize(("a", "b"), [
    (NYT_CORRECTIONS_17, NYT_CORRECTIONS_18),
    ("http://news.sina.com.cn/c/2020-12-15/doc-1.shtml", "https://finance.sina.com.cn/c/2020-12-16/doc-2.shtml"),
    ("https://www.xinhuanet.com/n1/2020/a.html", "https://m.xinhuanet.com/n1/2020/b.html"),   # another path
    ("http://www.gov.example.cn/show.aspx?id=1", "http://www.gov.example.cn/show.aspx?id=2&page=1"),
])
def test_two_pages_of_one_site(a, b):
    assert identity.distinct_pages(urls.canonical_url(a), urls.canonical_url(b))
    assert identity.distinct_pages(urls.canonical_url(b), urls.canonical_url(a))


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.nytimes.com/2020/01/01/world/x.html", "https://www.nytimes.com/2020/01/01/world/x.amp.html"),
    ("https://www.bbc.com/news/world-asia-123", "https://www.bbc.com/news/world-asia-123/amp"),
    ("http://politics.people.com.cn/n1/2020/0306/c1024-31620167.html",
     "http://politics.people.com.cn/BIG5/n1/2020/0306/c1024-31620167.html"),            # the traditional-script copy
    ("http://www.example.cn/print/2020/1215/1.html", "http://www.example.cn/2020/1215/1.html"),
    ("http://www.nytimes.com/2011/04/18/x.html?_r=1&hp", "http://nytimes.com/2011/04/18/x.html"),   # www., tracking
    ("http://www.example.cn/show.aspx?id=7&sid=abc", "http://www.example.cn/show.aspx?id=7&sid=xyz"),   # a session
    ("https://m.example.cn/a/1.html", "https://www.example.cn/a/1.html"),                # one path on two hosts
    ("http://www.example.cn/news/", "http://www.example.cn/news/index.html"),
    ("http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
     "http://www.xinhuanet.com/fortune/2023-11/17/c_1129981476.htm"),                    # two sites: syndication
    ("http://www.sohu.com/a/1_2", "http://www.163.com/dy/article/1.html"),
    (NYT_CORRECTIONS_17, None),                                                            # a seed item: no URL
    (NYT_CORRECTIONS_17, NYT_CORRECTIONS_17),
])
def test_not_two_pages_of_one_site(a, b):
    a, b = urls.canonical_url(a), b and urls.canonical_url(b)
    assert not identity.distinct_pages(a, b) and not identity.distinct_pages(b, a)


@pytest.mark.parametrize(("url", "day"), [
    (NYT_CORRECTIONS_18, "2011-04-18"),
    ("http://politics.people.com.cn/n1/2020/0306/c1024-31620167.html", "2020-03-06"),
    ("http://www.xinhuanet.com/politics/2020-11/23/c_1126776453.htm", "2020-11-23"),
    ("http://finance.qq.com/a/20190923/000843.htm", "2019-09-23"),
    ("http://www.chinanews.com/ll/2020/07-04/9229287.shtml", "2020-07-04"),
    ("https://www.sohu.com/a/733320600_429139", None),
    ("https://www.thepaper.cn/newsDetail_forward_5420361", None),
    ("https://www.example.cn/n1/2020/120059/c60.html", None),        # no month and day after the year
])
def test_the_date_a_url_carries(url, day):
    assert identity.url_day(urls.canonical_url(url)) == day


@pytest.mark.parametrize(("a", "b", "expected"), [
    # The real NYT news sitemap (fixtures/real/sitemaps): three columns of two days, and two articles of one day
    # on two pages of the site (a brief in two sections; DealBook's blog and the paper).
    ((NYT_CORRECTIONS_17, "2011-04-17T05:12:07+08:00"), (NYT_CORRECTIONS_18, "2011-04-18T05:39:52+08:00"), True),
    (("http://www.nytimes.com/2011/04/18/opinion/18iht-oldapril18.html", "2011-04-18T19:05:01+08:00"),
     ("http://www.nytimes.com/2011/04/19/opinion/19iht-oldapril19.html", "2011-04-18T17:33:34+08:00"), True),
    (("http://www.nytimes.com/2011/04/17/sports/golf/17sportsbriefs-ART-Malaysian.html", "2011-04-17T02:10:52+08:00"),
     ("http://www.nytimes.com/2011/04/17/sports/17sportsbriefs-Malaysian.html", "2011-04-16T23:17:11+08:00"), False),
    (("http://dealbook.nytimes.com/2011/04/18/seeking-clues-in-goldmans-succession-plan/", "2011-04-18T10:15:28+08:00"),
     ("http://www.nytimes.com/2011/04/18/business/economy/18Goldman.html", "2011-04-18T05:04:41+08:00"), False),
    # No date in the URLs: the publication dates; with neither, nothing tells the days apart.
    (("https://www.yicai.com/news/100876543.html", "2020-12-15T07:30:00+08:00"),
     ("https://m.yicai.com/news/100877012.html", "2020-12-16T07:30:00+08:00"), True),
    (("https://www.yicai.com/news/100876543.html", "2020-12-15T07:30:00+08:00"),
     ("https://www.yicai.com/news/100877012.html", "2020-12-15T18:00:00+08:00"), False),
    (("https://www.yicai.com/news/100876543.html", None), ("https://www.yicai.com/news/100877012.html", None), False),
    # Two sites, or no URL on one side (a seed): never recurring.
    ((NYT_CORRECTIONS_17, "2011-04-17T05:12:07+08:00"),
     ("http://www.example-syndicator.com/2011/04/18/corrections.html", "2011-04-18T06:00:00+08:00"), False),
    ((NYT_CORRECTIONS_17, "2011-04-17T05:12:07+08:00"), (None, "2011-04-18T06:00:00+08:00"), False),
])
def test_a_recurring_title_is_two_pages_of_one_site_on_two_days(a, b, expected):
    (url_a, published_a), (url_b, published_b) = a, b
    url_a, url_b = urls.canonical_url(url_a), url_b and urls.canonical_url(url_b)
    assert identity.recurring(url_a, published_a, url_b, published_b) is expected
    assert identity.recurring(url_b, published_b, url_a, published_a) is expected
