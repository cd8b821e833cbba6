"""The data model every layer shares: a headline as a source showed it, and as the store keeps it.

``RawItem`` is what a scraper kind produces; ``monitor.prepare`` turns it into an ``Item`` (keys, ISO dates,
topics) for identity and the store. ``Page`` (``monitor.core.page``) is what a kind reads.
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
    extra: dict[str, Any] = field(default_factory=dict)   # what the source told beyond the fields (RawItem.extra)
