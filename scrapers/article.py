"""Reading an article page: what it says about itself, and the related block it lists.

Not a kind: the ``related`` kind (``scrapers.related``) and the seed's HTML form (``scrapers.seed``) read article
pages with ``read_article_page``; the related block is found by ``scrapers.related_block``. What the page says about
itself:

* **canonical URL**: ``<link rel=canonical>``, else ``og:url``; scheme-less forms (sohu's ``www.sohu.com/a/...``)
  take the page's scheme; relative ones resolve against the page.
* **title**: ``og:title``; else the first non-empty ``<h1>`` that the ``<title>`` contains (sites put their logo in
  an ``<h1>`` too); else the ``<title>`` with its outlet suffix (``--文化--人民网``, ``-新华网``) removed.
* **publisher**: ``<meta name=source>`` (``来源：人民网-文化频道 原创稿``), the visible ``来源：X`` next to the title,
  an element of class or id ``source``, ``og:site_name``, then the outlet named in the ``<title>`` suffix.
* **published**: publication meta tags (``article:published_time``, ``pubdate``, ``publishdate``,
  ``datePublished`` in JSON-LD, ``<time datetime>``...), else the first date printed just after the title. A meta
  tag that gives only a day loses to a visible date-time of the same day (people.com.cn: ``publishdate`` 2019-06-15,
  printed ``2019年06月15日08:18``). The value is kept as written; the pipeline parses it in the configured zone.
* **summary**: ``<meta name=description>``, else ``og:description``.

A source's ``select.title``, ``select.publisher`` and ``select.published`` (field selectors, ``scrapers.markup``)
come first; ``select.related`` is the block's.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.core.dates import parse_date
from monitor.core.fold import fold_text
from monitor.core.model import Article
from monitor.core.outlets import strip_outlet_suffix
from monitor.core.page import Page
from monitor.core.urls import canonical_url, resolve_link, site_label
from scrapers.markup import FieldSelector, base_url_of, collapse_whitespace, element_text
from scrapers.related_block import PRINTED_DATE, RelatedBlock, find_related_block

if TYPE_CHECKING:   # the parser is imported where a page is read: `check` and `status` never load it
    from bs4 import BeautifulSoup

_DATE_WINDOW = 300       # characters after the title searched for its printed date
_YEAR_DATE = re.compile(r"\d{4}\s*[-/.年]")
_TIME_OF_DAY = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}\s*$")
_SOURCE_LABEL = re.compile(r"^\s*(?:[来來]\s*源|出\s*[处處]|source)\s*[:：]?\s*", re.I)
_VISIBLE_SOURCE = re.compile(r"[来來]\s*源\s*[:：]\s*([^\s|｜/,，;；:：]{1,30})")

# Publication-date meta tags, by attribute value (property=, name= or itemprop=), lower-case.
_DATE_META = ("article:published_time", "og:article:published_time", "og:release_date", "datepublished",
              "pubdate", "publishdate", "publish_date", "publishtime", "publish-date", "pubtime", "dc.date.issued",
              "dc.date", "dcterms.created", "sailthru.date", "weibo: article:create_at", "article:create_at",
              "datecreated", "date")


def read_article_page(page: Page, options: dict[str, Any] | None = None) -> tuple[Article, RelatedBlock]:
    """The article page read: its ``Article`` (metadata, heading and related headlines) and the block as listed."""
    select = dict((options or {}).get("select") or {})
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.text, "lxml")
    metas = _meta_values(soup)
    article = Article(url=page.url)
    article.canonical_url = _canonical(soup, metas, page.url)
    page_title = collapse_whitespace(soup.title.get_text(" ")) if soup.title else ""
    title = _selected(soup, select.get("title")) or _title(soup, metas, page_title)
    shown = strip_outlet_suffix(title)[0] if title else None   # as the page prints it above the byline
    body_text = element_text(soup.body) if soup.body else ""
    article.publisher = (_selected(soup, select.get("publisher"))
                         or _publisher(soup, metas, body_text, shown, page_title))
    # The publisher, or else the site's name (sohu), tells an outlet suffix or keyword tail from the headline.
    hint = article.publisher or site_label(article.canonical_url or page.url)
    article.title = strip_outlet_suffix(title, hint)[0] if title else None
    article.published = _selected(soup, select.get("published")) or _published(metas, soup, body_text, shown)
    article.summary = collapse_whitespace(metas.get("description") or metas.get("og:description") or "") or None
    self_keys = {canonical_url(u) for u in (page.url, article.canonical_url) if u}
    block = find_related_block(soup, base_url_of(soup, page.url), self_keys, fold_text(article.title or ""),
                               select.get("related"))
    article.heading = block.heading
    article.related = [headline.raw_item() for headline in block.headlines]
    return article, block


def _meta_values(soup: BeautifulSoup) -> dict[str, str]:
    """``<meta>`` contents by lower-cased property / name / itemprop (the first of each wins)."""
    values: dict[str, str] = {}
    for meta in soup.find_all("meta"):
        content = meta.get("content")
        if not isinstance(content, str) or not content.strip():
            continue
        for attr in ("property", "name", "itemprop"):
            key = meta.get(attr)
            if isinstance(key, str) and key.strip():
                values.setdefault(key.strip().lower(), content.strip())
    return values


def _absolute(value: str | None, page_url: str) -> str | None:
    """A canonical/og:url value made absolute: ``www.sohu.com/a/1`` (no scheme) takes the page's scheme."""
    if not value:
        return None
    value = value.strip()
    if re.match(r"^[\w-]+(\.[\w-]+)+(:\d+)?(/|$)", value) and not re.match(r"^[\w-]+\.(s?html?|php|aspx?)$", value):
        value = f"{urlsplit(page_url).scheme or 'http'}://{value}"
    return resolve_link(page_url, value)


