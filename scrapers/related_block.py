"""Finding the related-headlines block of an article page: which links under which heading are its headlines.

Almost every Chinese news article lists earlier coverage under a heading: 相关新闻 (people.com.cn's
``div#rwb_xgxw``), 相关推荐 (澎湃), 相关阅读 / 延伸阅读, 相關焦點 (the seed), 推荐阅读 (中新网).

With ``select.related`` configured (one element per headline, e.g. ``"div#rwb_xgxw li"``), that selector is used;
if it matches nothing on a page (a crawl crosses sites), the headings are tried. A heading is an element whose whole
text, punctuation aside, is one of ``RELATED_HEADINGS`` (first choice) or ``RECOMMENDED_HEADINGS`` (推荐阅读,
推荐新闻: used only when no related heading has links). From the heading (climbed to the largest element holding
nothing else), the block is the first following sibling holding two or more headline links, or a run of siblings
holding one each (``<li>`` after ``<li>``); when the heading's own siblings have none, its parent's siblings are
tried, up to ``MAX_CLIMB`` levels, never past a sibling that holds another heading. When no heading has such a block,
a **single headline** under a related heading (``RELATED_HEADINGS`` but 推荐阅读: a short story has one earlier
report) is a block of one: the first following element holding headline links holds just that one, and it is no
advertisement (``_advertisement``: an image-only link, a link to an ad or tracking host, an off-site link that
counts clicks or carries its target; front pages are no headline links at all). The weaker recommended headings
(推荐阅读 and ``RECOMMENDED_HEADINGS``) keep the two-link minimum. A headline link has an http(s)
URL that is not a site's front page, a section's index page (``monitor.core.urls.index_page``) nor the article
itself, and a text of at least ``MIN_TITLE_CHARS`` characters
(category labels such as 【新闻】 are not headlines) that does not end in a column separator (``半月谈丨``, a column
label linked before its headline); links to the same URL (a picture and its caption) count once.

Each headline comes with its item (the largest element around the link holding no other headline: an ``<li>``, a
card) and the item's other text, its *context*: the date printed beside it, a source, a snippet. The context is
what the seed reads like the text form's snippet (``scrapers.seed``); the date and the rest of the context are the
headline's ``published`` and ``summary``.

Pages whose related block is filled in by script (sina's 相关新闻 tab, xinhuanet's ``div.relate-news``) have none in
the HTML; the next heading (sina's 推荐新闻) or a configured selector is then all there is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.core.fold import fold_text, split_truncation
from monitor.core.model import RawItem
from monitor.core.urls import canonical_url, index_page, resolve_link, site_of
from scrapers.markup import collapse_whitespace, compile_css, element_text

if TYPE_CHECKING:   # the parser is imported where a page is read: `check` and `status` never load it
    from bs4 import BeautifulSoup, Tag

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

MAX_CLIMB = 3            # levels above the heading searched for its block
MIN_BLOCK_LINKS = 2      # links of a block found by its shape; a lone one only under RELATED_HEADINGS (see above)
MAX_RELATED = 100        # headlines read from one block
MIN_TITLE_CHARS = 5      # folded characters: shorter link texts are labels (新闻, 更多, 【详细】)
MIN_SUMMARY_CHARS = 10   # folded characters: a shorter context (a source name) is no summary

_HEADING_KEY = re.compile(r"[\W_]+")
_ANY_HEADING = re.compile("|".join(map(re.escape, RELATED_HEADINGS + RECOMMENDED_HEADINGS)))
# Hosts that serve advertisements or count clicks (Google, Baidu, Alibaba, Sina, Tencent ad networks and trackers).
AD_SITES = frozenset({"doubleclick.net", "googleadservices.com", "googlesyndication.com", "google-analytics.com",
                      "tanx.com", "mmstat.com", "alimama.com", "allyes.com", "miaozhen.com", "admaster.com.cn",
                      "gtags.net", "adsame.com", "ipinyou.com", "cpro.baidustatic.com", "bdstatic.com",
                      "amazon-adsystem.com", "taboola.com", "outbrain.com"})
# An ad or tracking link by its address: a click-counting path (/adclick, /click?, /ad/, /redirect), an ad host's
# name (pos.baidu.com, cpro.baidu.com, sax.sina.com.cn, ad.qq.com), or a target URL carried in the query.
_AD_ADDRESS = re.compile(
    r"^https?://(?:[^/]*\.)?(?:ad|ads|adx|adclick|sax|cpro|pos|click|track|e\.cn)\.[^/]+/"
    r"|/(?:ad|ads|adclick|aclk|click|clickthrough|redirect|track|tracking)(?:[/?.;]|$)"
    r"|[?&](?:url|u|target|dest|redirect|adurl)=(?:https?|%2F%2F|https?%3A)|[?&]utm_",
    re.I)
_SKIP_PARENTS = frozenset({"script", "style", "noscript", "template", "title", "textarea", "option"})
# Dates as pages print them: 2020-07-04 12:10:24, 2020年07月04日 12:10, 2019年06月15日08:18, 2020/7/4; or, beside
# a headline, 07-08 13:36 and 12月8日. Found here (beside a headline) and by scrapers.article (after the title);
# read by monitor.core.dates.parse_date in the configured zone.
PRINTED_DATE = re.compile(
    r"(?<!\d)(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?!\d)\s*[日号號]?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号號]|\d{1,2}-\d{1,2}(?=\s+\d{1,2}:\d{2}))"
    r"(?:\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?"
)
# A column label linked before the headline (news.cn: 新华全媒+丨, 经济参考报丨): it ends in the separator.
_COLUMN_LABEL = re.compile(r"[丨|｜]\s*$")
# A badge closing a headline link: an optional verb, then a running time (收听05:02, 视频 1:02:03).
_MEDIA_TAIL = re.compile(r"(?:收听|收聽|观看|觀看|播放|时长|時長|listen|watch|play)?\s*\d{1,2}:\d{2}(?::\d{2})?", re.I)


@dataclass(frozen=True)
class ListedHeadline:
    """A headline as the related block lists it: the link, and the text of its item around it."""

    title: str                  # the link's text (its title attribute where the text is cut short)
    url: str                    # absolute http(s)
    context: str                # the item's other text: a date, a source, a snippet ("" when there is none)
    published: str | None       # the first date printed in the context, as printed
    summary: str | None         # the context without that date, when it says something

    def raw_item(self) -> RawItem:
        """The headline as a kind hands it on (the context is the seed's to read, not something to store)."""
        return RawItem(title=self.title, url=self.url, published=self.published, summary=self.summary)


@dataclass
class RelatedBlock:
    """The related headlines of a page (at most ``MAX_RELATED``) and what found them."""

    heading: str | None = None      # the heading, "select.related", or None when the page has no block
    headlines: list[ListedHeadline] = field(default_factory=list)


def find_related_block(soup: BeautifulSoup, base_url: str, self_keys: set[str], self_title: str,
                       selector: str | None = None) -> RelatedBlock:
    """The related block of a parsed article page (see the module docstring).

    ``base_url`` resolves its links; ``self_keys`` (canonical URLs) and ``self_title`` (folded) are the article's
    own, so that it never lists itself; ``selector`` is the source's ``select.related``, tried first.
    """
    if selector:
        headlines = _selected_headlines(soup, selector, base_url, self_keys, self_title)
        if headlines:
            return RelatedBlock("select.related", headlines[:MAX_RELATED])
        log.debug("%s: select.related %r matched no headline; trying the headings", base_url, selector)
    block = _block_by_heading(soup, base_url, self_keys, self_title)
    block.headlines = block.headlines[:MAX_RELATED]
    return block


def _heading_key(text: str) -> str:
    key = _HEADING_KEY.sub("", text)
    return key[:-2] if key.endswith("更多") else key


def _headings(soup: BeautifulSoup) -> list[tuple[int, int, Tag, str]]:
    """(tier, document position, element, heading) for every heading element on the page."""
    from bs4 import Comment

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
                      self_title: str) -> RelatedBlock:
    headings = _headings(soup)
    heading_ids = {id(entry[2]) for entry in headings}
    for _tier, _position, element, heading in headings:
        links = _block_links(element, heading_ids, base_url, self_keys, self_title)
        if links:
            return RelatedBlock(heading, _headlines(links))
    # No block of two or more: a related heading with a single headline (never a recommended heading's lone link:
    # 推荐阅读 is a site's picks, filled in by script as often as not).
    for tier, _position, element, heading in headings:
        if tier == 0:
            link = _lone_headline(element, heading_ids, base_url, self_keys, self_title)
            if link is not None:
                return RelatedBlock(heading, _headlines([link]))
    return RelatedBlock()


