"""Raw items as sources show them -> normalised items with identity keys, ISO dates and matched topics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from monitor import text
from monitor.topics import TopicRule, match_topics
from scrapers.base import RawItem

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2000
_SUFFIX_ROOM = 100     # characters past the title cap in which an outlet suffix is still looked for
_SPACES = re.compile(r"\s+")


@dataclass
class Item:
    """One headline ready for the store: what to show, and the keys identity is decided on."""

    title: str                        # outlet suffix removed, whitespace collapsed
    title_key: str                    # text.title_key(): identity rules 2 and 3
    seen_title: str                   # as the source showed it (kept on the sighting)
    url: str | None = None
    url_key: str | None = None        # text.canonical_url(): identity rule 1
    summary: str | None = None
    publisher: str | None = None
    publisher_key: str | None = None
    published_at: str | None = None   # ISO 8601 with offset
    title_cut: str = ""               # '', 'start', 'end', 'both'
    origin: str = "scraped"           # 'seed' for rows from a seed document
    topics: dict[str, list[str]] = field(default_factory=dict)


def clean(value: str | None, limit: int) -> str | None:
    """Collapse whitespace and cap the length; empty becomes None."""
    if value is None:
        return None
    value = _SPACES.sub(" ", value).strip()
    return value[:limit] or None


def normalise(raw: RawItem, zone: tzinfo, *, origin: str = "scraped", reference: datetime | None = None) -> Item | None:
    """Turn a RawItem into an Item; None when it has no usable title."""
    # Capped after the outlet suffix is read, so an over-long title still gives its publisher ("... - 澎湃新闻").
    seen_title = clean(raw.title, MAX_TITLE_CHARS + _SUFFIX_ROOM)
    if not seen_title:
        return None
    publisher = clean(raw.publisher, 200)
    title, outlet = text.strip_outlet_suffix(seen_title, publisher)
    title, seen_title = title[:MAX_TITLE_CHARS], seen_title[:MAX_TITLE_CHARS]
    publisher = publisher or outlet
    _, cut_start, cut_end = text.split_truncation(title)
    title_key = text.title_key(title, publisher)
    if not title_key:
        return None
    url = clean(raw.url, 2000)
    published = text.parse_date(raw.published, zone, reference=reference) if raw.published else None
    return Item(
        title=title,
        title_key=title_key,
        seen_title=seen_title,
        url=url,
        url_key=text.canonical_url(url) if url else None,
        summary=clean(raw.summary, MAX_SUMMARY_CHARS),
        publisher=publisher,
        publisher_key=text.publisher_key(publisher),
        published_at=text.iso(published.astimezone(zone)) if published else None,
        title_cut={(False, False): "", (True, False): "start", (False, True): "end", (True, True): "both"}[
            (cut_start, cut_end)
        ],
        origin=origin,
    )


def apply_topics(item: Item, rules: tuple[TopicRule, ...]) -> Item:
    """Record on the item which topics (and keywords) it matches."""
    item.topics = match_topics(rules, item.title, item.summary)
    return item
