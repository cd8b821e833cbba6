"""Raw items -> items ready for identity and the store: normalised, labelled with topics, gated by the source.

``prepare`` is the one step every path into the store takes: the run of a source (``monitor.pipeline``), the
spider's article pages and related headlines (``monitor.spider``) and the seed import (``monitor.seeding``).

1. **normalise** (``normalise.py``): whitespace, the outlet suffix read off the title (it may name the publisher),
   cut-short marks, identity keys, the date in the configured zone;
2. **label** (``topics.py``): every configured topic the item matches, whatever its source (DESIGN.md);
3. **gate**: a source with ``topics:`` keeps only the items matching one of its own (``topics.wanted``); a source
   without keeps everything. Items with no usable title (none, or only punctuation: ``&``, ``…``) are left out
   and counted (``Prepared.untitled``): the run notes them, as it notes the entries a feed gives no title.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from monitor.core.model import Item, RawItem
from monitor.prepare.topics import TopicRule, match_topics, wanted


@dataclass
class Prepared:
    """What ``prepare`` made of a batch of raw items."""

    items: list[Item] = field(default_factory=list)       # kept, in the order the source listed them
    off_topic: list[Item] = field(default_factory=list)   # turned away by the source's topics
    untitled: list[str] = field(default_factory=list)     # the titles (as given) of raw items left out for having
    #                                                       no usable title: empty, or only punctuation ("&", "…")


def prepare(raw_items: Iterable[RawItem], *, zone: tzinfo, rules: tuple[TopicRule, ...], keep: Iterable[str] = (),
            origin: str = "scraped", reference: datetime | None = None) -> Prepared:
    """Normalise each raw item, label it with every topic of ``rules`` it matches, and keep it if ``keep`` (the
    source's own topics) wants it. ``reference`` dates a printed date that has no year (``12月11日``)."""
    from monitor.prepare.normalise import normalise  # here: config imports this package for TopicRule alone

    keep = tuple(keep)
    prepared = Prepared()
    for raw in raw_items:
        item = normalise(raw, zone, origin=origin, reference=reference)
        if item is None:   # no usable title
            prepared.untitled.append(raw.title or "")
            continue
        item.topics = match_topics(rules, item.title, item.summary)
        (prepared.items if wanted(item.topics, keep) else prepared.off_topic).append(item)
    return prepared


__all__ = ["Prepared", "TopicRule", "prepare"]