def _lone_headline(heading: Tag, heading_ids: set[int], base_url: str, self_keys: set[str],
                   self_title: str) -> tuple[Tag, str, str, Tag] | None:
    """The one headline link of the first element after the heading that holds headline links (climbing as
    ``_block_links`` does), unless that link is an advertisement."""
    from bs4 import Tag

    node = heading
    for _level in range(MAX_CLIMB):
        for sibling in node.next_siblings:
            if not isinstance(sibling, Tag):
                continue
            if _contains_heading(sibling, heading_ids):
                return None
            links = _links_in(sibling, base_url, self_keys, self_title)
            if links:
                if len(links) == 1 and not _advertisement(links[0], sibling, base_url):
                    return links[0]
                return None
        node = node.parent
        if node is None or node.name in ("body", "html", "[document]"):
            break
    return None


def _advertisement(link: tuple[Tag, str, str, Tag], container: Tag, base_url: str) -> bool:
    """Whether a lone link under a related heading is an advertisement rather than a headline: an image-only link
    (every link to its URL shows a picture and no text), a link to an ad or tracking host, or a link whose address
    counts clicks or carries its target (``AD_SITES``, ``_AD_ADDRESS``) that leaves the page's site."""
    anchor, url, _title, _item = link
    key = canonical_url(url)
    same = [a for a in container.find_all("a", href=True) if (u := resolve_link(base_url, str(a["href"])))
            and canonical_url(u) == key] or [anchor]
    if all(not element_text(a) and a.find("img") is not None for a in same):
        return True
    site = site_of(url)
    if site in AD_SITES or any(site.endswith("." + ad) for ad in AD_SITES):
        return True
    return bool(_AD_ADDRESS.search(url)) and site != site_of(base_url)


