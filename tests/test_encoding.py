"""monitor.core.encoding: real GB2312/Big5 pages and feeds, lying meta charsets, GBK-only characters."""

from __future__ import annotations

import codecs
import re

import pytest

from monitor.config import load_config
from monitor.core.encoding import (
    charset_from_content_type,
    declared_charset,
    declared_charsets,
    decode_body,
    garbled_reason,
    normalize_charset,
)
from monitor.core.errors import ScrapeError
from monitor.core.page import read_page
from monitor.service import Monitor
from scrapers import get_kind
from scrapers.html import scrape_html
from tests.fetch_server import answer, serve
from tests.helpers import fetch_page, write_config


def decode_document(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """The text and codec ``decode_body`` reads ``body`` as (what most cases here compare)."""
    decoded = decode_body(body, header_charset)
    return decoded.text, decoded.codec


GBK_ONLY_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    "<title>新闻列表</title></head><body><ul>"
    '<li><a href="/a.html">朱镕基会见外宾</a></li>'
    '<li><a href="/b.html">陶喆新专辑发布</a></li>'
    "</ul></body></html>"
)


def title_of(text: str) -> str:
    match = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
    assert match, "no <title> in the decoded text"
    return " ".join(match.group(1).split())


# --- real legacy-encoded bytes ------------------------------------------------------------------------------

def test_real_gb2312_feed_is_decoded_as_gb18030(real_fixture):
    text, encoding = decode_document(real_fixture("feeds/acnnewswire_rss2_gb2312.xml"))
    assert encoding == "gb18030"
    assert "亚洲开发银行新闻稿亚行贷款力推中国河南省海河流域环境污染治理" in text
    assert "\ufffd" not in text


def test_wayback_xinhua_page_skips_script_charset_and_uses_meta_gb2312(real_fixture):
    body = real_fixture("html/xinhuanet_hebei_article_gb2312_wayback.html")
    # The Wayback banner's <script charset="utf-8"> comes first; only the <meta> declares the page's encoding.
    assert body.index(b'charset="utf-8"') < body.index(b"charset=gb2312")
    assert declared_charset(body) == "gb2312"
    text, encoding = decode_document(body)
    assert encoding == "gb18030"
    assert title_of(text) == "话剧《约定无期限》河北各市巡演结束"
    assert text == body.decode("gbk")
    assert "\ufffd" not in text


def test_wayback_xinhua_with_a_lying_utf8_header_still_reads_the_meta(real_fixture):
    # A header charset that does not decode strictly is ignored, and so is the script's charset.
    body = real_fixture("html/xinhuanet_hebei_article_gb2312_wayback.html")
    text, encoding = decode_document(body, "utf-8")
    assert encoding == "gb18030"
    assert title_of(text) == "话剧《约定无期限》河北各市巡演结束"


def test_real_big5_feed_is_decoded_as_big5hkscs(real_fixture):
    text, encoding = decode_document(real_fixture("feeds/coolloud_rss1_rdf_big5.xml"))
    assert encoding == "big5hkscs"
    assert "<title>苦勞網</title>" in text
    assert "不見棺材不走人 進輪自救會長期抗戰" in text


@pytest.mark.parametrize("name, title", [
    ("html/people_article_utf8_meta_gb2312_related_news.html", "女儿出嫁，郑板桥画了几笔兰花当嫁妆"),
    ("html/qq_article_utf8_meta_gb2312.html", None),
    ("html/netease_rolling_news_list_utf8_meta_gb2312.html", "最新滚动新闻_网易新闻中心"),
])
def test_utf8_pages_with_a_lying_gb2312_meta_are_utf8(real_fixture, name, title):
    body = real_fixture(name)
    assert declared_charset(body) == "gb2312"
    text, encoding = decode_document(body)
    assert encoding == "utf-8"
    assert text == body.decode("utf-8")
    if title:
        assert title in title_of(text)


def test_utf8_beats_a_gbk_header_too(real_fixture):
    body = real_fixture("html/qq_article_utf8_meta_gb2312.html")
    text, encoding = decode_document(body, "GBK")
    assert encoding == "utf-8"
    assert text == body.decode("utf-8")


def test_windows1251_feed_stays_correct(real_fixture):
    text, encoding = decode_document(real_fixture("feeds/oren_ru_news_rss_windows1251.xml"))
    assert encoding == "cp1251"
    assert "Новости Оренбурга и области / Раздел Новости" in text


