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

* The body is decoded with ``monitor.core.encoding.decode_document`` before parsing (lxml fed raw bytes of a page
  that declares GB2312 but holds GBK-only characters returns an empty document; browser-saved pages lie
  about GB2312).
* Text is the element's text with inline markup joined *without* spaces and block elements (``<p>``,
  ``<div>``, ``<br>``, ``<li>``...) separated by one, then whitespace collapsed: a highlighted search term
  (``<em><!--red_beg-->高考<!--red_end--></em>有多重要``) stays one word, where ``get_text(" ")`` would
  write ``高考 有多重要``. Comments, scripts and styles are dropped; entities are unescaped by the parser.
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
"""

from __future__ import annotations

import html.entities
import logging
import re
from dataclasses import dataclass
from typing import Any

import soupsieve
from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page
from monitor.core.urls import non_web_link, resolve_link
from scrapers.registry import register

log = logging.getLogger(__name__)

SUMMARY_MAX_CHARS = 2000
FIELDS = ("title", "link", "summary", "published", "publisher")
_DEFAULTS = {"title": "a", "link": "a@href"}

# Elements whose boundaries separate words when a page is rendered.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul", "option", "select", "textarea",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_FIELD_SELECTOR = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_:][-\w:.]*)\s*$", re.S)
_MARKUP_HINT = re.compile(r"<[A-Za-z!/?]|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?")


_BARE_AMPERSAND = re.compile(r"&([A-Za-z][A-Za-z0-9]*;?)")


def _escape_bare_ampersand(match: re.Match) -> str:
    """``S&P`` is text, not an entity: html.parser would drop an unknown ``&P`` at the end of a string."""
    return match.group(0) if match.group(1) in html.entities.html5 else "&amp;" + match.group(1)


def collapse_whitespace(text: str) -> str:
    """Runs of any Unicode whitespace (newlines, tabs, NBSP, ideographic space) -> one space; stripped."""
    return " ".join(text.split())


def element_text(element: Tag) -> str:
    """Visible text of an element: inline markup joined as is, blocks spaced apart, whitespace collapsed."""
    parts: list[str] = []
    # An explicit stack rather than recursion: a hostile page may nest elements thousands deep.
    stack: list[tuple[Any, str]] = [(iter(element.children), "")]
    while stack:
        children, closer = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(closer)
        elif isinstance(child, NavigableString):
            if not isinstance(child, _SKIP_STRINGS):
                parts.append(str(child))
        elif isinstance(child, Tag):
            name = (child.name or "").lower()
            if name in _SKIP_TAGS:
                continue
            block = " " if name in BLOCK_TAGS else ""
            parts.append(block)
            stack.append((iter(child.children), block))
    return collapse_whitespace("".join(parts))


def plain_text(fragment: str | None, max_chars: int | None = None) -> str:
    """Markup or escaped text -> plain text: tags removed, entities unescaped, whitespace collapsed.

    Used for feed fields, which feedparser does not sanitise (a title can carry ``<img onerror=...>``). Text
    with no tag or entity in it is only whitespace-collapsed, so a literal ``a < b`` survives.
    """
    if not fragment:
        return ""
    if _MARKUP_HINT.search(fragment):
        text = element_text(BeautifulSoup(_BARE_AMPERSAND.sub(_escape_bare_ampersand, fragment), "html.parser"))
    else:
        text = collapse_whitespace(fragment)
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


@dataclass(frozen=True)
class FieldSelector:
    """A field selector: CSS (None = the item itself) and an optional attribute name."""

    source: str
    css: str | None
    attr: str | None
    compiled: Any = None

    @classmethod
    def parse(cls, source: str, field: str) -> FieldSelector:
        match = _FIELD_SELECTOR.match(source)
        css, attr = (match["css"].strip(), match["attr"].lower()) if match else (source.strip(), None)
        if not css:
            return cls(source, None, attr)
        return cls(source, css, attr, _compile(css, f"select.{field}"))

    def find(self, item: Tag) -> Tag | None:
        if self.compiled is None:
            return item
        found = self.compiled.select_one(item)
        if found is None and self.compiled.match(item):
            found = item
        return found

    def value(self, item: Tag) -> str | None:
        """The attribute or text of the matched element; None if nothing matched or the value is absent."""
        element = self.find(item)
        return None if element is None else self._value_of(element)

    def values(self, item: Tag) -> list[str]:
        """The values of every element the selector matches inside the item (the item itself if none does)."""
        if self.compiled is None:
            elements = [item]
        else:
            elements = self.compiled.select(item) or ([item] if self.compiled.match(item) else [])
        return [value for element in elements if (value := self._value_of(element)) is not None]

    def _value_of(self, element: Tag) -> str | None:
        if self.attr is None:
            return element_text(element)
        value = element.get(self.attr)
        if isinstance(value, list):   # multi-valued attributes such as class
            value = " ".join(value)
        return value


def _compile(css: str, where: str):
    try:
        return soupsieve.compile(css)
    except (soupsieve.SelectorSyntaxError, ValueError, TypeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScrapeError(f"html: {where} {css!r} is not a valid CSS selector ({first_line})",
                          error_class="bad_selector") from exc


def _selectors(options: dict[str, Any]) -> tuple[str, Any, dict[str, FieldSelector | None]]:
    select = options.get("select")
    if not isinstance(select, dict) or not isinstance(select.get("item"), str) or not select["item"].strip():
        raise ScrapeError("html: the source needs select.item, a CSS selector matching one element per item",
                          error_class="bad_selector")
    item_css = select["item"].strip()
    item_compiled = _compile(item_css, "select.item")
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
        fields[field] = FieldSelector.parse(source, field) if source and source.strip() else None
    return item_css, item_compiled, fields


@register("html", select_fields=("item", *FIELDS), required_select=("item",))
def scrape_html(page: Page, options: dict[str, Any]) -> list[RawItem]:
    """Items from an HTML list page: one per element matching ``select.item`` (see the module docstring)."""
    item_css, item_selector, fields = _selectors(options)
    if not page.body.strip():
        raise ScrapeError(f"html: the page at {page.url} is empty, so selector {item_css!r} matched nothing",
                          error_class="selector_empty")

    encoding = page.codec
    soup = BeautifulSoup(page.text, "lxml")
    base_url = page.url
    base = soup.find("base", href=True)
    if base is not None:
        base_url = resolve_link(page.url, str(base["href"])) or page.url

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
        summary = values["summary"]
        if summary and len(summary) > SUMMARY_MAX_CHARS:
            summary = summary[: SUMMARY_MAX_CHARS - 1].rstrip() + "…"
        items.append(RawItem(
            title=title,
            url=url,
            summary=summary or None,
            publisher=collapse_whitespace(values["publisher"] or "") or None,
            published=collapse_whitespace(published) if published else None,
            extra={"encoding": encoding},
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