def _contains_heading(element: Tag, heading_ids: set[int]) -> bool:
    return id(element) in heading_ids or any(id(d) in heading_ids for d in element.find_all(True))


def _block_links(heading: Tag, heading_ids: set[int], base_url: str, self_keys: set[str],
                 self_title: str) -> list[tuple[Tag, str, str, Tag]]:
    """The headline links of the block a heading introduces: (link, url, title, the item element holding it)."""
    from bs4 import Tag

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
    from bs4 import Tag

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
                        self_title: str) -> list[ListedHeadline]:
    compiled = compile_css(selector, "select.related", "related")
    links: list[tuple[Tag, str, str, Tag]] = []
    seen: set[str] = set()
    for element in compiled.select(soup):
        for anchor, url, title, _ in _links_in(element, base_url, self_keys, self_title):
            if canonical_url(url) not in seen:
                seen.add(canonical_url(url))
                links.append((anchor, url, title, element))
    return _headlines(links)


def _headlines(links: list[tuple[Tag, str, str, Tag]]) -> list[ListedHeadline]:
    """The headlines of block links: each with its item's other text, the date printed there, the rest as summary."""
    items = []
    for anchor, url, title, item in links:
        rest = element_text(item) if item is not None else ""
        # The headline's own words are not its context: the link's whole text first (with a 收听05:02 badge), then
        # the title as read (from a title attribute, when the link text is cut short).
        for shown in dict.fromkeys((element_text(anchor), title)):
            if shown and shown in rest:
                rest = collapse_whitespace(rest.replace(shown, " ", 1))
        date = next((m.group(0) for m in PRINTED_DATE.finditer(rest)), None)
        without_date = collapse_whitespace(rest.replace(date, " ", 1)) if date else rest
        items.append(ListedHeadline(
            title=title,
            url=url,
            context=rest,
            published=date,
            summary=without_date if len(fold_text(without_date)) >= MIN_SUMMARY_CHARS else None,
        ))
    return items
