"""The data model every layer shares: a headline as a source showed it, and as the store keeps it.

``RawItem`` is what a scraper kind produces; ``monitor.prepare`` turns it into an ``Item`` (keys, ISO dates,
topics) for identity and the store. An ``Article`` is what a crawling kind reads from an article page (for the
spider). ``Page`` (``monitor.core.page``) is what every kind reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class RawItem:
    """One headline as a source showed it, before normalising.

    ``published`` is either a timezone-aware datetime (feeds give struct times) or the text as printed on the page
    (``2020年12月11日 18:56``); the pipeline turns both into ISO 8601 with the configured time zone.
    """

    title: str
    url: str | None = None
    summary: str | None = None
    publisher: str | None = None
    published: datetime | str | None = None
    guid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)



@dataclass
class Item:
    """One headline ready for the store: what to show, and the keys identity is decided on."""

    title: str                        # outlet suffix removed, whitespace collapsed
    title_key: str                    # outlets.title_key(): identity rules 2 and 3
    seen_title: str                   # as the source showed it (kept on the sighting)
    url: str | None = None
    url_key: str | None = None        # urls.canonical_url(): identity rule 1
    summary: str | None = None
    publisher: str | None = None
    publisher_key: str | None = None
    published_at: str | None = None   # ISO 8601 with offset
    title_cut: str = ""               # '', 'start', 'end', 'both'
    origin: str = "scraped"           # 'seed' for rows from a seed document
    topics: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)   # what the source told beyond the fields (RawItem.extra)


@dataclass
class Article:
    """What an article page says about itself, and the headlines its related block lists."""

    url: str                            # the page's URL (after redirects): what relative links resolve against
    title: str | None = None
    canonical_url: str | None = None
    publisher: str | None = None
    published: str | None = None        # as written on the page; parsed later in the configured zone
    summary: str | None = None          # <meta name=description>
    heading: str | None = None          # the related block's heading, or "select.related"
    related: list[RawItem] = field(default_factory=list)

    def as_raw_item(self, url: str | None = None) -> RawItem | None:
        """The article itself as a headline (``url``: the address it is known by, default the page's)."""
        if not self.title:
            return None
        return RawItem(title=self.title, url=url or self.url, summary=self.summary, publisher=self.publisher,
                       published=self.published, extra={"canonical_url": self.canonical_url})
