"""The registry of scraper kinds, and what a kind may do with a page.

A kind turns a fetched ``Page`` (already decoded: ``page.text``) into data. It never touches the database, never
fetches and never sleeps; bad input raises ``monitor.core.errors.ScrapeError``. Built-in kinds register themselves
exactly as a user's plug-in would, with ``@register("kind", ...)``, declaring what they do:

* ``scrape``: the headlines a page lists (a feed, a list page, an API answer, a sitemap) as ``RawItem``s;
* ``discover``: more pages of the same source to fetch in this run (a sitemap index's children); the pipeline
  fetches them, capped by the source's ``max_pages``, each URL at most once per run;
* ``crawl``: an article page read as an ``Article`` (what it says about itself, and the headlines of its related
  block). A source of such a kind is walked by the spider (``monitor.spider``) from its start pages, and another
  source's ``follow: KIND`` walks the pages of the items it stored.

The application asks a kind what it can do, never its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.core.encoding import garbled_reason
from monitor.core.errors import ScrapeError
from monitor.core.model import Article, RawItem
from monitor.core.page import Page

Scrape = Callable[[Page, dict[str, Any]], list[RawItem]]
Discover = Callable[[Page, dict[str, Any]], list[str]]
Crawl = Callable[[Page, dict[str, Any]], Article]


@dataclass(frozen=True)
class Kind:
    """A registered kind: what it does with a page, and the ``select:`` fields config.yaml may give it."""

    name: str
    scrape: Scrape | None = None
    discover: Discover | None = None
    crawl: Crawl | None = None
    select_fields: frozenset[str] = frozenset()    # empty: the kind takes no `select:` mapping
    required_select: frozenset[str] = frozenset()
    needs_url: bool = True                         # False: a source of this kind may start without url/urls

    def items(self, page: Page, options: dict[str, Any]) -> list[RawItem]:
        """The headlines ``page`` lists, refused (``encoding``) when their text is garbled.

        Decoding never fails (``monitor.core.encoding``), so a page whose bytes match no encoding comes out as
        mojibake; judged here, on the text the kind is about to hand over, for every kind alike.
        """
        items = self.scrape(page, options) if self.scrape else []
        garbled = garbled_reason(text for item in items for text in (item.title, item.summary, item.publisher))
        if garbled:
            raise ScrapeError(f"{self.name}: the text read from {page.url} is garbled ({garbled}, decoded as "
                              f"{page.codec}): the bytes do not match the encoding they declare, so nothing was "
                              "stored; if it reads correctly in a browser, please report it with this URL",
                              error_class="encoding")
        return items


_REGISTRY: dict[str, Kind] = {}


def add_kind(name: str, *, scrape: Scrape | None = None, discover: Discover | None = None,
             crawl: Crawl | None = None, select_fields: tuple[str, ...] = (), required_select: tuple[str, ...] = (),
             needs_url: bool = True) -> Kind:
    """Register kind ``name`` (the ``kind:`` value in config.yaml) with what it can do.

    ``select_fields`` names the keys a source of this kind may give under ``select:``; config validation uses it,
    so a new kind needs no change outside its own module.
    """
    if not (scrape or crawl):
        raise ValueError(f"scraper kind {name!r} neither scrapes nor crawls")
    kind = Kind(name, scrape, discover, crawl, frozenset(select_fields), frozenset(required_select), needs_url)
    registered = _REGISTRY.get(name)
    if registered is not None and (registered.scrape, registered.crawl) != (scrape, crawl):
        raise ValueError(f"scraper kind {name!r} is registered twice")
    _REGISTRY[name] = kind
    return kind


def register(name: str, **capabilities):
    """``@register("kind", ...)`` on a scrape function: ``add_kind(name, scrape=function, ...)``."""

    def decorator(func: Scrape) -> Scrape:
        add_kind(name, scrape=func, **capabilities)
        return func

    return decorator


def get_kind(kind: str) -> Kind:
    """The registered kind; KeyError if no such kind is registered."""
    return _REGISTRY[kind]


def get_scraper(kind: str) -> Scrape | None:
    """The scrape function of ``kind``; KeyError if no such kind is registered."""
    return _REGISTRY[kind].scrape


def registered_kinds() -> list[str]:
    return sorted(_REGISTRY)


def crawling_kinds() -> list[str]:
    """The kinds whose pages the spider reads (``kind: K`` runs the spider; ``follow: K`` follows items with it)."""
    return [name for name in registered_kinds() if _REGISTRY[name].crawl]


def discovering_kinds() -> list[str]:
    """The kinds that list more pages of their own source (their sources may set ``max_pages``)."""
    return [name for name in registered_kinds() if _REGISTRY[name].discover]
