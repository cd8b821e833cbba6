"""Kind ``related``: article pages, their metadata and their related-headlines block.

Almost every Chinese news article lists earlier coverage under a heading: 相关新闻 (people.com.cn's
``div#rwb_xgxw``), 相关推荐 (澎湃), 相关阅读 / 延伸阅读, 相關焦點 (the seed), 推荐阅读 (中新网). Following those
lists, relevance-gated, is how the spider (``monitor.spider``) grows a corpus beyond what feeds list. This module
only reads one fetched page; fetching, the gate and the graph are the spider's.

``read_article(page, options)`` returns an :class:`Article`:

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
* **related**: the headlines of the related block, as :class:`~monitor.core.model.RawItem` (title, absolute URL, the
  date printed beside it, the item's other text as summary).

Finding the related block
-------------------------

With ``select.related`` configured (one element per headline, e.g. ``"div#rwb_xgxw li"``), that selector is used;
if it matches nothing on a page (a crawl crosses sites), the headings are tried. A heading is an element whose whole
text, punctuation aside, is one of ``RELATED_HEADINGS`` (first choice) or ``RECOMMENDED_HEADINGS`` (推荐阅读,
推荐新闻: used only when no related heading has links). From the heading (climbed to the largest element holding
nothing else), the block is the first following sibling holding two or more headline links, or a run of siblings
holding one each (``<li>`` after ``<li>``); when the heading's own siblings have none, its parent's siblings are
tried, up to ``MAX_CLIMB`` levels, never past a sibling that holds another heading. A headline link has an http(s)
URL that is not a site's front page, a section's index page (``index_page``) nor the article itself, and a text of
at least ``MIN_TITLE_CHARS`` characters
(category labels such as 【新闻】 are not headlines) that does not end in a column separator (``半月谈丨``, a column
label linked before its headline); links to the same URL (a picture and its caption) count once.

Pages whose related block is filled in by script (sina's 相关新闻 tab, xinhuanet's ``div.relate-news``) have none in
the HTML; the next heading (sina's 推荐新闻) or a configured selector is then all there is.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Comment, Tag

from monitor.core.fold import fold_text, split_truncation
from monitor.core.model import Article, RawItem
from monitor.core.outlets import strip_outlet_suffix
from monitor.core.page import Page
from monitor.core.urls import canonical_url, resolve_link, site_label
from scrapers.markup import FieldSelector, base_url_of, collapse_whitespace, compile_css, element_text
from scrapers.registry import add_kind

log = logging.getLogger(__name__)

# Headings of related-headline blocks, in both scripts; shared with the seed's text form (scrapers.seed).
RELATED_HEADINGS = ("相關焦點", "相关焦点", "相關新聞", "相关新闻", "相關推薦", "相关推荐", "相關閱讀", "相关阅读",
                    "延伸閱讀", "延伸阅读", "相關報導", "相關報道", "相关报道", "相關文章", "相关文章", "相關鏈接",
                    "相关链接", "相關連結", "相關內容", "相关内容", "推薦閱讀", "推荐阅读")
# Second choice: a site's own picks, used only when no related heading has links (sina's related tab is script).
RECOMMENDED_HEADINGS = ("推薦新聞", "推荐新闻", "熱點推薦", "热点推荐", "為您推薦", "为您推荐")
# Within RELATED_HEADINGS, "recommended reading" is weaker than "related": people.com.cn has both, 推荐阅读 first.
_TIERS = {heading: 1 if heading in ("推薦閱讀", "推荐阅读") else 0 for heading in RELATED_HEADINGS}
_TIERS.update({heading: 2 for heading in RECOMMENDED_HEADINGS})
SELECT_FIELDS = ("related", "title", "published", "publisher")

MAX_CLIMB = 3            # levels above the heading searched for its block
MIN_BLOCK_LINKS = 2      # a lone link beside a heading is an advertisement more often than a block
MAX_RELATED = 100        # headlines read from one block
MIN_TITLE_CHARS = 5      # folded characters: shorter link texts are labels (新闻, 更多, 【详细】)
MAX_INDEX_SEGMENTS = 2   # a section's index page is at most two directories deep (/world/, /news/asia/)
_INDEX_FILE = re.compile(r"(?:index|default|main|home)\.(?:s?html?|php|aspx?|jsp)", re.I)
_ARTICLE_SEGMENT = re.compile(r"\d{4}")
_SLUG_SEPARATORS = re.compile(r"[-_]")
_ARTICLE_QUERY = re.compile(r"\d{3}")
_DATE_WINDOW = 300       # characters after the title searched for its printed date

_HEADING_KEY = re.compile(r"[\W_]+")
_ANY_HEADING = re.compile("|".join(map(re.escape, RELATED_HEADINGS + RECOMMENDED_HEADINGS)))
_SKIP_PARENTS = frozenset({"script", "style", "noscript", "template", "title", "textarea", "option"})
# Dates as pages print them: 2020-07-04 12:10:24, 2020年07月04日 12:10, 2019年06月15日08:18, 2020/7/4; or, beside
# a headline, 07-08 13:36 and 12月8日.
_DATE = re.compile(
    r"(?<!\d)(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?!\d)\s*[日号號]?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号號]|\d{1,2}-\d{1,2}(?=\s+\d{1,2}:\d{2}))"
    r"(?:\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?"
)
_YEAR_DATE = re.compile(r"\d{4}\s*[-/.年]")
_TIME_OF_DAY = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}\s*$")
_SOURCE_LABEL = re.compile(r"^\s*(?:[来來]\s*源|出\s*[处處]|source)\s*[:：]?\s*", re.I)
# A column label linked before the headline (news.cn: 新华全媒+丨, 经济参考报丨): it ends in the separator.
_COLUMN_LABEL = re.compile(r"[丨|｜]\s*$")
# A badge closing a headline link: an optional verb, then a running time (收听05:02, 视频 1:02:03).
_MEDIA_TAIL = re.compile(r"(?:收听|收聽|观看|觀看|播放|时长|時長|listen|watch|play)?\s*\d{1,2}:\d{2}(?::\d{2})?", re.I)
_VISIBLE_SOURCE = re.compile(r"[来來]\s*源\s*[:：]\s*([^\s|｜/,，;；:：]{1,30})")

# Publication-date meta tags, by attribute value (property=, name= or itemprop=), lower-case.
_DATE_META = ("article:published_time", "og:article:published_time", "og:release_date", "datepublished",
              "pubdate", "publishdate", "publish_date", "publishtime", "publish-date", "pubtime", "dc.date.issued",
              "dc.date", "dcterms.created", "sailthru.date", "weibo: article:create_at", "article:create_at",
              "datecreated", "date")


def read_article(page: Page, options: dict[str, Any] | None = None) -> Article:
    """Read an article page: its metadata and its related headlines (see the module docstring)."""
    select = dict((options or {}).get("select") or {})
    soup = BeautifulSoup(page.text, "lxml")
    base_url = base_url_of(soup, page.url)
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
    self_title = fold_text(article.title or "")
    headlines, heading = [], None
    if select.get("related"):
        headlines = _selected_headlines(soup, select["related"], base_url, self_keys, self_title)
        heading = "select.related" if headlines else None
        if not headlines:
            log.debug("%s: select.related %r matched no headline; trying the headings", page.url, select["related"])
    if not headlines:
        headlines, heading = _block_by_heading(soup, base_url, self_keys, self_title)
    article.related, article.heading = headlines[:MAX_RELATED], heading
    return article


# Reads article pages for the spider (monitor.spider): a `related` source's start pages, and `follow: related`.
add_kind("related", crawl=read_article, select_fields=SELECT_FIELDS, needs_url=False)


def index_page(url: str) -> bool:
    """Whether ``url`` is a site's front page or a section's index page, not an article.

    Sites link their sections from headline blocks (sina's 推荐新闻 links a 中超 headline to
    ``http://sports.sina.com.cn/csl/``, a page that changes every hour). An index page's path has at most two
    segments and ends in ``/`` or an index file (``index.html``, ``index.shtml``, ``default.aspx``...): ``/``,
    ``/csl/``, ``/world/asia/``, ``/china/index.shtml``. Not an index page, whatever its shape, when a segment looks
    like an article's: a run of four digits (a date or an id: ``/2019/10/``, ``/t/378265/``), or a slug of three or
    more words (``/news/poverty-alleviation-in-gansu/``); nor when the query, tracking parameters aside, holds a run of
    three digits (``/?p=123``, ``/index.php?id=4567``). A path that does not end so (``/newsDetail_forward_5420361``,
    ``/a/733320600_429139``, ``/c/doc.shtml``) is an article.
    """
    parts = urlsplit(canonical_url(url))
    if _ARTICLE_QUERY.search(parts.query):
        return False
    segments = parts.path.split("/")[1:]
    if segments and _INDEX_FILE.fullmatch(segments[-1]):
        segments[-1] = ""
    if not segments or segments == [""]:
        return True                    # the front page: "/", "/index.html"
    if segments[-1] != "":
        return False                   # a page, not a directory
    segments = segments[:-1]
    return len(segments) <= MAX_INDEX_SEGMENTS and not any(
        not segment or _ARTICLE_SEGMENT.search(segment) or len(_SLUG_SEPARATORS.findall(segment)) >= 2
        for segment in segments)


# --- metadata ---------------------------------------------------------------------------------------------


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
        if 2 <= len(value) <= 20 and not _DATE.search(value):
            return value
    if metas.get("og:site_name"):
        return collapse_whitespace(metas["og:site_name"])
    return strip_outlet_suffix(page_title)[1] if page_title else None


def _published(metas: dict[str, str], soup: BeautifulSoup, body_text: str, title: str | None) -> str | None:
    meta = next((metas[key] for key in _DATE_META if metas.get(key) and _DATE.search(metas[key])), None)
    if meta is None:
        meta = _json_ld_date(soup)
    if meta is None:
        node = soup.find("time", attrs={"datetime": True})
        meta = str(node["datetime"]) if node is not None and _DATE.search(str(node["datetime"])) else None
    visible = None
    for span in _after_title(body_text, title, _DATE_WINDOW):
        match = next((m for m in _DATE.finditer(span) if _YEAR_DATE.match(m.group(0))), None)
        if match:
            visible = match.group(0)
            break
    if meta and visible and not re.search(r"\d[:：]\d", meta) and _TIME_OF_DAY.search(visible) \
            and _day_of(meta) == _day_of(visible):
        return visible
    return meta or visible


def _day_of(value: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", value)
    return tuple(int(g) for g in match.groups()) if match else None


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


# --- the related block ------------------------------------------------------------------------------------


def _heading_key(text: str) -> str:
    key = _HEADING_KEY.sub("", text)
    return key[:-2] if key.endswith("更多") else key


def _headings(soup: BeautifulSoup) -> list[tuple[int, int, Tag, str]]:
    """(tier, document position, element, heading) for every heading element on the page."""
    found: dict[int, tuple[int, int, Tag, str]] = {}
    for position, string in enumerate(soup.find_all(string=_ANY_HEADING)):
        if isinstance(string, Comment) or string.parent is None or string.parent.name in _SKIP_PARENTS:
            continue
        element = string.parent
        key = _heading_key(element_text(element))
        if key not in _TIERS:
            continue
        # The heading is the largest element that holds nothing but it (<div><a><span>推荐阅读</span></a></div>).
        while element.parent is not None and element.parent.name not in ("body", "html", "[document]") \
                and _heading_key(element_text(element.parent)) == key:
            element = element.parent
        found.setdefault(id(element), (_TIERS[key], position, element, key))
    return sorted(found.values(), key=lambda entry: (entry[0], entry[1]))


def _block_by_heading(soup: BeautifulSoup, base_url: str, self_keys: set[str],
                      self_title: str) -> tuple[list[RawItem], str | None]:
    headings = _headings(soup)
    heading_ids = {id(entry[2]) for entry in headings}
    for _tier, _position, element, heading in headings:
        links = _block_links(element, heading_ids, base_url, self_keys, self_title)
        if links:
            return _headlines(links), heading
    return [], None


def _contains_heading(element: Tag, heading_ids: set[int]) -> bool:
    return id(element) in heading_ids or any(id(d) in heading_ids for d in element.find_all(True))


def _block_links(heading: Tag, heading_ids: set[int], base_url: str, self_keys: set[str],
                 self_title: str) -> list[tuple[Tag, str, str, Tag]]:
    """The headline links of the block a heading introduces: (link, url, title, the item element holding it)."""
    node = heading
    for _level in range(MAX_CLIMB):
        run: list[tuple[Tag, str, str, Tag]] = []
        for sibling in node.next_siblings:
            if not isinstance(sibling, Tag):
                continue
            if _contains_heading(sibling, heading_ids):
                break
            links = _links_in(sibling, base_url, self_keys, self_title)
            if len(links) >= MIN_BLOCK_LINKS and not run:
                return links
            if len(links) == 1:
                run.extend(links)
            elif run and (links or len(run) >= MIN_BLOCK_LINKS):
                break   # a run of one-link items (<li> after <li>) ended
        if len(run) >= MIN_BLOCK_LINKS:
            return run
        node = node.parent
        if node is None or node.name in ("body", "html", "[document]"):
            break
    return []


def _links_in(container: Tag, base_url: str, self_keys: set[str], self_title: str) -> list[tuple[Tag, str, str, Tag]]:
    """Distinct headline links inside ``container`` in document order, each with the element that is its item."""
    anchors = [container] if container.name == "a" else container.find_all("a", href=True)
    by_url: dict[str, tuple[Tag, str, str]] = {}
    for anchor in anchors:
        if not anchor.get("href"):
            continue
        url = resolve_link(base_url, str(anchor["href"]))
        if url is None or index_page(url):
            continue
        key = canonical_url(url)
        title = _link_title(anchor)
        folded = fold_text(title)
        if key in self_keys or len(folded) < MIN_TITLE_CHARS or (self_title and folded == self_title) \
                or _COLUMN_LABEL.search(title):
            continue
        if key not in by_url or len(title) > len(by_url[key][2]):
            by_url[key] = (by_url.get(key, (anchor,))[0], url, title)
    keys = set(by_url)
    result = []
    for key, (anchor, url, title) in by_url.items():
        result.append((anchor, url, title, _item_of(anchor, container, key, keys, base_url)))
    return result


def _media_tail(anchor: Tag) -> str | None:
    """The text of a play/listen badge closing the link (BBC: ``<span class="cta">收听 05:02</span>``), if any."""
    last = next((c for c in reversed(anchor.contents) if not (isinstance(c, str) and not c.strip())), None)
    if not isinstance(last, Tag) or last is anchor.contents[0]:
        return None
    tail = element_text(last)
    return tail if _MEDIA_TAIL.fullmatch(tail) else None


def _link_title(anchor: Tag) -> str:
    """The link's text; its ``title`` attribute (or an image's ``alt``) where the text is missing or cut short.

    A play/listen badge that ends the link (``收听05:02``: an element of its own, a duration) is not the headline.
    """
    text = element_text(anchor)
    tail = _media_tail(anchor)
    if tail and text.endswith(tail) and len(fold_text(text[: -len(tail)])) >= MIN_TITLE_CHARS:
        text = text[: -len(tail)].rstrip()
    attr = collapse_whitespace(str(anchor.get("title") or ""))
    if not text:
        image = anchor.find("img", alt=True)
        text = collapse_whitespace(str(image["alt"])) if image is not None else ""
    fragment, cut_start, cut_end = split_truncation(text)
    if attr and (not text or ((cut_start or cut_end) and fold_text(fragment) in fold_text(attr))):
        return attr
    return text


def _item_of(anchor: Tag, container: Tag, key: str, keys: set[str], base_url: str) -> Tag:
    """The largest element around a link, inside the block, that holds no other headline (an <li>, a card)."""
    item = anchor
    while item is not container and item.parent is not None and item.parent is not container:
        others = {canonical_url(u) for a in item.parent.find_all("a", href=True)
                  if (u := resolve_link(base_url, str(a["href"])))}
        if (others & keys) - {key}:
            break
        item = item.parent
    return item


def _selected_headlines(soup: BeautifulSoup, selector: str, base_url: str, self_keys: set[str],
                        self_title: str) -> list[RawItem]:
    compiled = compile_css(selector, "select.related", "related")
    links: list[tuple[Tag, str, str, Tag]] = []
    seen: set[str] = set()
    for element in compiled.select(soup):
        for anchor, url, title, _ in _links_in(element, base_url, self_keys, self_title):
            if canonical_url(url) not in seen:
                seen.add(canonical_url(url))
                links.append((anchor, url, title, element))
    return _headlines(links)


def _headlines(links: list[tuple[Tag, str, str, Tag]]) -> list[RawItem]:
    """RawItems from block links: the date printed in the item, and the item's other text as summary."""
    items = []
    for anchor, url, title, item in links:
        rest = element_text(item) if item is not None else ""
        # The headline's own words are not its context: the link's whole text first (with a 收听05:02 badge), then
        # the title as read (from a title attribute, when the link text is cut short).
        for shown in dict.fromkeys((element_text(anchor), title)):
            if shown and shown in rest:
                rest = collapse_whitespace(rest.replace(shown, " ", 1))
        date = next((m.group(0) for m in _DATE.finditer(rest)), None)
        without_date = collapse_whitespace(rest.replace(date, " ", 1)) if date else rest
        items.append(RawItem(
            title=title,
            url=url,
            published=date,
            summary=without_date if len(fold_text(without_date)) >= 10 else None,
            extra={"listed_title": title, "context": rest},
        ))
    return items

