"""Kind ``rss``: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 feeds, read with lxml when well-formed, else with feedparser.

Decisions:

* **Two readers, one result.** A well-formed RSS 0.9x/2.0, RSS 1.0 or Atom 1.0 feed is read by
  ``scrapers.feedlxml`` (libxml2 and a walk over the entries: a 500-item feed in 7 ms, feedparser's 110 ms); it
  gives the values feedparser gives for every field read here, and hands anything else to feedparser (not
  well-formed, DTDs, Atom 0.3, markup inside text fields...: see that module). Everything below applies to both.
* **Bytes only, wrapped in a stream.** feedparser opens a local file when its argument names one, and it
  tries ``open()`` even on *bytes* before treating them as data; a response body such as ``/etc/passwd``
  would be read from disk. ``parse_feed`` therefore passes an ``io.BytesIO``, never a str, path or URL.
* **We decode, not feedparser.** The body is decoded with ``monitor.core.page.read_page`` (BOM, valid
  UTF-8, HTTP charset, the XML declaration, detection; GB2312 -> GB18030, Big5 -> Big5-HKSCS), re-encoded as
  UTF-8 with the XML declaration rewritten to say so, and given to feedparser as ``application/xml;
  charset=utf-8``. feedparser alone reads a GB2312 or Big5 feed with no declaration as windows-1252 mojibake
  and a ``big5`` feed holding one Big5-HKSCS character as ISO-8859-2 mojibake; the real fixtures in
  ``../shared/fixtures/real/feeds`` are the tests.
* **Not a feed is an error.** feedparser returns ``version == ''`` and no entries for an HTML page, a
  maintenance page or an empty body, which would look like "no new items": that raises ``ScrapeError``
  (``not_a_feed``) saying what the body looks like. A malformed ("bozo") feed that still has a version is
  read, with a warning.
* **Bare ampersands are escaped** before feedparser reads the feed (``markup.escape_bare_ampersands``): its
  lenient parser would store ``AT&T buys`` as ``AT&T; buys``. Entities and character references are kept.
* **Text fields are plain text.** feedparser does not sanitise titles (``<img onerror=...>`` survives): tags
  are stripped, entities unescaped, whitespace and newlines collapsed; summaries are capped at 2000
  characters.
* **Dates.** A date with an explicit zone (``+0800``, ``Z``, ``GMT``, ``EST``...) becomes an aware UTC
  datetime (feedparser's struct_time, else ``monitor.core.dates.parse_zoned``: acnnewswire's
  ``13:08:54+0900`` defeats feedparser). A date with no zone (w3cn's ``2005-5-28 16:05:36``, a bare
  ``2020-12-11``), an unknown zone name (``HKT``) or the ambiguous ``CST`` (US Central to feedparser, China
  Standard Time to many Chinese feeds) is passed as the raw string, because feedparser would silently read
  it as UTC or US time; the pipeline parses it in the configured time zone.
* **Missing titles.** An entry with no title falls back to the start of its summary (its first 80 characters,
  cut with "…"); an entry with neither is skipped, and the skips are counted in a log line. Its link is no title: a
  URL would never match a topic, and since a merge never replaces a title, it would stay on the item after a
  page or another feed shows the real headline. The entries of v2ex's feed (one with neither title, link nor id,
  but content) thus stay three distinct items.
* **Relative links** resolve against the entry's ``xml:base`` (feedparser applies it), else the feed's own
  address: its ``<link rel="alternate">`` (RSS: ``<channel><link>``), else the URL the feed was fetched from. A
  feed's relative links are written against its site (v2ex's ``<id>/t/378265</id>`` means
  ``https://www.v2ex.com/t/378265``), and feeds are often served from another host (a mirror, a proxy, RSSHub).
  feedparser resolves against the fetch URL; when the feed names a site on another host and some entry link
  came out on the fetch URL's host, the feed is parsed again with the site's address as its base.
* ``publisher`` is the entry's ``<source>`` title (Google News names the outlet there) or None. The " - Publisher"
  suffix Google News puts in titles is left in place: removing it is the normaliser's job.

``extra`` (stored with the item): ``feed_title``, the feed's own title; ``author``, the entry's author;
``categories``, its ``<category>`` / ``<dc:subject>`` names (Atom: the label, else the term), each once. A key is
left out when the feed gives nothing for it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.core.dates import parse_date, parse_zoned
from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page
from monitor.core.urls import origin, resolve_link
from scrapers import feedlxml
from scrapers.markup import SUMMARY_MAX_CHARS, clip, describe_page, escape_bare_ampersands, plain_text, xml_bytes
from scrapers.registry import register

if TYPE_CHECKING:   # the parser is imported where a page is read: `check` and `status` never load it
    import feedparser

log = logging.getLogger(__name__)

TITLE_FROM_SUMMARY_CHARS = 80

# A time followed by a zone feedparser reads correctly: +0800, +08:00, Z, GMT, UT(C) and the North American
# names. Anything else is not trusted: feedparser reads an unknown name (HKT) as UTC, and CST means US Central
# to it but China Standard Time to many Chinese feeds.
_ZONED = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*"
    r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?|\(?(?:UTC?|GMT|EST|EDT|CDT|MST|MDT|PST|PDT|AST|ADT)\)?)\s*$",
    re.I,
)


# A character reference to no character XML allows (a surrogate, NUL, beyond U+10FFFF): feedparser's lenient parser
# turns it into a lone surrogate and fails encoding it (UnicodeEncodeError).
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _no_bad_char_refs(text: str) -> str:
    def replace(match: re.Match) -> str:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return "&#xFFFD;" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match.group(0)

    return _CHAR_REF.sub(replace, text) if "&#" in text else text


def parse_feed(text: str, base_url: str | None = None) -> feedparser.FeedParserDict:
    """feedparser's result for a feed's decoded ``text`` (``Page.text``), whatever the feed."""
    return _parse_with_feedparser(_feed_bytes(text)[0], base_url)


def _feed_bytes(text: str) -> tuple[bytes, bool]:
    """A feed's text as the bytes feedparser is given: character references to no character dropped, bare
    ampersands escaped (``AT&T`` is stored as written, not as feedparser's lenient ``AT&T;``), UTF-8 with the XML
    declaration saying so; and whether there were bare ampersands."""
    text = _no_bad_char_refs(text)
    escaped = escape_bare_ampersands(text)
    return xml_bytes(escaped), escaped != text


def _parse(data: bytes, base_url: str | None, fast: bool = True) -> Mapping[str, Any]:
    """The feed read by ``scrapers.feedlxml`` when it is well-formed and within what that reads, else feedparser's
    result (the same values for every field read here; ``tests/test_feed_paths.py``). ``fast=False``: feedparser's
    alone, the reference the test compares with."""
    result = feedlxml.parse(data, base_url) if fast else None
    return result if result is not None else _parse_with_feedparser(data, base_url)


def _parse_with_feedparser(data: bytes, base_url: str | None) -> feedparser.FeedParserDict:
    headers = {"content-type": "application/xml; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url
    import feedparser

    return feedparser.parse(io.BytesIO(data), response_headers=headers)


def entry_published(entry: dict[str, Any]) -> datetime | str | None:
    """The entry's date: an aware UTC datetime if the feed gave a zone, else the raw text (see module doc)."""
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        parsed = entry.get(f"{key}_parsed")
        raw = raw.strip() if isinstance(raw, str) else ""
        if not raw and not parsed:
            continue
        if raw and not _ZONED.search(raw):
            return raw
        if parsed:
            value = parse_date(parsed, UTC)     # feedparser's struct_time, in UTC
            if value is not None:
                return value
        zoned = parse_zoned(raw)    # what feedparser could not read: acnnewswire's "13:08:54+0900"
        return zoned.astimezone(UTC) if zoned else raw or None
    return None


def _summary(entry: dict[str, Any]) -> str:
    summary = entry.get("summary") or ""
    if not summary:
        for content in entry.get("content") or []:
            if content.get("value"):
                summary = content["value"]
                break
    return plain_text(summary, SUMMARY_MAX_CHARS)


def _entry_to_item(entry: dict[str, Any], base_url: str, feed_title: str) -> RawItem | None:
    """The entry as a RawItem; None when it has neither a title nor a summary to take one from."""
    title = plain_text(entry.get("title"))
    summary = _summary(entry)
    if not title and not summary:
        return None
    link = entry.get("link")
    source = entry.get("source")
    publisher = plain_text(source.get("title")) if isinstance(source, dict) else ""
    guid = entry.get("id")
    return RawItem(
        title=title or clip(summary, TITLE_FROM_SUMMARY_CHARS),    # no title: the start of its summary
        url=resolve_link(base_url, link) if isinstance(link, str) else None,
        summary=summary or None,
        publisher=publisher or None,
        published=entry_published(entry),
        guid=guid.strip() if isinstance(guid, str) and guid.strip() else None,
        extra=_extra(entry, feed_title),
    )


def _extra(entry: dict[str, Any], feed_title: str) -> dict[str, Any]:
    """What the feed says about the entry beyond the fields (the keys are listed in the module docstring)."""
    extra: dict[str, Any] = {}
    if feed_title:
        extra["feed_title"] = feed_title
    author = plain_text(entry.get("author"))
    if author:
        extra["author"] = author
    # <category> / <dc:subject> / Atom's category label, each once (coolloud lists each tag twice, in two schemes).
    categories = dict.fromkeys(name for tag in entry.get("tags") or []
                               if (name := plain_text(tag.get("label") or tag.get("term"))))
    if categories:
        extra["categories"] = list(categories)
    return extra


def _site_base(result: Mapping[str, Any], fetched_from: str) -> str | None:
    """The feed's site (its alternate link) when its relative links should resolve against it and did not.

    That is when the site is on another host than the one the feed was fetched from, and some entry's link or id
    came out on the fetch host: resolved from a relative reference (see the module docstring).
    """
    link = result.get("feed", {}).get("link")
    site = resolve_link(fetched_from, link) if isinstance(link, str) else None
    if site is None or origin(site) == origin(fetched_from):
        return None
    fetch_host = origin(fetched_from) + "/"
    for entry in result.get("entries", []):
        for key in ("link", "id"):
            value = entry.get(key)
            if isinstance(value, str) and value.startswith(fetch_host):
                return site
    return None


@register("rss")
def scrape_rss(page: Page, options: dict[str, Any]) -> list[RawItem]:
    """Items from an RSS or Atom feed (see the module docstring for the decisions)."""
    return feed_items(page)


def feed_items(page: Page, fast: bool = True) -> list[RawItem]:
    """The feed's items; ``fast=False`` reads it with feedparser alone (what the fast reader is proven against)."""
    data, bare_ampersands = _feed_bytes(page.text)     # made once: a re-parse below reads the same bytes
    result = _parse(data, page.url, fast)
    version = result.get("version") or ""
    if not version:
        what = describe_page(page)
        raise ScrapeError(f"not a feed: {page.url} returned {what}; check the source's url",
                          error_class="not_a_feed")
    base_url = page.url
    site = _site_base(result, page.url)
    if site is not None:
        result = _parse(data, site, fast)
        base_url = site
    if bare_ampersands:
        log.warning("rss: %s is not well-formed (bare ampersands, such as AT&T); read them as written", page.url)
    if result.get("bozo"):
        log.warning("rss: %s is not well-formed (%s); read %d entries anyway",
                    page.url, result.get("bozo_exception"), len(result.get("entries", [])))
    feed_title = plain_text(result.get("feed", {}).get("title"))
    items: list[RawItem] = []
    entries = result.get("entries", [])
    count = len(entries)
    for i, entry in enumerate(entries):
        entries[i] = None                # the parsed tree is let go entry by entry (100,000 entries: hundreds of MB)
        item = _entry_to_item(entry, base_url, feed_title)
        if item is not None:
            items.append(item)
    if len(items) < count:
        log.log(logging.WARNING if not items else logging.INFO,
                "rss: %s: %d of %d entries skipped for having no title (nor a summary to take one from)",
                page.url, count - len(items), count)
    return items
