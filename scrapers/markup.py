"""Reading markup, for every kind: the text of elements and fragments, CSS field selectors, and what a body is.

Not a kind: the kinds (``html``, ``rss``, ``json``, ``sitemap``, ``related``) share these helpers and never import
each other.

Decisions:

* **Text is what a reader sees.** An element's text has inline markup joined *without* spaces and block elements
  (``<p>``, ``<div>``, ``<br>``, ``<li>``...) separated by one, then whitespace collapsed: a highlighted search term
  (``<em><!--red_beg-->高考<!--red_end--></em>有多重要``) stays one word, where ``get_text(" ")`` would write
  ``高考 有多重要``. Comments, scripts and styles are dropped; entities are unescaped by the parser.
* **Fragments are not trusted.** Feed and API fields can carry markup (``<img onerror=...>``): ``plain_text`` strips
  tags and unescapes entities, but text with no tag or entity in it is only whitespace-collapsed, so a literal
  ``a < b`` survives, and ``S&P`` is text, not an unknown entity.
* **A field selector** is CSS (soupsieve) optionally ending in ``@attr`` (``"a@href"``, ``"time@datetime"``,
  ``"@href"`` for the element itself). A selector that is not valid CSS is ``ScrapeError(bad_selector)`` naming the
  kind and the config key.
* **XML is handed to parsers as UTF-8.** A page is decoded once (``monitor.core.page.read_page``); a parser that
  reads bytes gets the text re-encoded as UTF-8 with its XML declaration rewritten to say so.
"""

from __future__ import annotations

import functools
import html.entities
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # bs4 and soupsieve are imported where a page is read: `check` and `status` never load them
    from bs4 import BeautifulSoup, Tag

from monitor.core.errors import ScrapeError
from monitor.core.page import Page
from monitor.core.urls import resolve_link

SUMMARY_MAX_CHARS = 2000     # summaries are cut here (with "…"), in every kind that reads one

