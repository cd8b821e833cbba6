"""Two pages of one site: which page of which site a canonical URL is, and the day it carries.

Headlines alone cannot tell a recurring title from one article: ``Corrections``, ``Lottery Numbers``, 新闻联播 and
每日财经 come back every day with the same words. ``recurring()`` reads the two items' addresses and dates: two
different pages of one site (``distinct_pages``: the same registrable domain, not an AMP, print or
traditional-script copy of one page) on two different days are two articles, whatever their titles; one site's
two pages of one day (a mobile page, a brief filed in two sections) are left to the headline rules. The rules
(``monitor.identity.rules``) ask it after a candidate is found, never in the index.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from monitor.core import urls

# Path segments naming a variant of one page (people.com.cn serves /BIG5/ and /GB/ copies of each article).
VARIANT_SEGMENTS = frozenset({"amp", "print", "big5", "gb"})
# Query parameters that name the article on a page that shows many (show.aspx?id=...); others (a session, a channel,
# a share id) are left out.
ARTICLE_ID_PARAMS = frozenset({"id", "p", "aid", "nid", "artid", "docid", "newsid", "infoid", "itemid", "postid",
                               "storyid", "articleid", "contentid", "article_id", "news_id", "doc_id", "content_id"})
_INDEX_PAGE = re.compile(r"index\.s?html?|default\.aspx?", re.I)
_AMP_SUFFIX = re.compile(r"\.amp(?=\.[a-z]+$|$)", re.I)
_URL_DAY = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?!\d)")


class _Page(NamedTuple):
    site: str                     # the registrable domain: people.com.cn, nytimes.com (www., m., amp. alike)
    path: str                     # the path without variant segments, index page, .amp mark or trailing slash
    ids: tuple[tuple[str, str], ...]   # the query's ARTICLE_ID_PARAMS (id=, p=, newsId=), sorted


@lru_cache(maxsize=8192)
def _page(url_key: str) -> _Page | None:
    """The parts of a canonical URL (``items.url_key``) that say which page of which site it is."""
    if not url_key.startswith("http://"):
        return None
    try:
        parts = urlsplit(url_key)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    segments = [s for s in parts.path.split("/") if s and s.lower() not in VARIANT_SEGMENTS]
    if segments and _INDEX_PAGE.fullmatch(segments[-1]):
        segments.pop()
    if segments:
        segments[-1] = _AMP_SUFFIX.sub("", segments[-1])
    ids = tuple(sorted((name.lower(), value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
                       if name.lower() in ARTICLE_ID_PARAMS))
    return _Page(urls.registrable_domain(host), "/".join(segments), ids)


def distinct_pages(a: str | None, b: str | None) -> bool:
    """True when two canonical URLs are two different pages of one site: the same registrable domain (any host of
    it: ``www.``, ``m.``, ``amp.``, a channel), other paths (or other article ids in the query), and neither a copy
    of the other (``/amp``, ``/print``, ``/BIG5``, ``/GB``, ``.amp``, ``index.html``). Other query parameters are
    left out: sites add their own tracking there. Different sites (syndication), or a missing URL, are never
    distinct. A mobile page under another path (``m.xinhuanet.com/...`` beside ``www.xinhuanet.com/...``) is
    another page: ``recurring`` keeps it with the article when their days agree."""
    if not a or not b or a == b:
        return False
    x, y = _page(a), _page(b)
    if x is None or y is None or x.site != y.site:
        return False
    if x.path != y.path:
        return True
    shared = dict(x.ids).keys() & dict(y.ids).keys()
    return any(dict(x.ids)[name] != dict(y.ids)[name] for name in shared)


@lru_cache(maxsize=8192)
def url_day(url_key: str | None) -> str | None:
    """The date a URL's path carries (``/2011/04/18/``, ``/n1/2020/0306/``, ``/2020-11/23/``, ``/20190923/``) as
    ``YYYY-MM-DD``, or None."""
    page = _page(url_key) if url_key else None
    m = _URL_DAY.search(page.path) if page else None
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def recurring(url_a: str | None, published_a: str | None, url_b: str | None, published_b: str | None) -> bool:
    """True when two items with one headline are a recurring title: two different pages of one site
    (``distinct_pages``) on two different days. The days are the dates the two URLs carry when both do (the
    ``100, 75, 50 Years Ago`` of 18 and 19 April were both published on the 18th), else the publication dates
    (ISO 8601, as stored); with neither, the two cannot be told apart by day: not recurring. The same site's
    two pages of one day with one headline stay one article (a brief filed in two sections of a site)."""
    if not distinct_pages(url_a, url_b):
        return False
    days = url_day(url_a), url_day(url_b)
    if not all(days):
        days = (published_a or "")[:10], (published_b or "")[:10]
    return all(days) and days[0] != days[1]

