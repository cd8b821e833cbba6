"""Seed documents: an article and the related-headline list (相關焦點) that starts a corpus.

Three forms are read:

* the text form (``../shared/seed/*.txt``): the article title on line 1, ``YYYY-MM-DD publisher`` on line 3, the
  body, then a related-headlines heading and one ``•`` bullet per headline, each followed by an indented snippet.
  Snippets hold facts the bullet lacks: ``… 2020-12-11 18:56 來源:澎湃新聞`` gives the date and publisher, a
  dateline ``12月8日訊`` the date, and a snippet that repeats a title cut short with "..." gives the full title.
* the project's headline-list data file (``data/seed-headlines.json``), made from the text form by
  ``run_monitor.py seed --write-data``: titles, publishers and dates only (facts; no snippets, no body).
* an HTML article page (a saved file or a fetched URL): its title, byline and related block, read by
  ``scrapers.article``. Each linked headline's item text (the snippet under it) is read exactly as the text
  form's snippet is, so the same list gives the same rows in either form; the HTML form adds each headline's URL.
  A saved file's relative links need the address it was published at: its canonical URL, or ``base_url``
  (``seed --base-url``).

The parser only reads; importing into the database is ``monitor.seeding``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace

from monitor.core.errors import SeedError
from monitor.core.fold import fold_text, split_truncation
from monitor.core.model import Article
from monitor.core.page import Page
from scrapers.article import read_article_page
from scrapers.related_block import RELATED_HEADINGS

DATA_FORMAT = "news-monitor/seed-headlines"
DATA_VERSION = 1
# Where a saved page without an address is read from to tell whether its related block links relatively
# (".invalid" is reserved: RFC 2606).
_PROBE_BASE = "http://saved-page.invalid/"

_BULLET = re.compile(r"^\s*[•·●▪◦]\s*(.+?)\s*$")
_DATE_THEN_SOURCE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?)\s*[來来]源\s*[:：]")
_LEADING_DATE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?)")
_SOURCE = re.compile(r"[來来]源\s*[:：]\s*(\S+)")
_DATELINE = re.compile(r"(\d{1,2}月\d{1,2}日)(?:[訊讯電电])")
_ARTICLE_LINE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?)\s+(.+?)\s*$")
# Where a title ends inside a snippet that repeats it: whitespace, a date, or sentence punctuation.
_TITLE_END = re.compile(r"\s|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}月\d{1,2}日|[,，。;；]")


@dataclass
class SeedHeadline:
    """One headline of a seed: the full title where it could be recovered, and the title as listed."""

    title: str
    listed_title: str
    publisher: str | None = None
    published: str | None = None     # as written ("2020-12-11 18:56", "12月8日") or ISO 8601 in the data file
    summary: str | None = None       # the snippet (text and HTML forms)
    url: str | None = None           # the link (HTML form only)


@dataclass
class SeedList:
    article: SeedHeadline
    related: list[SeedHeadline] = field(default_factory=list)
    heading: str = "相關焦點"


def parse_seed_text(text: str, *, name: str = "seed") -> SeedList:
    """Read the text form of a seed document; SeedError names the document and what is missing."""
    lines = text.replace("\r\n", "\n").split("\n")
    content = [line for line in lines if line.strip()]
    if len(content) < 2:
        raise SeedError(f"{name}: not a seed document: expected a title line and a 'date publisher' line")
    article = SeedHeadline(title=content[0].strip(), listed_title=content[0].strip())
    match = _ARTICLE_LINE.match(content[1])
    if match:
        article.published, article.publisher = match.group(1), match.group(2)
    heading_at = next((i for i, line in enumerate(lines) if line.strip() in RELATED_HEADINGS), None)
    if heading_at is None:
        raise SeedError(f"{name}: no related-headlines heading found (looked for {', '.join(RELATED_HEADINGS)})")
    seed = SeedList(article=article, heading=lines[heading_at].strip())
    current: list[str] | None = None
    blocks: list[tuple[str, list[str]]] = []
    for line in lines[heading_at + 1:]:
        bullet = _BULLET.match(line)
        if bullet:
            current = []
            blocks.append((bullet.group(1), current))
        elif line.strip() and current is not None:
            current.append(line.strip())
    if not blocks:
        raise SeedError(f"{name}: the '{seed.heading}' block lists no headlines ('•' bullets)")
    for listed, snippet_lines in blocks:
        seed.related.append(_read_headline(listed, " ".join(snippet_lines)))
    return seed


def parse_seed_html(page: Page, *, name: str = "seed", base_url: str | None = None) -> SeedList:
    """Read an article page as a seed: the article and its related block (SeedError if it has none).

    ``page.url`` is where the page was fetched from ("" for a file). ``base_url`` is the address a saved page was
    published at (``seed --base-url``); relative links resolve against ``url``, else ``base_url``, else the page's
    canonical URL. A page with none of them whose related block links with relative addresses is refused with a
    message that says so, rather than read without them (or read from a weaker block that happens to be absolute).
    """
    page_url = page.url or base_url or ""
    article, block = read_article_page(replace(page, url=page_url))
    if not page_url and article.canonical_url:
        page_url = article.canonical_url
        article, block = read_article_page(replace(page, url=page_url))
    if not article.title:
        raise SeedError(f"{name}: the HTML page has no title (<h1>, og:title or <title>)")
    if not page_url:
        _refuse_relative_links(page, article, name)
    if not article.related:
        raise SeedError(f"{name}: no related-headlines block found in the HTML page (looked for headings "
                        f"{', '.join(RELATED_HEADINGS)} followed by a list of links)")
    seed = SeedList(article=SeedHeadline(title=article.title, listed_title=article.title,
                                         publisher=article.publisher, published=article.published,
                                         url=article.canonical_url or page_url or None),
                    heading=article.heading or "相關焦點")
    for listed in block.headlines:
        headline = _read_headline(listed.title, listed.context)
        headline.url = listed.url
        seed.related.append(headline)
    return seed


def _refuse_relative_links(page: Page, article: Article, name: str) -> None:
    """SeedError if the page, read as if it had an address, has a related block it lacks without one.

    Without an address, relative links (澎湃's ``newsDetail_forward_5417616``) cannot be made absolute and are left
    out; the block then looks empty, or a weaker block with absolute links is read in its place.
    """
    probe, _ = read_article_page(replace(page, url=_PROBE_BASE))
    if not probe.related or (probe.heading, len(probe.related)) == (article.heading, len(article.related)):
        return
    relative = [h for h in probe.related if h.url and h.url.startswith(_PROBE_BASE)]
    if not relative:
        return
    example = relative[0].url[len(_PROBE_BASE) - 1:]
    raise SeedError(
        f"{name}: the related-headlines block ({probe.heading}, {len(probe.related)} headlines) links with relative "
        f"addresses (such as {example}) and the saved page has no base URL (no <link rel=\"canonical\">, og:url "
        f"or absolute <base href>), so they cannot be made absolute; give the address the page was published at "
        f"with `seed --base-url URL FILE`, or seed the page by its URL instead of the saved file")


def _read_headline(listed: str, snippet: str) -> SeedHeadline:
    headline = SeedHeadline(title=_recover_title(listed, snippet), listed_title=listed, summary=snippet or None)
    dated = _DATE_THEN_SOURCE.search(snippet) or _LEADING_DATE.match(snippet)
    if dated:
        headline.published = dated.group(1)
    else:
        dateline = _DATELINE.search(snippet)
        headline.published = dateline.group(1) if dateline else None
    source = _SOURCE.search(snippet)
    if source:
        headline.publisher = _undouble(source.group(1))
    return headline


def _recover_title(listed: str, snippet: str) -> str:
    """The full title, where the snippet repeats a title the list cut short with "..."; else the listed title."""
    fragment, cut_start, cut_end = split_truncation(listed)
    if not (cut_start or cut_end) or not fragment or not snippet:
        return listed
    # Compared folded: lists and snippets differ in punctuation (」「 in the list, 】「 in the snippet).
    wanted = fold_text(fragment)
    folded, positions = _fold_with_positions(snippet)
    at = folded.find(wanted) if wanted else -1
    if at < 0 or (not cut_start and at != 0):
        return listed
    if cut_start and re.search(r"[,，。;；]", snippet[: positions[at]]):
        return listed  # the fragment sits inside the body text, not in a repeated title
    end = _TITLE_END.search(snippet, positions[at + len(wanted) - 1] + 1)
    return snippet[: end.start() if end else len(snippet)].strip()


def _fold_with_positions(value: str) -> tuple[str, list[int]]:
    """The folded text and, for each folded character, the index of the original character it came from."""
    folded: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(value):
        for folded_char in fold_text(char):
            folded.append(folded_char)
            positions.append(index)
    return "".join(folded), positions


def _undouble(publisher: str) -> str:
    """'華夏時報華夏時報記者' -> '華夏時報': a byline that repeats the outlet name runs on after 來源:."""
    for size in range(2, len(publisher) // 2 + 1):
        if publisher[size: 2 * size] == publisher[:size]:
            return publisher[:size]
    return publisher


# --- the data file ---------------------------------------------------------------------------------------


def seed_to_data(seed: SeedList, *, source_document: str, timezone: str) -> dict:
    """The headline list as facts for the data file: no snippets, no body.

    Dates are written as the parser read them; ``timezone`` records the zone they are in, so importing the data
    file gives exactly the rows that importing the document gives.
    """

    def facts(headline: SeedHeadline) -> dict:
        record = asdict(headline)
        record.pop("summary")
        if record["url"] is None:    # the text form has no links: its data file stays as it was
            record.pop("url")
        return record

    return {
        "format": DATA_FORMAT,
        "version": DATA_VERSION,
        "source_document": source_document,
        "timezone": timezone,
        "heading": seed.heading,
        "article": facts(seed.article),
        "related": [facts(h) for h in seed.related],
    }


def parse_seed_data(text: str, *, name: str = "seed data") -> tuple[SeedList, str | None]:
    """Read the data file; returns the list and the time zone its dates are written in."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SeedError(f"{name}: not valid JSON: {error}") from None
    if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
        raise SeedError(f"{name}: not a seed headline-list file (expected \"format\": \"{DATA_FORMAT}\")")
    if data.get("version") != DATA_VERSION:
        raise SeedError(f"{name}: seed data version {data.get('version')!r} is not supported (expected {DATA_VERSION})")
    try:
        article = _headline_from(data["article"])
        related = [_headline_from(h) for h in data["related"]]
    except (KeyError, TypeError) as error:
        raise SeedError(f"{name}: malformed headline entry: missing {error}") from None
    return SeedList(article=article, related=related, heading=data.get("heading", "相關焦點")), data.get("timezone")


def _headline_from(record: dict) -> SeedHeadline:
    return SeedHeadline(
        title=record["title"],
        listed_title=record.get("listed_title") or record["title"],
        publisher=record.get("publisher"),
        published=record.get("published"),
        url=record.get("url"),
    )
