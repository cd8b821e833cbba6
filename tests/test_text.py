"""monitor.text: folding, truncation marks, outlet suffixes, identity keys, canonical URLs and dates.

Titles come from the seed document (traditional script), the real pages and feeds in ../shared/fixtures/real,
and strings composed here in the shapes those sources use.
"""

from __future__ import annotations

import gzip
import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from monitor.core import urls
from monitor.core.dates import iso, parse_date, parse_zoned, zone
from monitor.core.fold import fold_char, fold_text, split_truncation
from monitor.core.outlets import publisher_key, publishers_compatible, strip_outlet_suffix, title_key
from monitor.core.urls import canonical_url, join_url, resolve_link, site_of

SHANGHAI = zone("Asia/Shanghai")
CST = timezone(timedelta(hours=8))


def seed_headlines(path) -> list[tuple[str, str]]:
    """(headline, the line under it) for each "  • " entry of the seed document's 相關焦點 block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("•"):
            below = lines[i + 1].strip() if i + 1 < len(lines) else ""
            entries.append((line.strip().lstrip("•").strip(), below))
    return entries


def page_title(html: str) -> str:
    return re.search(r"<title[^>]*>(.*?)</title>", html, re.S | re.I).group(1)


# ----------------------------------------------------------------------------------------------------
# fold_text / fold_char
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点"),
        ("廣西舉行統籌做好常態化疫情防控決戰決勝脫貧攻堅發布會",
         "广西举行统筹做好常态化疫情防控决战决胜脱贫攻坚发布会"),
        ("李微微:在決戰決勝脫貧攻堅中彰顯政協擔當作為", "李微微：在决战决胜脱贫攻坚中彰显政协担当作为"),
        ("9年來第1次戰勝詹姆斯!NBA歷史第二差紀錄終結", "9年来第1次战胜詹姆斯！nba历史第二差纪录终结"),
    ],
)
def test_traditional_and_simplified_fold_alike(traditional, simplified):
    assert fold_text(traditional) == fold_text(simplified)
    assert fold_text(traditional) == fold_text(fold_text(simplified))  # folding is idempotent


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("【決戰決勝 脫貧攻堅】ＡＢＣ１２３", "决战决胜脱贫攻坚abc123"),           # brackets, space, full width
        ("「決戰決勝脫貧攻堅」賽汗烏素村", "决战决胜脱贫攻坚赛汗乌素村"),          # corner quotes
        ("是你嗎？ 1-2月期發票千萬獎開出18張", "是你吗12月期发票千万奖开出18张"),   # full-width ？, hyphen
        ("“中国－拉美和加勒比国家航天合作论坛”", "中国拉美和加勒比国家航天合作论坛"),
        ("\r\n法国全国大罢工再次严重影响交通\u3000\t", "法国全国大罢工再次严重影响交通"),  # controls, ideographic space
        ("S&P 500 — Dow", "sp500dow"),                                              # symbols S*
        ("", ""),
        ("……「」、。", ""),
    ],
)
def test_fold_text_drops_width_punctuation_and_space(raw, folded):
    assert fold_text(raw) == folded


def test_spaces_inside_a_phrase_do_not_change_its_fold():
    assert fold_text("脫貧 攻堅") == fold_text("脫貧攻堅") == "脱贫攻坚"
    assert fold_text("決勝全面小康 決戰脫貧攻堅") == fold_text("决胜全面小康，决战脱贫攻坚")


@pytest.mark.parametrize(
    ("ch", "folded"),
    [("體", "体"), ("貧", "贫"), ("贫", "贫"), ("Ａ", "a"), ("Z", "z"), ("１", "1"), ("，", ""), ("　", ""),
     ("\n", ""), ("【", ""), ("ﬁ", "fi"), ("é", "é")],
)
def test_fold_char(ch, folded):
    assert fold_char(ch) == folded


def test_fold_char_agrees_with_fold_text_on_the_seed(seed_document):
    body = seed_document.read_text(encoding="utf-8")
    by_char = "".join(fold_char(ch) for ch in body)
    # Phrase conversions may differ in principle; on the seed's 4000+ characters they agree.
    assert by_char == fold_text(body)
    assert "脱贫攻坚" in by_char and "脫" not in by_char


# ----------------------------------------------------------------------------------------------------
# split_truncation
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝...",
         ("甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝", False, True)),
        ("...脫貧攻堅」「決勝全面小康 決戰脫貧攻堅」系列新聞發布會平涼...",
         ("脫貧攻堅」「決勝全面小康 決戰脫貧攻堅」系列新聞發布會平涼", True, True)),
        ("決戰決勝脫貧攻堅…", ("決戰決勝脫貧攻堅", False, True)),
        ("決戰決勝脫貧攻堅……", ("決戰決勝脫貧攻堅", False, True)),
        ("決戰決勝脫貧攻堅 ⋯ ", ("決戰決勝脫貧攻堅", False, True)),
        ("決戰決勝脫貧攻堅。。。", ("決戰決勝脫貧攻堅", False, True)),
        ("決戰決勝脫貧攻堅．．．", ("決戰決勝脫貧攻堅", False, True)),
        ("… 決戰決勝脫貧攻堅", ("決戰決勝脫貧攻堅", True, False)),
        ("決戰決勝脫貧攻堅", ("決戰決勝脫貧攻堅", False, False)),
        ("Mr. Smith goes to Washington.", ("Mr. Smith goes to Washington.", False, False)),
        ("U.S. - China trade talks stall..", ("U.S. - China trade talks stall..", False, False)),
        ("...", ("", False, False)),   # nothing left: no fragment to match on
        ("", ("", False, False)),
    ],
)
def test_split_truncation(title, expected):
    assert split_truncation(title) == expected


def test_seed_titles_cut_short_are_recognised(seed_document):
    entries = seed_headlines(seed_document)
    cut = [title for title, _ in entries if split_truncation(title)[2]]
    assert "始終繃緊決戰決勝 脫貧攻堅這根弦—— 一論決戰決勝脫貧攻堅、如..." in cut
    assert len(cut) >= 5
    starts = [title for title, _ in entries if split_truncation(title)[1]]
    assert starts == ["...脫貧攻堅」「決勝全面小康 決戰脫貧攻堅」系列新聞發布會平涼..."]


def test_cut_seed_title_is_a_prefix_of_the_full_title_key(seed_document):
    """DESIGN rule 3: the seed's fragment begins the folded full title (here printed under the headline)."""
    entries = dict(seed_headlines(seed_document))
    fragment = "【決戰決勝脫貧攻堅】玉井鎮召開領導班子中央脫貧攻堅專項巡視..."
    # "【決戰決勝脫貧攻堅】玉井鎮召開…民主生活會 2020-05-21 03:24 來源:澎湃新聞·澎湃號·政務"
    full_line = entries[fragment]
    full_title = full_line.split(" 20")[0]
    assert title_key(full_title).startswith(title_key(fragment))
    assert title_key(full_title) != title_key(fragment)
    # and a simplified reprint of the full title still begins with the traditional fragment
    assert title_key("【决战决胜脱贫攻坚】玉井镇召开领导班子中央脱贫攻坚专项巡视“回头看”问题整改专题民主生活会"
                     ).startswith(title_key(fragment))


