"""Kind ``html``: list, channel and search-result pages read with CSS selectors.

Options (``select:`` in config.yaml)::

    select:
      item: "ul.list li"          # required: one element per headline
      title: "a"                  # default "a" (also when given as "")
      link: "a@href"              # default "a@href"; "" means the items have no links
      summary: "p"                # optional; missing or "" -> None
      published: "span.date"      # optional; the raw text, parsed later by the pipeline
      publisher: "span.src"       # optional

A field selector is a CSS selector evaluated inside the item (soupsieve), optionally ending in ``@attr`` to
read an attribute instead of the text: ``"a@href"``, ``"a@title"``, ``"time@datetime"``, or ``"@href"``
alone for an attribute of the item element itself. The first matching descendant is used; if no descendant
matches but the item itself does (``item: "a.title"``, ``title: "a"``), the item is used.

Decisions:

* The page is parsed from its decoded text (``page.text``; lxml fed raw bytes of a page that declares GB2312 but
  holds GBK-only characters returns an empty document; browser-saved pages lie about GB2312).
* Text is what a reader sees (``scrapers.markup.element_text``): inline markup joined without spaces, blocks
  spaced apart, whitespace collapsed; comments, scripts and styles dropped.
* Links resolve against ``<base href>`` if present, else the page URL (so ``//new.qq.com/...`` takes the
  page's scheme). Only http(s) results become item URLs. When the link selector matches several elements in an
  item, the first http(s) one is used. An item whose links all have another scheme (``javascript:``, ``mailto:``,
  ``tel:``, ``data:``...) is page chrome, not a headline (``关闭窗口``, ``打印本稿`` on Xinhua's pages): it is
  dropped, and the drops are counted in a log line. An item with no link at all, or only ``#`` or an empty
  href, is kept with ``url=None``.
* ``published`` is the raw text (``2020年12月11日 18:56``, ``12-08``); when the selector names no attribute
  and the element carries a ``datetime`` attribute (``<time datetime=...>``), that attribute is used
  instead.
* Items whose title is empty are skipped. An ``item`` selector that matches nothing raises ``ScrapeError``
  (``selector_empty``: the layout probably changed, and "no new items" would hide it); a selector that is
  not valid CSS raises ``ScrapeError`` (``bad_selector``) naming it.

``extra``: none (only the configured fields are read).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page
from monitor.core.urls import non_web_link, resolve_link
from scrapers.markup import SUMMARY_MAX_CHARS, FieldSelector, base_url_of, clip, collapse_whitespace, compile_css
from scrapers.registry import register

if TYPE_CHECKING:   # the parser is imported where a page is read: `check` and `status` never load it
    from bs4 import Tag

log = logging.getLogger(__name__)

FIELDS = ("title", "link", "summary", "published", "publisher")
_DEFAULTS = {"title": "a", "link": "a@href"}


def _selectors(options: dict[str, Any]) -> tuple[str, Any, dict[str, FieldSelector | None]]:
    select = options.get("select")
    if not isinstance(select, dict) or not isinstance(select.get("item"), str) or not select["item"].strip():
        raise ScrapeError("html: the source needs select.item, a CSS selector matching one element per item",
                          error_class="bad_selector")
    item_css = select["item"].strip()
    item_compiled = compile_css(item_css, "select.item", "html")
    fields: dict[str, FieldSelector | None] = {}
    for field in FIELDS:
        source = select.get(field)
        if field == "title" and not source:
            source = _DEFAULTS["title"]
        elif source is None and field in _DEFAULTS:
            source = _DEFAULTS[field]
        if source is not None and not isinstance(source, str):
            raise ScrapeError(f"html: select.{field} must be a CSS selector string, not {source!r}",
                              error_class="bad_selector")
        fields[field] = FieldSelector.parse(source, f"select.{field}", "html") if source and source.strip() else None
    return item_css, item_compiled, fields


@register("html", select_fields=("item", *FIELDS), required_select=("item",))
def scrape_html(page: Page, options: dict[str, Any]) -> list[RawItem]:
    """Items from an HTML list page: one per element matching ``select.item`` (see the module docstring)."""
    item_css, item_selector, fields = _selectors(options)
    if not page.body.strip():
        raise ScrapeError(f"html: the page at {page.url} is empty, so selector {item_css!r} matched nothing",
                          error_class="selector_empty")

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.text, "lxml")
    base_url = base_url_of(soup, page.url)

    elements = item_selector.select(soup)
    if not elements:
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        seen = f" (the page is titled {title[:80]!r})" if title else ""
        raise ScrapeError(f"html: selector {item_css!r} matched nothing on {page.url}{seen}; "
                          "the page layout may have changed", error_class="selector_empty")

    items: list[RawItem] = []
    chrome = 0    # items whose only links are javascript:, mailto:... (see the module docstring)
    for element in elements:
        values: dict[str, str | None] = {}
        for field, selector in fields.items():
            if field != "link":
                values[field] = None if selector is None else selector.value(element)
        title = collapse_whitespace(values["title"] or "")
        if not title:
            continue
        url, link_is_chrome = _item_link(fields["link"], element, base_url)
        if link_is_chrome:
            chrome += 1
            continue
        published = values["published"]
        published_selector = fields["published"]
        if published_selector is not None and published_selector.attr is None:
            node = published_selector.find(element)
            if node is not None and node.get("datetime"):
                published = str(node["datetime"])
        summary = clip(values["summary"], SUMMARY_MAX_CHARS) if values["summary"] else None
        items.append(RawItem(
            title=title,
            url=url,
            summary=summary or None,
            publisher=collapse_whitespace(values["publisher"] or "") or None,
            published=collapse_whitespace(published) if published else None,
        ))
    if chrome:
        log.log(logging.WARNING if not items else logging.INFO,
                "html: %s: %d of %d items dropped: their links are not web addresses (javascript:, mailto:...)",
                page.url, chrome, chrome + len(items))
    if not items and chrome:
        raise ScrapeError(f"html: selector {item_css!r} matched {len(elements)} elements on {page.url}, but the "
                          f"links of all {chrome} with a title are javascript:, mailto: or the like (page controls, "
                          "not headlines); check select.item and select.link", error_class="selector_empty")
    if not items:
        title_selector = fields["title"].source if fields["title"] else ""
        raise ScrapeError(f"html: selector {item_css!r} matched {len(elements)} elements on {page.url} "
                          f"but the title selector {title_selector!r} found no text in any of them; "
                          "the page layout may have changed", error_class="selector_empty")
    return items


def _item_link(selector: FieldSelector | None, element: Tag, base_url: str) -> tuple[str | None, bool]:
    """The item's URL (its first http(s) link), and whether it has links but none of them is a web address."""
    if selector is None:
        return None, False
    hrefs = selector.values(element)
    for href in hrefs:
        url = resolve_link(base_url, href)
        if url is not None:
            return url, False
    return None, any(non_web_link(href) for href in hrefs)
