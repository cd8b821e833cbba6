"""run_source(): one scrape of one source, top to bottom.

fetch (conditional GET) -> scrape (the kind's parser) -> normalise -> match topics -> store (identity, sightings)
-> remember ETag/Last-Modified -> record the run. Every failure becomes a recorded run with a reason a person
understands; nothing here lets one source's failure reach another.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, tzinfo

from db.store import Store
from monitor import spider
from monitor.config import Config, SourceConfig
from monitor.errors import FetchError, ScrapeError
from monitor.fetch import Fetcher
from monitor.normalise import Item, apply_topics, normalise
from scrapers import get_kind

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    source: str
    run_id: int
    status: str                  # ok, not_modified, error
    items_seen: int = 0
    items_new: int = 0
    http_status: int | None = None
    error: str | None = None
    error_class: str | None = None
    encoding: str | None = None      # the text encoding the scraper decoded the (first) page with
    consecutive_failures: int = 0    # the source's failures in a row, this run included

    def line(self) -> str:
        """One line for the terminal: ``people-politics  ok  12 seen, 3 new``."""
        if self.status == "error":
            return f"{self.source}: error ({self.error_class}): {self.error}"
        if self.status == "not_modified":
            return f"{self.source}: not modified (HTTP 304), nothing to read"
        return f"{self.source}: ok, {self.items_seen} items seen, {self.items_new} new"


def run_source(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher, zone: tzinfo) -> RunResult:
    """Scrape one source once and record the run; never raises for a source's own failure."""
    run_id = store.start_run(source.name)
    result = RunResult(source=source.name, run_id=run_id, status="ok")
    # A source with topics keeps only matching items; items of other sources are labelled with every topic.
    rules = config.topic_rules(source.topics) if source.topics else config.topics
    kind = get_kind(source.kind)
    options = {"select": dict(source.select)}
    # Kind `related` has no page to scrape here: the spider below fetches, reads and stores its own pages.
    pages = _PageQueue(source) if source.kind != spider.RELATED_KIND else []
    followed: list[tuple[int, str]] = []    # (item id, url) of stored items whose pages `follow: related` reads
    fetched_any = False
    try:
        for url, configured in pages:
            etag, last_modified, discovered = store.http_cache(url)
            response = fetcher.fetch(url, etag=etag, last_modified=last_modified, settings=source.http,
                                     **({} if configured else {"configured": False}))
            result.http_status = response.status
            if response.not_modified:
                pages.add(discovered)    # an unchanged sitemap index still lists children that may have changed
                continue
            fetched_any = True
            page = response.as_page()
            raw_items = kind.scrape(page, options)
            discovered = kind.discover(page, options) if kind.discover else []
            pages.add(discovered)
            result.encoding = result.encoding or _encoding_of(raw_items)
            items = _prepare(raw_items, zone, rules, keep_unmatched=not source.topics)
            items = items[: max(0, source.max_items - result.items_seen)]
            saved = store.save_items(items, source=source.name, run_id=run_id)
            result.items_seen += saved.seen
            result.items_new += saved.new
            if source.follow == spider.FOLLOW_RELATED:
                followed += [(i, item.url) for i, item in zip(saved.item_ids, items, strict=True) if item.url]
            # Remembered only once the items are stored, so a failed parse is retried in full next time.
            store.remember_http_cache(url, response.etag, response.last_modified, discovered)
        if source.kind == spider.RELATED_KIND or followed:
            # Article pages: what they say fills their items; related headlines become items and links.
            crawl = spider.crawl(source, followed, config=config, store=store, fetcher=fetcher, zone=zone,
                                 run_id=run_id)
            crawl.add_to(result)
            fetched_any = fetched_any or source.kind == spider.RELATED_KIND
        if result.items_seen >= source.max_items:
            log.warning("%s: stopped at max_items=%d items in this run; raise it if the source lists more",
                        source.name, source.max_items)
        if not fetched_any:
            result.status = "not_modified"
    except (FetchError, ScrapeError) as error:
        result.status, result.error, result.error_class = "error", str(error), error.error_class
        result.http_status = getattr(error, "http_status", None) or result.http_status
    except Exception as error:  # a bug or an unexpected input: record it, keep the other sources running
        log.exception("source %s: unexpected error", source.name)
        result.status, result.error_class = "error", "internal"
        result.error = f"unexpected {type(error).__name__}: {error} (a bug: please report it with the log)"
    result.consecutive_failures = store.finish_run(
        run_id, status=result.status, items_seen=result.items_seen, items_new=result.items_new,
        http_status=result.http_status, error=result.error, error_class=result.error_class, encoding=result.encoding,
    )
    log.info("%s", result.line())
    return result


class _PageQueue:
    """The URLs one run fetches: the configured start URLs, then discovered ones (a sitemap index's children).

    Each URL is fetched at most once per run (so a sitemap index listing itself is no loop) and discovered URLs are
    capped by the source's ``max_pages``.
    """

    def __init__(self, source: SourceConfig):
        self.source = source
        self.queue: deque[tuple[str, bool]] = deque((url, True) for url in source.start_urls)
        self.seen = set(source.start_urls)
        self.discovered = 0

    def __iter__(self):
        while self.queue:
            yield self.queue.popleft()

    def add(self, urls: list[str]) -> None:
        for url in urls:
            if url in self.seen:
                continue
            if self.discovered >= self.source.max_pages:
                log.warning("%s: max_pages=%d reached; %s and later pages are left for another run",
                            self.source.name, self.source.max_pages, url)
                return
            self.seen.add(url)
            self.discovered += 1
            self.queue.append((url, False))


def _encoding_of(raw_items) -> str | None:
    return next((raw.extra.get("encoding") for raw in raw_items if raw.extra.get("encoding")), None)


def _prepare(raw_items, zone: tzinfo, rules, *, keep_unmatched: bool) -> list[Item]:
    """Normalise and topic-match; a source with topics keeps only the items that match one."""
    now = datetime.now(zone)
    items = []
    for raw in raw_items:
        item = normalise(raw, zone, reference=now)
        if item is None:
            continue
        apply_topics(item, rules)
        if keep_unmatched or item.topics:
            items.append(item)
    return items