def _canonical(soup: BeautifulSoup, metas: dict[str, str], page_url: str) -> str | None:
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rels = [r.lower() for r in (rel if isinstance(rel, list) else [rel])]
        if "canonical" in rels:
            found = _absolute(str(link["href"]), page_url)
            if found:
                return found
    return _absolute(metas.get("og:url"), page_url)


def _selected(soup: BeautifulSoup, selector: str | None) -> str | None:
    """A configured metadata selector (``"h1.title"``, ``"time@datetime"``); None if unset or nothing matched."""
    if not selector:
        return None
    value = FieldSelector.parse(selector, "select", "related").value(soup)
    return collapse_whitespace(value or "") or None


def _title(soup: BeautifulSoup, metas: dict[str, str], page_title: str) -> str | None:
    og = collapse_whitespace(metas.get("og:title", ""))
    if og:
        return og
    stripped = strip_outlet_suffix(page_title)[0] if page_title else ""
    folded_page_title = fold_text(page_title)
    first_h1 = None
    for h1 in soup.find_all("h1"):
        text = element_text(h1)
        if not fold_text(text):
            continue
        first_h1 = first_h1 or text
        if folded_page_title and fold_text(text) in folded_page_title:
            return text
    return stripped or first_h1


def _after_title(body_text: str, title: str | None, window: int) -> list[str]:
    """The text just after each place the title is printed (the byline sits there)."""
    if not title or not body_text:
        return []
    needle = title.strip()
    spans, start = [], 0
    while needle and (at := body_text.find(needle, start)) >= 0:
        spans.append(body_text[at + len(needle): at + len(needle) + window])
        start = at + len(needle)
    return spans


def _publisher(soup: BeautifulSoup, metas: dict[str, str], body_text: str, title: str | None,
               page_title: str) -> str | None:
    source = metas.get("source")
    if source:
        value = _SOURCE_LABEL.sub("", source).split()
        if value and not value[0].isdigit():
            return value[0]
    for span in _after_title(body_text, title, _DATE_WINDOW):
        match = _VISIBLE_SOURCE.search(span)
        if match:
            return match.group(1)
    for element in soup.select("[class~=source], #source, [class~=article-source], [class~=source-name]"):
        value = _SOURCE_LABEL.sub("", element_text(element))
        if 2 <= len(value) <= 20 and not PRINTED_DATE.search(value):
            return value
    if metas.get("og:site_name"):
        return collapse_whitespace(metas["og:site_name"])
    return strip_outlet_suffix(page_title)[1] if page_title else None


def _published(metas: dict[str, str], soup: BeautifulSoup, body_text: str, title: str | None) -> str | None:
    meta = next((metas[key] for key in _DATE_META if metas.get(key) and PRINTED_DATE.search(metas[key])), None)
    if meta is None:
        meta = _json_ld_date(soup)
    if meta is None:
        node = soup.find("time", attrs={"datetime": True})
        meta = str(node["datetime"]) if node is not None and PRINTED_DATE.search(str(node["datetime"])) else None
    visible = None
    for span in _after_title(body_text, title, _DATE_WINDOW):
        match = next((m for m in PRINTED_DATE.finditer(span) if _YEAR_DATE.match(m.group(0))), None)
        if match:
            visible = match.group(0)
            break
    if meta and visible and not re.search(r"\d[:：]\d", meta) and _TIME_OF_DAY.search(visible) \
            and _same_day(meta, visible):
        return visible
    return meta or visible


def _same_day(meta: str, visible: str) -> bool:
    """Whether a meta tag's date (with a year) and the visible date-time name the same calendar day, as printed."""
    if not _YEAR_DATE.search(meta):
        return False
    day, shown = parse_date(meta, UTC), parse_date(visible, UTC)
    return day is not None and shown is not None and day.date() == shown.date()


def _json_ld_date(soup: BeautifulSoup) -> str | None:
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(script.string or "")
        except (ValueError, TypeError):
            continue
        for record in data if isinstance(data, list) else [data]:
            if isinstance(record, dict) and isinstance(record.get("datePublished"), str):
                return record["datePublished"]
    return None