# ----------------------------------------------------------------------------------------------------
# strip_outlet_suffix
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "publisher", "expected"),
    [
        # people.com.cn: "标题--频道--人民网" (with the page's trailing space) and "标题_新闻_人民网"
        ("女儿出嫁，郑板桥画了几笔兰花当嫁妆--文化--人民网 ", None, ("女儿出嫁，郑板桥画了几笔兰花当嫁妆", "人民网")),
        ("决战决胜脱贫攻坚要抓好三个重点_新闻_人民网", None, ("决战决胜脱贫攻坚要抓好三个重点", "人民网")),
        ("決戰決勝脫貧攻堅要抓好三個重點--觀點--人民網", None, ("決戰決勝脫貧攻堅要抓好三個重點", "人民網")),
        ("决战决胜脱贫攻坚要抓好三个重点｜人民网", None, ("决战决胜脱贫攻坚要抓好三个重点", "人民网")),
        ("决战决胜脱贫攻坚要抓好三个重点丨人民网", None, ("决战决胜脱贫攻坚要抓好三个重点", "人民网")),
        # other portals' templates, from the real pages' <title>
        ("港特首梁振英就住宅违建事件道歉 - BBC中文网 - 两岸三地", None,
         ("港特首梁振英就住宅违建事件道歉", "BBC中文网")),
        ("【中国稳健前行】坚定实施扩大内需战略 -中新网", None, ("【中国稳健前行】坚定实施扩大内需战略", "中新网")),
        ("\n法国全国大罢工再次严重影响交通-新华网\n", None, ("法国全国大罢工再次严重影响交通", "新华网")),
        ("棱镜|数据业大整顿：爬虫与现金贷共生共荣，用户信息几元不等_财经_腾讯网", None,
         ("棱镜|数据业大整顿：爬虫与现金贷共生共荣，用户信息几元不等", "腾讯网")),
        ("陈同佳刑满出狱 向潘晓颖家人鞠躬致歉|香港_新浪新闻", None,
         ("陈同佳刑满出狱 向潘晓颖家人鞠躬致歉", "新浪新闻")),
        ("9年來第1次戰勝詹姆斯!NBA歷史第二差紀錄終結-體育新聞-新浪新聞中心", None,
         ("9年來第1次戰勝詹姆斯!NBA歷史第二差紀錄終結", "新浪新聞中心")),
        ("新年伊始，习近平的重要文章谈了啥？_中南海_澎湃新闻-The Paper", None,
         ("新年伊始，习近平的重要文章谈了啥？", "澎湃新闻-The Paper")),
        ("是你嗎？ 1-2月期發票千萬獎開出18張 - 自由財經", None, ("是你嗎？ 1-2月期發票千萬獎開出18張", "自由財經")),
        # the publisher named by the caller (澎湃號 accounts: the suffix names a prefix of the publisher)
        ("【百日攻堅劃重點】決戰決勝脫貧攻堅 - 澎湃新聞", "澎湃新聞·澎湃號·政務",
         ("【百日攻堅劃重點】決戰決勝脫貧攻堅", "澎湃新聞")),
        ("南召縣召開決戰決勝脫貧攻堅誓師大會 - 南陽日報", "南阳日报",
         ("南召縣召開決戰決勝脫貧攻堅誓師大會", "南陽日報")),
        ("南召縣召開決戰決勝脫貧攻堅誓師大會 - 南陽日報", None,
         ("南召縣召開決戰決勝脫貧攻堅誓師大會 - 南陽日報", None)),
        # sohu's keyword tail goes only when the publisher is sohu
        ("视频丨李克强同志遗体在京火化 习近平等到八宝山革命公墓送别_中国共产党_哀悼_前往", "搜狐",
         ("视频丨李克强同志遗体在京火化 习近平等到八宝山革命公墓送别", None)),
        ("视频丨李克强同志遗体在京火化 习近平等到八宝山革命公墓送别_中国共产党_哀悼_前往", None,
         ("视频丨李克强同志遗体在京火化 习近平等到八宝山革命公墓送别_中国共产党_哀悼_前往", None)),
    ],
)
def test_strip_outlet_suffix(title, publisher, expected):
    assert strip_outlet_suffix(title, publisher) == expected