def test_iso8859_1_declaration_is_read_as_windows1252(real_fixture):
    text, encoding = decode_document(real_fixture("feeds/jn_pt_news_rss_iso8859_1.xml"))
    assert encoding == "cp1252"
    assert "Jornal de Notícias - Últimas Notícias" in text


@pytest.mark.parametrize("name, expected, text_in", [
    ("feeds/feedparser_gb2312_no_declaration.xml", "gb18030", "不归移民漫画系列：专业工作"),
    ("feeds/hexun_feed_url_returns_html_gb2312_undeclared.xml", "gb18030", "和讯博客 -- 系统维护中"),
    ("feeds/feedparser_big5_atom_no_declaration.xml", "big5hkscs", "成中文"),
])
def test_undeclared_legacy_encodings_are_detected(real_fixture, name, expected, text_in):
    body = real_fixture(name)
    assert declared_charsets(body) == []
    text, encoding = decode_document(body)
    assert encoding == expected
    assert text_in in text


# --- composed cases -----------------------------------------------------------------------------------------

def test_page_declaring_gb2312_with_gbk_only_characters():
    body = GBK_ONLY_PAGE.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")          # the premise: strict GB2312 cannot read 镕/喆
    text, encoding = decode_document(body)
    assert encoding == "gb18030"
    assert text == GBK_ONLY_PAGE
    assert "朱镕基会见外宾" in text and "陶喆新专辑发布" in text


def test_gbk_page_with_a_gb2312_header_and_no_meta():
    page = GBK_ONLY_PAGE.replace('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', "")
    text, encoding = decode_document(page.encode("gbk"), "gb2312")
    assert (text, encoding) == (page, "gb18030")


def test_gbk_page_with_no_charset_anywhere_is_detected():
    page = (
        "<html><head><title>脱贫攻坚新闻</title></head><body><ul>"
        + "".join(f'<li><a href="/n{i}.html">{t}</a></li>' for i, t in enumerate([
            "习近平在全国脱贫攻坚总结表彰大会上的讲话",
            "国务院扶贫办：我国脱贫攻坚战取得了全面胜利",
            "乡村振兴局正式挂牌 巩固拓展脱贫攻坚成果",
            "朱镕基谈经济体制改革的历史经验",
            "各地扎实推进精准扶贫精准脱贫工作",
        ]))
        + "</ul></body></html>"
    )
    body = page.encode("gbk")
    assert declared_charsets(body) == []
    text, encoding = decode_document(body)
    assert encoding == "gb18030"
    assert text == page


def test_big5_declaration_is_widened_to_hkscs():
    page = '<html><head><meta charset="big5"><title>香港新聞</title></head><body>𨋢 升降機</body></html>'
    body = page.encode("big5hkscs")
    with pytest.raises(UnicodeDecodeError):
        body.decode("big5")
    assert decode_document(body) == (page, "big5hkscs")


@pytest.mark.parametrize("bom, codec", [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
])
def test_bom_wins_and_is_removed(bom, codec):
    page = '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>新闻</title></channel></rss>'
    body = bom + page.encode(codec)
    assert decode_document(body, "iso-8859-1") == (page, codec)


def test_real_utf8_bom_feed(real_fixture):
    text, encoding = decode_document(real_fixture("feeds/feedparser_utf8_bom.xml"))
    assert encoding == "utf-8"
    assert text.startswith("<?xml")


@pytest.mark.parametrize("header", ["ISO-8859-1", "latin1", "us-ascii", "windows-1252"])
def test_latin1_family_header_does_not_outrank_the_meta(header):
    """Servers default to charset=ISO-8859-1, and every byte string "decodes" as Latin-1: the meta wins."""
    body = GBK_ONLY_PAGE.encode("gbk")
    assert decode_document(body, header) == (GBK_ONLY_PAGE, "gb18030")


def test_latin1_header_is_used_when_nothing_else_is_known(monkeypatch):
    import charset_normalizer

    class NoGuess:
        def best(self):
            return None

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda body: NoGuess())
    body = "<p>Jornal de Notícias – Últimas</p>".encode("cp1252")
    assert decode_document(body, "ISO-8859-1") == ("<p>Jornal de Notícias – Últimas</p>", "cp1252")


def test_latin1_header_on_utf8_text_is_a_lie():
    body = "<html><body>脱贫攻坚 résumé</body></html>".encode()
    assert decode_document(body, "ISO-8859-1") == (body.decode("utf-8"), "utf-8")


def test_pure_ascii_without_declarations():
    assert decode_document(b"<rss><channel/></rss>") == ("<rss><channel/></rss>", "ascii")
    assert decode_document(b"") == ("", "utf-8")


