"""Kind ``sitemap``: news sitemaps (``<urlset>`` with ``<news:news>``) and sitemap indexes, plain or gzipped.

A source of this kind takes no ``select:``. What is read from each ``<url>``:

* ``<loc>`` -> the link (made absolute against the sitemap's URL; only http(s) kept);
* ``<news:title>`` -> the title (CDATA or escaped text alike);
* ``<news:publication_date>`` -> the date, else ``<lastmod>``;
* ``<news:publication><news:name>`` -> the publisher;
* ``extra`` (stored with the item), each key only when the sitemap gives it: ``lastmod`` (``<lastmod>`` as
  written), ``language`` (``<news:publication><news:language>``), ``keywords``, ``genres`` and ``stock_tickers``
  (``<news:keywords>``, ``<news:genres>``, ``<news:stock_tickers>``, as written: comma-separated text).

Decisions:

* **A URL without a title is skipped** (and counted in a log line). A plain sitemap lists pages, not
  headlines; a title made from the URL (``19military.html``, ``c1001-31967196.html``) would never match a topic,
  and since a merge never replaces a title, it would stay on the item after a feed later shows the real
  headline. Point the source at the site's *news* sitemap (Google News format) instead.
* **A sitemap index** (``<sitemapindex>``) gives no items: its children's ``<loc>`` are returned by
  ``discover_sitemaps`` (registered as the kind's ``discover``), which the pipeline fetches in the same run,
  capped by the source's ``max_pages``, each URL at most once (an index listing itself or a child listing the
  index is no loop). Duplicates and the index's own URL are dropped here as well.
* **Gzip** (``.xml.gz``) is recognised by its magic bytes (``1f 8b``) whatever the Content-Type says, and
  decompressed by the fetcher before the page is decoded (``monitor.fetch``: ``http.max_bytes`` counts the bytes
  after decompression, so a gzip bomb costs little; a broken gzip body is ``decoding``).
* **At most ``MAX_URLS`` (50,000, the protocol's limit) entries per document**; the rest are dropped with a
  warning.
* **Safe, forgiving XML.** The page's text (decoded once by ``monitor.core.page``: a GB2312 declaration over GBK
  bytes is read as GB18030) is parsed incrementally by lxml with no network access, no
  entity resolution, no DTD and libxml2's size limits (``huge_tree=False``); ``recover=True`` reads past minor
  errors (a stray ``&``, a broken tail). Element names are matched by local name, so a sitemap with a missing or
  wrong namespace is still read.
* **Dates.** A W3C date with a zone (``2011-04-18T11:06:36Z``, ``+08:00``) becomes an aware datetime, as does an
  RFC 822 one that names its offset (``monitor.core.dates.parse_zoned``; not the protocol's format, but the
  pipeline reads it the same either way); one without (``2020-12-11``, ``2020-12-11T18:56``) is passed as text
  and read by the pipeline in the configured time zone.
* **Not a sitemap** (an HTML page, a feed, an empty body, some other XML) is ``ScrapeError(not_a_sitemap)``
  saying what the body looks like.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from monitor.core.dates import parse_zoned
from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page
from monitor.core.urls import resolve_link
from scrapers.markup import collapse_whitespace, describe_page, plain_text, xml_bytes
from scrapers.registry import register

log = logging.getLogger(__name__)

MAX_URLS = 50_000                       # sitemaps.org: at most 50,000 URLs per sitemap

_TAG = re.compile(r"<[A-Za-z/!?]")
_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})


def _local(tag: Any) -> str:
    """The local name of an element tag (``{ns}title`` -> ``title``); "" for comments and entities."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child(element: Any, name: str) -> Any | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _strings(element: Any) -> Iterator[str]:
    """The text inside an element; unresolved entity references (``&x;``, never expanded) give nothing."""
    yield element.text or ""
    for child in element:
        if isinstance(child.tag, str):
            yield from _strings(child)
        yield child.tail or ""


def _text(element: Any | None) -> str:
    """The text of an element (CDATA included), whitespace collapsed; tags inside the text stripped."""
    if element is None:
        return ""
    text = "".join(_strings(element))
    if _TAG.search(text):   # escaped markup in a title: "&lt;b&gt;..." arrives here as "<b>..."
        return plain_text(text + " ")
    return collapse_whitespace(text)


def w3c_date(raw: str) -> datetime | str | None:
    """A date with a zone as an aware datetime; without one, the text itself (see the module doc)."""
    raw = raw.strip()
    return (parse_zoned(raw) or raw) if raw else None