@pytest.mark.parametrize(
    "title",
    [
        # em-dash constructions are headline text, from the seed
        "始終繃緊決戰決勝 脫貧攻堅這根弦—— 一論決戰決勝脫貧攻堅、如",
        "決戰決勝脫貧攻堅——「四支隊伍」幫什麼?",
        "決勝全面建成小康社會決戰脫貧攻堅——普格縣米洛俄補村紀實",
        "促进航天技术更好惠及人民――习近平主席向首届论坛致贺信",
        # a dash, bar or underscore whose tail names no outlet
        "是你嗎？ 1-2月期發票千萬獎開出18張",
        "棱镜|数据业大整顿",
        "独家-腾讯回应用户数据泄露",      # starts with an outlet's name but is not one
        "高考的相关微信公众号文章 – 搜狗微信搜索",
        # no headline would be left
        "人民网",
        "-新华网",
    ],
)
def test_headline_text_is_not_taken_for_a_suffix(title):
    assert strip_outlet_suffix(title) == (title.strip(), None)


def test_people_title_with_horizontal_bars_and_full_width_hyphen(real_fixture):
    html = gzip.decompress(real_fixture("html/people_politics_article_2024.html.gz")).decode("utf-8")
    stripped, outlet = strip_outlet_suffix(page_title(html))
    assert outlet == "人民网"
    assert stripped.startswith("促进航天技术更好惠及人民――习近平主席")
    assert stripped.endswith("“中国－拉美和加勒比国家航天合作论坛”致贺信为中拉深化航天合作指明方向")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("html/people_article_utf8_meta_gb2312_related_news.html", "女儿出嫁，郑板桥画了几笔兰花当嫁妆"),
        ("html/bbc_zhongwen_article_2012.html", "港特首梁振英就住宅违建事件道歉"),
        ("html/chinanews_article_related_relative_links.html", "【中国稳健前行】坚定实施扩大内需战略"),
        ("html/xinhuanet_world_article_related_links.html", "法国全国大罢工再次严重影响交通"),
        ("html/newscn_fortune_article_2023.html", "短缺药品保供稳价 全力保障临床用药需求"),
        ("html/thepaper_article_related_relative_links.html", "新年伊始，习近平的重要文章谈了啥？"),
    ],
)
def test_real_page_titles_lose_their_suffix(real_fixture, path, expected):
    assert strip_outlet_suffix(page_title(real_fixture(path).decode("utf-8")))[0] == expected


def google_news_items(real_fixture) -> list[tuple[str, str]]:
    root = ET.fromstring(real_fixture("feeds/google_news_top_stories_rss_2019.xml"))
    return [(item.findtext("title"), item.findtext("source")) for item in root.iter("item")]


