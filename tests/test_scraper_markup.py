"""scrapers.markup, the helpers the kinds share: the text of markup, and what a body that is no document is."""

from __future__ import annotations

import pytest

from monitor.core.page import read_page
from scrapers.markup import describe_page, element_text, plain_text

URL = "https://example.org/feed.xml"


def test_plain_text():
    assert plain_text("<img src=x onerror=alert(1)>标题") == "标题"
    assert plain_text("a &lt; b &amp; c") == "a < b & c"
    assert plain_text("a < b") == "a < b"
    assert plain_text("<p>一</p><p>二</p>三<br>四") == "一 二 三 四"
    assert plain_text(" 多个\n\t空白\u3000字符 ") == "多个 空白 字符"
    assert plain_text(None) == ""
    assert plain_text("字" * 10, max_chars=5) == "字字字字…"


def test_element_text_handles_deep_nesting():
    from bs4 import BeautifulSoup

    soup = BeautifulSoup("<span>" * 5000 + "深" + "</span>" * 5000, "html.parser")
    assert element_text(soup) == "深"


@pytest.mark.parametrize(("fragment", "expected"), [
    ("Rating cut by S&P", "Rating cut by S&P"),         # html.parser alone drops a trailing unknown "&P"
    ("<b>AT&T</b> and S&P 500", "AT&T and S&P 500"),
    ("a &amp; b &ldquo;高考&rdquo;", "a & b “高考”"),
    ("&copy 2020", "© 2020"),                           # a legacy entity without ";" is still an entity
])
def test_plain_text_keeps_bare_ampersands(fragment, expected):
    assert plain_text(fragment) == expected


@pytest.mark.parametrize("body, description", [
    (b'{"data": []}', "JSON data"),
    (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>',
     "an XML document whose root element is <urlset> (a sitemap: use kind sitemap)"),
    (b"Service Unavailable", "text starting with 'Service Unavailable'"),
    (b"<html><body>no title</body></html>", "an HTML page"),
])
def test_describe_page(body, description):
    assert describe_page(read_page(URL, body)) == description