class _Document:
    """A sitemap's decoded text made ready for lxml: re-encoded as UTF-8."""

    def __init__(self, page: Page):
        self.page = page
        text = page.text.lstrip("\ufeff \t\r\n")
        self.text_empty = not text
        self.utf8 = xml_bytes(text)

    def elements(self) -> Iterator[tuple[str, Any]]:
        """``("root", root)`` once, then each top-level entry element (``url``/``sitemap``) as it ends."""
        from lxml import etree  # imported where a sitemap is read: `check` and `status` never load it

        parser = etree.iterparse(
            io.BytesIO(self.utf8), events=("start", "end"), encoding="utf-8", no_network=True,
            resolve_entities=False, load_dtd=False, huge_tree=False, recover=True, remove_comments=True,
            remove_pis=True,
        )
        root = None
        try:
            for event, element in parser:
                if root is None:
                    root = element
                    yield "root", element
                    continue
                if event == "end" and element.getparent() is root:
                    yield "entry", element
                    element.clear()
                    while element.getprevious() is not None:   # keep memory flat on 50,000 entries
                        del root[0]
        except etree.XMLSyntaxError as exc:
            if root is None:
                raise self.not_a_sitemap() from exc
            log.warning("sitemap: %s is not well-formed (%s); read what came before", self.page.url, exc)
            return
        # recover=True reads past errors (and libxml2 stops at an entity bomb) without raising: say so.
        errors = [error for error in parser.error_log if error.level_name in ("ERROR", "FATAL")]
        if errors:
            log.warning("sitemap: %s is not well-formed (%d errors; the first on line %d: %s); read what could be",
                        self.page.url, len(errors), errors[0].line, errors[0].message)

    def not_a_sitemap(self, what: str | None = None) -> ScrapeError:
        what = what or describe_page(self.page)
        return ScrapeError(f"not a sitemap: {self.page.url} returned {what}; check the source's url",
                           error_class="not_a_sitemap")

    def root_name(self, root: Any) -> str:
        name = _local(root.tag)
        if name in ("urlset", "sitemapindex"):
            return name
        if name in _FEED_ROOTS:
            raise self.not_a_sitemap(f"a feed (root element <{name}>): use kind rss for it")
        raise self.not_a_sitemap()


def _entries(page: Page, want: str) -> tuple[str, Iterator[Any]]:
    """The document's root name, and an iterator over its entries if the root is ``want``."""
    document = _Document(page)
    if document.text_empty:
        raise document.not_a_sitemap("an empty body" if not page.body else "a body of only whitespace")
    stream = document.elements()
    try:
        _, root = next(stream)
    except StopIteration:
        raise document.not_a_sitemap() from None
    name = document.root_name(root)
    if name != want:
        stream.close()
        return name, iter(())
    return name, _capped(stream, page.url, "url" if want == "urlset" else "sitemap")


def _capped(stream: Iterator[tuple[str, Any]], url: str, entry: str) -> Iterator[Any]:
    """The ``<entry>`` elements of the stream, at most ``MAX_URLS`` of them."""
    count = 0
    for _, element in stream:
        if _local(element.tag) != entry:
            continue
        if count >= MAX_URLS:
            log.warning("sitemap: %s lists more than %d <%s> entries, the protocol's limit; the rest are ignored",
                        url, MAX_URLS, entry)
            break
        count += 1
        yield element


def _item(element: Any, page: Page) -> RawItem | None:
    """A RawItem from one ``<url>`` element; None if it has no usable link or no title."""
    url = resolve_link(page.url, _text(_child(element, "loc")))
    news = _child(element, "news")
    title = _text(_child(news, "title")) if news is not None else ""
    if not url or not title:
        return None
    publication = _child(news, "publication")
    publisher = _text(_child(publication, "name")) if publication is not None else ""
    lastmod = _text(_child(element, "lastmod"))
    published = w3c_date(_text(_child(news, "publication_date"))) or (w3c_date(lastmod) if lastmod else None)
    extra: dict[str, Any] = {"lastmod": lastmod} if lastmod else {}
    if publication is not None and (language := _text(_child(publication, "language"))):
        extra["language"] = language
    for name in ("keywords", "genres", "stock_tickers"):
        if value := _text(_child(news, name)):
            extra[name] = value
    return RawItem(title=title, url=url, publisher=publisher or None, published=published, guid=url, extra=extra)


def discover_sitemaps(page: Page, options: dict[str, Any]) -> list[str]:
    """The child sitemaps of a sitemap index (absolute http(s) URLs, each once); [] for any other sitemap."""
    name, entries = _entries(page, "sitemapindex")
    urls: list[str] = []
    seen = {page.url}
    for element in entries:
        url = resolve_link(page.url, _text(_child(element, "loc")))
        if url and url not in seen:
            seen.add(url)
            urls.append(url)
    if name == "sitemapindex":
        log.info("sitemap: %s lists %d sitemaps", page.url, len(urls))
    return urls


@register("sitemap", discover=discover_sitemaps)
def scrape_sitemap(page: Page, options: dict[str, Any]) -> list[RawItem]:
    """Items from a news sitemap; none from a sitemap index (see ``discover_sitemaps``)."""
    name, entries = _entries(page, "urlset")
    if name == "sitemapindex":
        log.info("sitemap: %s is a sitemap index; its sitemaps are fetched next", page.url)
        return []
    items: list[RawItem] = []
    seen: set[str] = set()
    skipped = duplicates = 0
    for element in entries:
        item = _item(element, page)
        if item is None:
            skipped += 1
            continue
        if item.url in seen:
            duplicates += 1
            continue
        seen.add(item.url)
        items.append(item)
    if skipped:
        level = logging.WARNING if not items else logging.INFO
        log.log(level, "sitemap: %s: %d of %d entries skipped for having no <news:title> (or no http(s) <loc>)%s",
                page.url, skipped, skipped + len(items) + duplicates,
                "; is this a news sitemap?" if not items else "")
    if duplicates:
        log.info("sitemap: %s lists %d URLs more than once; each is read once", page.url, duplicates)
    return items