def test_google_news_publisher_suffix_is_dropped_for_every_item(real_fixture):
    items = google_news_items(real_fixture)
    assert len(items) == 38
    for title, source in items:
        stripped, outlet = strip_outlet_suffix(title, source)
        assert title == f"{stripped} - {source}", title
        assert outlet == source


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("Five of the weirdest games in Steelers-Browns history - Pittsburgh Post-Gazette",
         "Pittsburgh Post-Gazette", "Five of the weirdest games in Steelers-Browns history"),
        ('Scarlett Johansson Talks Being Typecast as "Hyper-Sexualized" - Watch - Hollywood Reporter',
         "Hollywood Reporter", 'Scarlett Johansson Talks Being Typecast as "Hyper-Sexualized" - Watch'),
        ("Stocks retreat from record closes for S&P 500 and Dow as U.S. - China trade talks stall - MarketWatch",
         "MarketWatch", "Stocks retreat from record closes for S&P 500 and Dow as U.S. - China trade talks stall"),
    ],
)
def test_google_news_titles_with_dashes_inside(title, source, expected):
    assert strip_outlet_suffix(title, source) == (expected, source)
    # without the <source>, an outlet we do not know is left alone
    assert strip_outlet_suffix(title) == (title, None)


# ----------------------------------------------------------------------------------------------------
# title_key, publisher_key, publishers_compatible
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点--观点--人民网"),
        ("決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点_新闻_人民网"),
        ("李微微:在決戰決勝脫貧攻堅中彰顯政協擔當作為", "李微微：在决战决胜脱贫攻坚中彰显政协担当作为 - 澎湃新闻"),
        ("決戰決勝脫貧攻堅——「四支隊伍」幫什麼?", "决战决胜脱贫攻坚“四支队伍”帮什么？"),
        ("決勝全面小康 決戰脫貧攻堅", "决胜全面小康，决战脱贫攻坚"),
        ("決勝全面小康 決戰脫貧攻堅", "決勝全面小康\u3000決戰脫貧攻堅…"),
        ("ＮＢＡ歷史第二差紀錄終結", "NBA历史第二差纪录终结"),
    ],
)
def test_title_key_equal_across_script_width_punctuation_and_suffix(a, b):
    assert title_key(a) == title_key(b)
    assert title_key(a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("南召縣召開決戰決勝脫貧攻堅誓師大會", "南召县召开决战决胜脱贫攻坚誓师大会第二次"),
        ("【百日攻堅劃重點】決戰決勝脫貧攻堅", "決戰決勝脫貧攻堅"),  # tags are kept for now
        ("決勝全面小康 決戰脫貧攻堅", "決戰全面小康 決勝脫貧攻堅"),
    ],
)
def test_title_key_keeps_different_headlines_apart(a, b):
    assert title_key(a) != title_key(b)


def test_seed_headlines_match_their_simplified_reprints(seed_document):
    """Every seed headline gets the key of its simplified, suffixed, full-width-punctuated reprint."""
    import opencc

    to_simplified = opencc.OpenCC("t2s")
    entries = seed_headlines(seed_document)
    assert len(entries) == 20
    keys = set()
    for title, _ in entries:
        fragment, _, _ = split_truncation(title)
        reprint = to_simplified.convert(fragment).replace(":", "：").replace(",", "，") + "_新闻_人民网"
        assert title_key(title) == title_key(reprint, "人民网"), title
        keys.add(title_key(title))
    assert len(keys) == 20   # no two different seed headlines collapse


def test_title_key_uses_the_publisher_for_the_suffix():
    key = title_key("Nobody knows what’s creating oxygen on Mars - BGR", "BGR")
    assert key == "nobodyknowswhatscreatingoxygenonmars"
    assert title_key("Nobody knows what’s creating oxygen on Mars - BGR").endswith("bgr")


@pytest.mark.parametrize(
    ("publisher", "key"),
    [("澎湃新聞·澎湃號·政務", "澎湃新闻澎湃号政务"), (" 人民網 ", "人民网"), ("ＢＢＣ中文網", "bbc中文网"),
     ("", None), (None, None), ("·", None)],
)
def test_publisher_key(publisher, key):
    assert publisher_key(publisher) == key


@pytest.mark.parametrize(
    ("a", "b", "compatible"),
    [
        ("澎湃新聞·澎湃號·政務", "澎湃新闻", True),
        ("澎湃新闻", "澎湃新聞·澎湃號·政務", True),
        ("人民網", "人民网", True),
        ("人民网", None, True),
        (None, "新华网", True),
        ("", "新华网", True),
        ("人民网", "新华网", False),
        ("华夏时报", "澎湃新闻", False),
    ],
)
def test_publishers_compatible(a, b, compatible):
    assert publishers_compatible(a, b) is compatible