def test_undecodable_bytes_never_raise():
    text, encoding = decode_document(b"<p>\x81\x30</p>" + "正文".encode("gb18030"), "utf-8")
    assert isinstance(text, str) and encoding


def test_without_a_detection_the_last_resort_is_gb18030_with_replacement(monkeypatch):
    import charset_normalizer

    class NoGuess:
        def best(self):
            return None

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda body: NoGuess())
    body = b"<p>\x81\x30</p>" + "正文".encode("gb18030")
    text, encoding = decode_document(body, "utf-8")
    assert encoding == "gb18030"
    assert text == "<p>\ufffd0</p>正文"


def test_bogus_header_charsets_are_ignored():
    page = '<meta charset="gbk"><p>新闻</p>'
    for header in ("base64", "no-such-charset", "rot13", "utf-16", ""):
        assert decode_document(page.encode("gbk"), header) == (page, "gb18030"), header


# --- declared_charset ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("head, expected", [
    (b'<?xml version="1.0" encoding="GB2312" ?><rss/>', "gb2312"),
    (b"<?xml version='1.0' encoding='big5'?>", "big5"),
    (b'<html><head><meta charset="utf-8"></head>', "utf-8"),
    (b"<html><head><meta charset=gbk></head>", "gbk"),
    (b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312" />', "gb2312"),
    (b'<META CONTENT="text/html;charset=x-gbk" HTTP-EQUIV="content-type">', "x-gbk"),
    (b'<script src="a.js" charset="utf-8"></script><meta charset="gb2312">', "gb2312"),
    (b'<!-- <meta charset="utf-8"> --><meta charset="big5">', "big5"),
    (b'<script>document.write("<meta charset=utf-8>")</script><meta charset="gbk">', "gbk"),
    (b'<meta charset="utf-16">', None),
    (b"<html><head><title>none</title></head>", None),
    (b"", None),
])
def test_declared_charset(head, expected):
    assert declared_charset(head) == expected


def test_declared_charset_only_looks_at_the_head():
    assert declared_charset(b" " * 5000 + b'<meta charset="gbk">') is None


def test_declared_charsets_lists_all_in_order():
    head = b'<?xml version="1.0" encoding="gb2312"?><meta charset="big5"><meta charset="GB2312">'
    assert declared_charsets(head) == ["gb2312", "big5"]


def test_second_declaration_is_used_when_the_first_does_not_decode():
    page = '<meta charset="utf-8"><meta charset="gbk"><title>陶喆</title>'
    text, encoding = decode_document(page.encode("gbk"))
    assert (text, encoding) == (page, "gb18030")


@pytest.mark.parametrize("label, codec", [
    ("GB2312", "gb2312"), ("x-gbk", "gbk"), ("cp936", "gbk"), ("Big5", "big5"), ("windows-1251", "cp1251"),
    ("UTF8", "utf-8"), ('"utf-8"', "utf-8"), ("base64", None), ("nonsense", None), (None, None),
])
def test_normalize_charset(label, codec):
    assert normalize_charset(label) == codec


def test_charset_from_content_type():
    assert charset_from_content_type("text/html; charset=GBK") == "GBK"
    assert charset_from_content_type('application/rss+xml;charset="utf-8"') == "utf-8"
    assert charset_from_content_type("text/html") is None
    assert charset_from_content_type(None) is None


# --- garbled text is refused, not stored ----------------------------------------------------------------------

TITLES = ["决战决胜脱贫攻坚要抓好三个重点", "朱镕基旧居前的精准扶贫故事", "人民网评：乡村振兴看福建", "陶喆新专辑发布"]


@pytest.mark.parametrize("text", [
    pytest.param(" ".join(TITLES), id="chinese"),
    pytest.param("決戰決勝脫貧攻堅要抓好三個重點 鄉村振興看福建", id="traditional"),
    pytest.param("Les élèves à l’école « très » déçus — naïve café; Ärger, Übermaß, Straße", id="european"),
    pytest.param("Москва: новости дня", id="cyrillic"),
    pytest.param("脱贫攻坚" * 20 + "\ufffd", id="one-stray-replacement"),
    pytest.param("", id="empty"),
    pytest.param(" \n ", id="blank"),
])
def test_good_text_is_not_garbled(text):
    assert garbled_reason(text) is None