# Elements whose boundaries separate words when a page is rendered.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul", "option", "select", "textarea",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
_MARKUP_HINT = re.compile(r"<[A-Za-z!/?]|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?")
_BARE_AMPERSAND = re.compile(r"&([A-Za-z][A-Za-z0-9]*;?)")
_AMPERSAND = re.compile(r"&(?:#\d+;|#[xX][0-9A-Fa-f]+;|([A-Za-z][A-Za-z0-9]*;?))?")
_CDATA_OR_COMMENT = re.compile(r"(<!\[CDATA\[.*?\]\]>|<!--.*?-->)", re.S)
_FIELD_SELECTOR = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_:][-\w:.]*)\s*$", re.S)
_XML_DECL_ENCODING = re.compile(r"""^(<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_ROOT = re.compile(r"<(?![?!])([A-Za-z_][\w:.-]*)")


# --- text ------------------------------------------------------------------------------------------------


def collapse_whitespace(text: str) -> str:
    """Runs of any Unicode whitespace (newlines, tabs, NBSP, ideographic space) -> one space; stripped."""
    return " ".join(text.split())


def clip(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters, the last of them "…", when it is longer."""
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def element_text(element: Tag) -> str:
    """Visible text of an element: inline markup joined as is, blocks spaced apart, whitespace collapsed."""
    from bs4 import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    skip_strings = (Comment, Declaration, Doctype, ProcessingInstruction)
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
            if not isinstance(child, skip_strings):
                parts.append(str(child))
        elif isinstance(child, Tag):
            name = (child.name or "").lower()
            if name in _SKIP_TAGS:
                continue
            block = " " if name in BLOCK_TAGS else ""
            parts.append(block)
            stack.append((iter(child.children), block))
    return collapse_whitespace("".join(parts))


def _escape_bare_ampersand(match: re.Match) -> str:
    """``S&P`` is text, not an entity: html.parser would drop an unknown ``&P`` at the end of a string."""
    return match.group(0) if match.group(1) in html.entities.html5 else "&amp;" + match.group(1)


def escape_bare_ampersands(xml: str) -> str:
    """An XML document with each bare ``&`` (``AT&T``, ``A & B``, ``?a=1&b=2``) written ``&amp;``, outside CDATA.

    A bare ampersand makes a feed ill-formed, and feedparser's lenient parser then reads ``AT&T buys`` as the
    entity ``&T;``: the title is stored as ``AT&T; buys``. Character references (``&#39;``, ``&#x4e2d;``) and the
    entities HTML knows (``&amp;``, ``&nbsp;``, ``&copy;``) are left for the parser.
    """
    if "&" not in xml:
        return xml
    parts = _CDATA_OR_COMMENT.split(xml)
    for index in range(0, len(parts), 2):    # the odd parts are the CDATA sections and comments
        parts[index] = _AMPERSAND.sub(_escape_bare_ampersand_in_xml, parts[index])
    return "".join(parts)


def _escape_bare_ampersand_in_xml(match: re.Match) -> str:
    name = match.group(1)
    if match.group(0).startswith("&#") or (name and name in html.entities.html5):
        return match.group(0)
    return "&amp;" + (name or "")


def plain_text(fragment: str | None, max_chars: int | None = None) -> str:
    """Markup or escaped text -> plain text: tags removed, entities unescaped, whitespace collapsed.

    Used for feed fields, which feedparser does not sanitise (a title can carry ``<img onerror=...>``). Text
    with no tag or entity in it is only whitespace-collapsed, so a literal ``a < b`` survives.
    """
    if not fragment:
        return ""
    if _MARKUP_HINT.search(fragment):
        text = element_text(_fragment_soup()(_BARE_AMPERSAND.sub(_escape_bare_ampersand, fragment), "html.parser"))
    else:
        text = collapse_whitespace(fragment)
    return clip(text, max_chars) if max_chars is not None else text


@functools.cache
def _fragment_soup():
    """BeautifulSoup, with its warning that a fragment "looks like a URL" silenced once per process: a feed title
    such as ``http://example.com/a&b`` is a title, and the warning would reach the service's log on every poll."""
    import warnings

    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
    return BeautifulSoup


# --- selectors -------------------------------------------------------------------------------------------


def compile_css(css: str, where: str, kind: str):
    """A compiled CSS selector; ScrapeError (bad_selector) naming the kind and config key if it is not valid CSS."""
    import soupsieve

    try:
        return soupsieve.compile(css)
    except (soupsieve.SelectorSyntaxError, ValueError, TypeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScrapeError(f"{kind}: {where} {css!r} is not a valid CSS selector ({first_line})",
                          error_class="bad_selector") from exc


@dataclass(frozen=True)
class FieldSelector:
    """A field selector: CSS (None = the item itself) and an optional attribute name."""

    source: str
    css: str | None
    attr: str | None
    compiled: Any = None

    @classmethod
    def parse(cls, source: str, where: str, kind: str) -> FieldSelector:
        """The selector ``source`` (``"a@href"``) configured at ``where`` (``select.link``) of a ``kind`` source."""
        match = _FIELD_SELECTOR.match(source)
        css, attr = (match["css"].strip(), match["attr"].lower()) if match else (source.strip(), None)
        if not css:
            return cls(source, None, attr)
        return cls(source, css, attr, compile_css(css, where, kind))

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


def base_url_of(soup: BeautifulSoup, page_url: str) -> str:
    """What the page's relative links resolve against: its ``<base href>`` if it has one, else its URL."""
    base = soup.find("base", href=True)
    if base is None:
        return page_url
    return resolve_link(page_url, str(base["href"])) or page_url


# --- documents -------------------------------------------------------------------------------------------


def xml_bytes(text: str) -> bytes:
    """A decoded XML document as UTF-8 bytes for a parser that reads bytes, its declaration made to say utf-8."""
    stripped = text.lstrip()
    if stripped.startswith("<?xml"):
        text = _XML_DECL_ENCODING.sub(r'\1"utf-8"', stripped, count=1)
    return text.encode("utf-8")


def describe_page(page: Page) -> str:
    """What a page that is not the expected document looks like, for error messages ("an HTML page titled
    '系统维护中'", "JSON data", "an XML document whose root element is <urlset> (a sitemap: use kind sitemap)")."""
    head = page.text.lstrip("\ufeff \t\r\n")
    if not head:
        return "an empty body" if not page.body else "a body of only whitespace"
    lower = head[:8192].lower()
    if any(marker in lower for marker in ("<!doctype html", "<html", "<head", "<body")):
        match = _TITLE.search(head[:65536])
        title = plain_text(match.group(1)) if match else ""
        if title:
            return f"an HTML page titled {title[:100]!r}"
        return "an HTML page"
    if head[0] in "{[":
        return "JSON data"
    if head.startswith("<"):
        cleaned = re.sub(r"<!--.*?-->", "", head[:8192], flags=re.S)
        match = _ROOT.search(cleaned)
        if match:
            root = match.group(1)
            is_sitemap = root.split(":")[-1] in ("urlset", "sitemapindex")
            hint = " (a sitemap: use kind sitemap)" if is_sitemap else ""
            return f"an XML document whose root element is <{root}>{hint}"
        return "markup with no root element"
    snippet = " ".join(head[:60].split())
    return f"text starting with {snippet!r}"