# ----------------------------------------------------------------------------------------------------
# canonical_url
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html",
         "http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html"),
        # http and https alike; scheme and host lower-case; default ports dropped
        ("HTTPS://Politics.People.com.CN:443/n1/2024/0424/c1001-40223222.html",
         "http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html"),
        ("http://www.xinhuanet.com:80/world/2019-12/10/c_1125327450.htm",
         "http://www.xinhuanet.com/world/2019-12/10/c_1125327450.htm"),
        ("https://example.org:8443/a", "http://example.org:8443/a"),
        # fragment and tracking parameters dropped, the rest sorted, blank values kept
        ("https://www.thepaper.cn/newsDetail_forward_5420361?utm_source=wx&utm_medium=share#comments",
         "http://www.thepaper.cn/newsDetail_forward_5420361"),
        ("https://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml?from=timeline&spm=a.b.c",
         "http://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml"),
        ("https://example.org/list?page=2&fbclid=x&cat=news&q=&GCLID=1",
         "http://example.org/list?cat=news&page=2&q="),
        ("https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1&sn=abc&scene=21#wechat_redirect",
         "http://mp.weixin.qq.com/s?__biz=MzA&idx=1&mid=1&sn=abc"),
        ("https://example.org/a?b=2&a=1&a=0", "http://example.org/a?a=0&a=1&b=2"),
        ("https://example.org/a?flag&b=", "http://example.org/a?b=&flag"),
        # empty path, trailing dot in host, dot segments
        ("https://Example.org", "http://example.org/"),
        ("https://example.org.?x=1", "http://example.org/?x=1"),
        ("http://example.org/a/./b/../c.html", "http://example.org/a/c.html"),
        # percent-encoding: upper-case hex, unreserved decoded, UTF-8 for raw non-ASCII
        ("http://example.org/%7euser/%e6%96%b0", "http://example.org/~user/%E6%96%B0"),
        ("http://example.org/新闻?q=脱贫", "http://example.org/%E6%96%B0%E9%97%BB?q=%E8%84%B1%E8%B4%AB"),
        # GBK-encoded query (sogou) is kept byte for byte, never decoded as UTF-8
        ("https://weixin.sogou.com/weixin?query=%b8%df%bf%bc&type=2",
         "http://weixin.sogou.com/weixin?query=%B8%DF%BF%BC&type=2"),
        # IDN host
        ("http://例子.中国/", "http://xn--fsqu00a.xn--fiqs8s/"),
        ("http://XN--FSQU00A.XN--FIQS8S/", "http://xn--fsqu00a.xn--fiqs8s/"),
        # protocol-relative links (tencent list page)
        ("//new.qq.com/omn/20200707/20200707A0KJ5D00.html", "http://new.qq.com/omn/20200707/20200707A0KJ5D00.html"),
        ("  https://example.org/a  ", "http://example.org/a"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize("base, href, expected", [
    ("https://news.qq.com/", "//new.qq.com/omn/a.html", "https://new.qq.com/omn/a.html"),
    ("http://a.example/x/y.html", "../z.html", "http://a.example/z.html"),
    ("http://a.example/", "javascript:void(0)", None),
    ("http://a.example/", "  ", None),
    ("http://a.example/", None, None),
    ("http://a.example/", "http://[::1", None),
    ("http://a.example/", "mailto:someone@example.org", None),
    ("http://a.example/x/", "ht\ntp://b.example/\tc", "http://b.example/c"),   # browsers drop tabs/newlines
    # urllib's urljoin would write "http:/www.he.xinhuanet.com" here (it drops empty path segments).
    ("https://web.archive.org/web/2012/http://www.he.xinhuanet.com/news/a.htm", "b.htm",
     "https://web.archive.org/web/2012/http://www.he.xinhuanet.com/news/b.htm"),
])
def test_resolve_link(base, href, expected):
    assert resolve_link(base, href) == expected


# The reference resolution examples of RFC 3986 section 5.4.
RFC3986_EXAMPLES = {
    "g:h": "g:h", "g": "http://a/b/c/g", "./g": "http://a/b/c/g", "g/": "http://a/b/c/g/", "/g": "http://a/g",
    "//g": "http://g", "?y": "http://a/b/c/d;p?y", "g?y": "http://a/b/c/g?y", "#s": "http://a/b/c/d;p?q#s",
    "g#s": "http://a/b/c/g#s", "g?y#s": "http://a/b/c/g?y#s", ";x": "http://a/b/c/;x", "g;x": "http://a/b/c/g;x",
    "": "http://a/b/c/d;p?q", ".": "http://a/b/c/", "./": "http://a/b/c/", "..": "http://a/b/", "../": "http://a/b/",
    "../g": "http://a/b/g", "../..": "http://a/", "../../": "http://a/", "../../g": "http://a/g",
    "../../../g": "http://a/g", "../../../../g": "http://a/g", "/./g": "http://a/g", "/../g": "http://a/g",
    "g.": "http://a/b/c/g.", ".g": "http://a/b/c/.g", "g..": "http://a/b/c/g..", "..g": "http://a/b/c/..g",
    "./../g": "http://a/b/g", "./g/.": "http://a/b/c/g/", "g/./h": "http://a/b/c/g/h", "g/../h": "http://a/b/c/h",
    "g;x=1/./y": "http://a/b/c/g;x=1/y", "g;x=1/../y": "http://a/b/c/y", "g?y/./x": "http://a/b/c/g?y/./x",
    "g?y/../x": "http://a/b/c/g?y/../x", "g#s/./x": "http://a/b/c/g#s/./x", "g#s/../x": "http://a/b/c/g#s/../x",
    "http:g": "http://a/b/c/g",   # RFC 3986 allows either reading; browsers use this one
}


@pytest.mark.parametrize("reference", sorted(RFC3986_EXAMPLES))
def test_join_url_follows_rfc3986(reference):
    assert join_url("http://a/b/c/d;p?q", reference) == RFC3986_EXAMPLES[reference]


@pytest.mark.parametrize(("url", "site"), [
    ("http://culture.people.com.cn/n1/x.html", "people.com.cn"),
    ("https://www.thepaper.cn/newsDetail_forward_1", "thepaper.cn"),
    ("https://news.ltn.com.tw/news/1", "ltn.com.tw"),
    ("http://127.0.0.1:8000/news/a.html", "127.0.0.1"),
    ("http://localhost/a", "localhost"),
])
def test_site_of(url, site):
    assert site_of(url) == site

# canonical_url and join_url share one dot-segment remover (RFC 3986 5.2.4); these are the keys canonical_url gave
# with its own remover before, pinned so that stored identity keys never change.
@pytest.mark.parametrize(("url", "canonical"), [
    ("http://example.org/..", "http://example.org/"),
    ("http://example.org/a/..", "http://example.org/"),
    ("http://example.org/a/.", "http://example.org/a/"),
    ("http://example.org/.", "http://example.org/"),
    ("http://example.org//a/../b", "http://example.org//b"),
    ("http://example.org/a//../b", "http://example.org/a/b"),
    ("http://example.org/%2E%2E/a/%2e/b", "http://example.org/a/b"),
    ("http://example.org/a/b/../../../c", "http://example.org/c"),
    ("http://example.org/./a?x=/../y", "http://example.org/a?x=/../y"),
    ("http://example.org/a/.../b/..a/.b", "http://example.org/a/.../b/..a/.b"),
    ("http://example.org/web/2012/http://www.he.xinhuanet.com/./x.htm",
     "http://example.org/web/2012/http://www.he.xinhuanet.com/x.htm"),
    ("http://example.org/a/./b/..", "http://example.org/a/"),
])
def test_canonical_url_removes_dot_segments(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(("path", "expected"), [
    ("/a/b/../c", "/a/c"), ("/..", "/"), ("/a//../b", "/a/b"), ("//a/../b", "//b"), ("/a/.", "/a/"),
    ("/no/dots", "/no/dots"),
    ("a/../b", "b"), ("./a", "a"), ("..", ""), ("a/./b/", "a/b/"),     # a relative path stays relative
])
def test_remove_dot_segments(path, expected):
    assert urls.remove_dot_segments(path) == expected


def test_join_url_keeps_a_relative_result_relative():
    assert join_url("mailto:x", "mailto:a/../b") == "mailto:b"
    assert join_url("", "a/./b/../c") == ":a/c"


@pytest.mark.parametrize(
    "odd",
    ["", "   ", "not a url", "www.sohu.com/a/733320600_429139", "/ll/2020/07-08/9232619.shtml",
     "mailto:someone@example.org", "javascript:void(0)", "http://[::1", "http://example.org:port/",
     "http://", "ftp://example.org/file"],
)
def test_canonical_url_returns_odd_input_stripped(odd):
    assert canonical_url(odd) == odd.strip()
    assert canonical_url(f"  {odd}\n") == odd.strip()


def test_canonical_url_is_idempotent_and_equates_variants():
    variants = [
        "https://www.sohu.com/a/733320600_429139?spm=smpc.content.share.1&scm=1",
        "http://WWW.SOHU.COM:80/a/733320600_429139?scm=1#comment",
        "http://www.sohu.com/a/733320600_429139?scm=1&utm_campaign=x",
    ]
    keys = {canonical_url(v) for v in variants}
    assert keys == {"http://www.sohu.com/a/733320600_429139?scm=1"}
    key = keys.pop()
    assert canonical_url(key) == key


def test_tracking_parameter_list_is_documented():
    assert {"spm", "from", "fbclid", "gclid", "scene", "share_token"} <= urls.TRACKING_PARAMS
    assert urls.TRACKING_PREFIXES == ("utm_",)


# ----------------------------------------------------------------------------------------------------
# parse_date, iso, zone
# ----------------------------------------------------------------------------------------------------

REFERENCE = datetime(2020, 12, 15, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 822, no space before the offset (acnnewswire feed), and GMT (Google News)
        ("Sat, 31 Dec 2005 06:15:55+0900", "2005-12-31T06:15:55+09:00"),
        ("Thu, 14 Nov 2019 15:28:00 GMT", "2019-11-14T15:28:00+00:00"),
        ("Mon, 13 Jan 2014 10:00:00 +0600", "2014-01-13T10:00:00+06:00"),
        ("Thu, 14 Nov 2019 15:28:00 -0000", "2019-11-14T15:28:00+00:00"),
        ("Thu, 14 Nov 2019 15:28:00", "2019-11-14T15:28:00+08:00"),      # no zone: read in tz
        ("November 14, 2019 3:28 PM", "2019-11-14T15:28:00+08:00"),     # dateutil
        # ISO 8601 (dc:date, Atom 0.3 modified, sitemaps)
        ("2005-12-31T04:10:06+08:00", "2005-12-31T04:10:06+08:00"),
        ("2005-10-09T14:24:12Z", "2005-10-09T14:24:12+00:00"),
        ("2011-04-18T12:30:00.123-04:00", "2011-04-18T12:30:00-04:00"),
        ("2020-12-11T18:56:00", "2020-12-11T18:56:00+08:00"),
        # w3cn's non-RFC pubDate: no zone, no zero padding -> read in tz
        ("2005-5-28 16:05:36", "2005-05-28T16:05:36+08:00"),
        # Chinese list-page forms
        ("2020年12月11日 18:56", "2020-12-11T18:56:00+08:00"),
        ("2020年12月11日18:56", "2020-12-11T18:56:00+08:00"),
        ("2020年12月11日", "2020-12-11T00:00:00+08:00"),
        ("2020年12月11日 18時56分", "2020-12-11T18:56:00+08:00"),
        ("2020-12-11 18:56", "2020-12-11T18:56:00+08:00"),
        ("2020/12/11", "2020-12-11T00:00:00+08:00"),
        ("2020.12.11 18:56:07", "2020-12-11T18:56:07+08:00"),
        # inside longer text (the seed's lines)
        ("【百日攻堅劃重點】決戰決勝脫貧攻堅 2020-12-11 18:56 來源:澎湃新聞·澎湃號·政務", "2020-12-11T18:56:00+08:00"),
        ("來源:澎湃新聞 2020-12-11 18:56", "2020-12-11T18:56:00+08:00"),
        ("2020-12-15 人民網", "2020-12-15T00:00:00+08:00"),
        ("华声在线12月8日讯(湖南日报·华声在线记者 周帙恒)", "2020-12-08T00:00:00+08:00"),
        # no year: the reference's year ...
        ("12月8日", "2020-12-08T00:00:00+08:00"),
        ("12月8日 18:56", "2020-12-08T18:56:00+08:00"),
        ("12-08 18:56", "2020-12-08T18:56:00+08:00"),
        ("12月17日上午", "2020-12-17T00:00:00+08:00"),   # two days ahead is still this year
        # ... or the year before when the date would be more than two days after it
        ("12月18日", "2019-12-18T00:00:00+08:00"),
        ("12-31 23:59", "2019-12-31T23:59:00+08:00"),
        # Unix timestamps (sogou's timeConvert('1498908951'))
        ("1498908951", "2017-07-01T19:35:51+08:00"),
        ("1498908951000", "2017-07-01T19:35:51+08:00"),
        (1607684160, "2020-12-11T18:56:00+08:00"),
        # relative forms, against the reference
        ("3小时前", "2020-12-15T06:00:00+08:00"),
        ("昨天 18:56", "2020-12-14T18:56:00+08:00"),
    ],
)
def test_parse_date_forms(value, expected):
    assert iso(parse_date(value, "Asia/Shanghai", reference=REFERENCE)) == expected


@pytest.mark.parametrize(
    "junk",
    [None, "", "   ", "junk", "今日头条", "第3期", "1-2月期發票千萬獎開出18張", "2020", "v2.0", "13:45",
     "2020-13-45", "2月30日", "9999999999999999", "c_1125327450.htm", "<b>12</b>", b"\xff\xfe", [], {},
     True, float("nan"), "0000-00-00 00:00:00"],
)
def test_parse_date_junk_is_none(junk):
    assert parse_date(junk, "Asia/Shanghai", reference=REFERENCE) is None


def test_parse_date_struct_time_is_utc():
    parsed = time.strptime("2019-11-14 15:28:00", "%Y-%m-%d %H:%M:%S")   # what feedparser gives
    result = parse_date(parsed, "Asia/Shanghai")
    assert result == datetime(2019, 11, 14, 15, 28, tzinfo=UTC)
    assert iso(result) == "2019-11-14T23:28:00+08:00"


def test_parse_date_datetimes():
    naive = datetime(2020, 12, 11, 18, 56)
    assert iso(parse_date(naive, "Asia/Shanghai")) == "2020-12-11T18:56:00+08:00"
    aware = datetime(2020, 12, 11, 10, 56, tzinfo=UTC)
    assert parse_date(aware, "Asia/Shanghai") is aware
    assert iso(parse_date(date(2020, 12, 11), SHANGHAI)) == "2020-12-11T00:00:00+08:00"


def test_parse_date_zone_and_reference_variants():
    # tz given as a tzinfo; a naive reference is read in tz
    assert iso(parse_date("12月8日", CST, reference=datetime(2021, 1, 3))) == "2020-12-08T00:00:00+08:00"
    assert iso(parse_date("2005-5-28 16:05:36", "UTC")) == "2005-05-28T16:05:36+00:00"
    assert iso(parse_date("2005-5-28 16:05:36", "America/New_York")) == "2005-05-28T16:05:36-04:00"


def test_parse_date_without_reference_uses_now():
    now = datetime.now(SHANGHAI)
    result = parse_date(f"{now.month}月{now.day}日", "Asia/Shanghai")
    assert result is not None and result.date() == now.date()


def test_parse_date_reads_real_feed_dates(real_fixture):
    body = real_fixture("feeds/w3cn_rss2_gb2312_nonrfc_dates.xml").decode("gb2312")
    dates = re.findall(r"<pubDate>([^<]*)</pubDate>", body)
    assert dates and all(parse_date(d, "Asia/Shanghai") is not None for d in dates)
    body = real_fixture("feeds/acnnewswire_rss2_gb2312.xml").decode("gb2312")
    dates = re.findall(r"<pubDate>([^<]*)</pubDate>", body)
    assert iso(parse_date(dates[0], "Asia/Shanghai")) == "2005-12-31T06:15:55+09:00"


@pytest.mark.parametrize(("text", "expected"), [
    ("Sat, 31 Dec 2005 06:15:55+0900", datetime(2005, 12, 31, 6, 15, 55, tzinfo=timezone(timedelta(hours=9)))),
    ("Thu, 14 Nov 2019 15:28:00 GMT", datetime(2019, 11, 14, 15, 28, tzinfo=UTC)),
    ("Mon, 13 Jan 2014 10:00:00 EST", datetime(2014, 1, 13, 10, 0, tzinfo=timezone(timedelta(hours=-5)))),
    ("2011-04-18T11:06:36Z", datetime(2011, 4, 18, 11, 6, 36, tzinfo=UTC)),
    (" 2020-12-15T08:10:00+08:00 ", datetime(2020, 12, 15, 8, 10, tzinfo=CST)),
    ("2020-12-15 08:10:00+08:00", datetime(2020, 12, 15, 8, 10, tzinfo=CST)),
    # no offset of its own: left for parse_date to read in the configured zone
    ("2020-12-11", None), ("2020-12-11T18:56", None), ("2005-5-28 16:05:36", None),
    ("Thu, 14 Nov 2019 15:28:00 -0000", None), ("Thu, 14 Nov 2019 15:28:00", None),
    ("", None), (None, None), ("3小时前", None),
])
def test_parse_zoned(text, expected):
    result = parse_zoned(text)
    assert result == expected and (result is None or result.utcoffset() == expected.utcoffset())


@pytest.mark.parametrize("real_feed", ["acnnewswire_rss2_gb2312.xml", "google_news_top_stories_rss_2019.xml",
                                       "oschina_news_rss2_utf8.xml", "coolloud_rss1_rdf_big5.xml"])
def test_a_zoned_date_is_the_same_whichever_reads_it(real_fixture, real_feed):
    """A kind may keep a zoned date as a datetime (parse_zoned) or as text: the pipeline's parse_date agrees."""
    body = real_fixture(f"feeds/{real_feed}").decode("utf-8", "replace")
    texts = re.findall(r"<(pubDate|dc:date|updated|published)>([^<]*)</\1>", body)
    zoned = [parse_zoned(text) for _, text in texts]
    assert any(zoned)
    for (_, text), value in zip(texts, zoned, strict=True):
        if value is not None:
            for tz in ("Asia/Shanghai", "UTC"):
                read = parse_date(text, tz)
                assert read == value and read.utcoffset() == value.utcoffset()


def test_unknown_zone_is_a_clear_error():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        parse_date("2020-12-11", "Mars/Olympus")
    assert zone("Asia/Shanghai") is SHANGHAI


def test_iso():
    assert iso(datetime(2020, 12, 11, 18, 56, 7, 123456, tzinfo=SHANGHAI)) == "2020-12-11T18:56:07+08:00"
    assert iso(datetime(2020, 12, 11, 10, 56, tzinfo=UTC)) == "2020-12-11T10:56:00+00:00"
    assert iso(None) is None
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2020, 12, 11, 18, 56))