@pytest.mark.parametrize("texts, phrase", [
    pytest.param([t.encode("utf-8").decode("cp1252", errors="replace") for t in TITLES], "Latin-1",
                 id="utf8-read-as-cp1252"),
    pytest.param([t.encode("utf-8").decode("latin-1") for t in TITLES], "Latin-1", id="utf8-read-as-latin1"),
    pytest.param([t.encode("utf-8").decode("gb18030", errors="replace") for t in TITLES], "GBK",
                 id="utf8-read-as-gbk"),
    pytest.param(["脱贫攻坚".encode().decode("gbk"), "精准扶贫".encode().decode("gbk")], "GBK",
                 id="utf8-read-as-gbk-no-replacement"),
    pytest.param(["\ufffd\ufffd\ufffd\ufffd\ufffd:\ufffd\ufffd\ufffd\ufffd", "\ufffd\ufffd\ufffd"], "U+FFFD",
                 id="mangled-upstream"),
    pytest.param(["決戰決勝脫貧攻堅要抓好三個重點".encode("big5").decode("gb18030", errors="replace")], "private-use",
                 id="big5-read-as-gbk"),
])
def test_mojibake_is_garbled(texts, phrase):
    reason = garbled_reason(texts)
    assert reason is not None and phrase in reason


def test_gb2312_page_with_gbk_only_characters_through_the_fetcher():
    """The issue's case end to end: served with charset=gb2312 in the header and the meta, holding 镕 and 喆."""
    body = GBK_ONLY_PAGE.encode("gbk")
    with serve() as server:
        server.routes["/list.html"] = answer(body=body, headers={"Content-Type": "text/html; charset=gb2312"})
        page = fetch_page(server.url("/list.html"))
    assert page.charset == "gb2312"
    items = scrape_html(page, {"select": {"item": "li"}})
    assert [item.title for item in items] == ["朱镕基会见外宾", "陶喆新专辑发布"]
    assert page.codec == "gb18030"


def mixed_page() -> bytes:
    """GBK headlines and UTF-8 headlines in one page (RSSHub's people.com.cn breakage): no codec reads both."""
    gbk = b"".join(b"<li><a href='/g.html'>" + t.encode("gbk") + b"</a></li>" for t in TITLES[:2])
    utf8 = b"".join(b"<li><a href='/u.html'>" + t.encode("utf-8") + b"</a></li>" for t in TITLES[2:] * 3)
    return b"<html><head><meta charset='gb2312'></head><body><ul>" + gbk + utf8 + b"</ul></body></html>"


def test_html_page_mixing_gbk_and_utf8_fails_with_the_reason():
    page = read_page("http://news.example.cn/list.html", mixed_page(), "text/html")
    with pytest.raises(ScrapeError) as info:
        get_kind("html").items(page, {"select": {"item": "li"}})
    assert info.value.error_class == "encoding"
    message = str(info.value)
    assert "http://news.example.cn/list.html" in message and "garbled" in message and "gb18030" in message


def test_feed_with_mangled_titles_fails_with_the_reason():
    """A feed that is valid UTF-8 but whose titles were destroyed upstream (every character became U+FFFD)."""
    mangled = ["\ufffd" * len(title) for title in TITLES]
    items = "".join(f"<item><title>{t}</title><link>http://news.example.cn/{i}.html</link></item>"
                    for i, t in enumerate(mangled))
    body = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>新闻</title>{items}' \
           "</channel></rss>"
    page = read_page("http://news.example.cn/rss.xml", body.encode("utf-8"), "application/rss+xml")
    with pytest.raises(ScrapeError) as info:
        get_kind("rss").items(page, {})
    assert info.value.error_class == "encoding"
    assert "http://news.example.cn/rss.xml" in str(info.value) and "U+FFFD" in str(info.value)


def test_garbled_page_is_a_failed_run_and_stores_nothing(tmp_path):
    with serve() as server:
        server.routes["/list.html"] = answer(body=mixed_page(), headers={"Content-Type": "text/html"})
        config = write_config(tmp_path, [{"name": "mixed", "kind": "html", "url": server.url("/list.html"),
                                          "every": "1h", "select": {"item": "li"}}])
        monitor = Monitor.open(load_config(config))
        try:
            (result,) = monitor.run_once()
            stored = monitor.store.conn.execute("SELECT count(*) FROM items").fetchone()[0]
            run = monitor.store.conn.execute("SELECT status, error_class, error, encoding FROM runs").fetchone()
        finally:
            monitor.close()
    assert (result.status, result.error_class) == ("error", "encoding")
    assert stored == 0
    assert (run["status"], run["error_class"]) == ("error", "encoding") and "garbled" in run["error"]
    assert f"decoded as {run['encoding']}" in run["error"]     # the run keeps the codec the message blames

