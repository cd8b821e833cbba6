"""The related-headlines spider: grow the corpus the way the seed does, by following related blocks.

A source of kind ``related`` (and an ``rss``/``html`` source with ``follow: related``) runs this after, or instead
of, the usual fetch-and-scrape. Like Media Cloud's topic spider, it walks from start pages through the related
blocks of article pages, with a relevance test before each fetch:

1. **Start pages** (depth 0): the source's ``url``/``urls``; with neither, stored items matched by the source's
   topics whose page is due (newest first); for ``follow: related``, the items the feed or list page just gave.
2. **Each page** is fetched (politely, by the one fetcher), read by a crawling kind (``related``: its ``crawl``);
   what it says about itself (canonical URL, title, publisher, date) fills what its item lacks, and its related
   headlines become items (identity rules apply in the store) and rows of ``links`` (from the page's item,
   depth = page depth + 1).
3. **The relevance gate**: a source with ``topics`` keeps only the related headlines whose title (or the text shown
   with it) matches one of them. An off-topic headline is neither stored nor fetched: the corpus is the topic's,
   and a site's sidebar picks (sports, weather) would otherwise flood it. A source without topics keeps all.
4. **Limits**: headlines of a page at depth ``d`` are stored while ``d + 1 <= max_depth`` and their pages fetched
   while ``d + 1 < max_depth``; at most ``max_pages`` pages per run besides the configured start URLs; only pages
   in ``allowed_domains`` (default: the sites of the start pages, ``culture.people.com.cn`` allowing all of
   ``people.com.cn``); and never a page fetched within ``revisit_after`` (table ``pages``; a timeout, connection
   error, 429 or 5xx is retried at the next run instead). A recent page is not fetched, but the related items
   stored from it are walked, so a run resumes where ``max_pages`` stopped the previous one.

Failures of discovered pages are recorded in ``pages`` and logged; they never fail the run. A configured start page
that cannot be fetched makes the run an error (after the other pages were read).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from db.store import PageFetch, Store
from monitor.config import Config, SourceConfig
from monitor.core import dates, urls
from monitor.core.errors import FetchError
from monitor.core.model import Article
from monitor.fetch import Fetcher
from monitor.prepare import prepare
from monitor.prepare.topics import TopicRule, match_topics, wanted
from scrapers import get_kind
from scrapers.registry import Crawl

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Start:
    """A depth-0 page: its URL, the item it already is (if any), and whether config.yaml names it."""

    url: str
    item_id: int | None = None
    configured: bool = False


@dataclass
class CrawlResult:
    """What one crawl did; ``add_to`` folds it into the run's result."""

    items_seen: int = 0
    items_new: int = 0
    links_new: int = 0
    pages_fetched: int = 0
    pages_fresh: int = 0          # skipped: fetched within revisit_after
    pages_failed: int = 0
    off_topic: int = 0            # related headlines the relevance gate turned away
    encoding: str | None = None
    replaced_bytes: int = 0       # bytes of the pages read that could not be decoded (read as U+FFFD)
    http_status: int | None = None
    error: FetchError | None = None   # a configured start page that could not be fetched

    def add_to(self, result) -> None:
        """Add counts to a ``pipeline.RunResult``; a failed configured start page makes the run an error."""
        result.items_seen += self.items_seen
        result.items_new += self.items_new
        result.encoding = result.encoding or self.encoding
        result.replaced_bytes += self.replaced_bytes
        result.http_status = self.http_status or result.http_status
        if self.error is not None:
            result.status, result.error, result.error_class = "error", str(self.error), self.error.error_class
            result.http_status = self.error.http_status or result.http_status


@dataclass
class _Task:
    url: str
    depth: int
    item_id: int | None
    configured: bool


@dataclass
class _Crawl:
    """One run's walk: the queue, what was visited, and the budget."""

    source: SourceConfig
    store: Store
    fetcher: Fetcher
    zone: tzinfo
    run_id: int
    rules: tuple[TopicRule, ...]
    allowed: tuple[str, ...]
    result: CrawlResult = field(default_factory=CrawlResult)
    queue: deque[_Task] = field(default_factory=deque)
    queued: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.budget = self.source.max_pages
        self.fresh_since = datetime.now(self.zone) - timedelta(seconds=self.source.revisit_after)
        self.read_article, self.options = article_reader(self.source)

    def add(self, task: _Task) -> None:
        key = urls.canonical_url(task.url)
        if key not in self.queued:
            self.queued.add(key)
            self.queue.append(task)

    def run(self) -> CrawlResult:
        while self.queue:
            task = self.queue.popleft()
            if not task.configured and not self._allowed(task.url):
                log.debug("%s: %s is outside allowed_domains %s; not fetched", self.source.name, task.url,
                          ", ".join(self.allowed))
                continue
            key = urls.canonical_url(task.url)
            fresh = self.store.fresh_page(key, self.fresh_since)
            if fresh is not None:
                self.result.pages_fresh += 1
                self._resume(fresh, task.depth)
                continue
            if not task.configured:
                if self.budget <= 0:
                    log.warning("%s: max_pages=%d reached; %d more pages are left for a later run",
                                self.source.name, self.source.max_pages, len(self.queue) + 1)
                    break
                self.budget -= 1
            self._visit(task, key)
        return self.result

    def _resume(self, page, depth: int) -> None:
        """A page fetched recently is not fetched again, but the related items stored from it are still walked:
        pages a previous run left over (max_pages) are reached without fetching anything twice."""
        if page["item_id"] is None or depth + 1 >= self.source.max_depth:
            return
        for row in self.store.related_items(page["item_id"]):
            if wanted(match_topics(self.rules, row["title"], row["summary"]), self.source.topics):
                self.add(_Task(row["url"], depth + 1, row["id"], configured=False))

    def _allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        return any(host == domain or host.endswith("." + domain) for domain in self.allowed)

    def _visit(self, task: _Task, key: str) -> None:
        name = self.source.name
        try:
            response = self.fetcher.fetch(task.url, settings=self.source.http, configured=task.configured)
        except FetchError as error:
            self.result.pages_failed += 1
            self.store.record_page(PageFetch(key, task.url, source=name, run_id=self.run_id, depth=task.depth,
                                             status="error", item_id=task.item_id, http_status=error.http_status,
                                             error_class=error.error_class, error=str(error)))
            if task.configured:
                self.result.error = self.result.error or error
            log.warning("%s: article page not read: %s", name, error)
            return
        self.result.pages_fetched += 1
        self.result.http_status = self.result.http_status or response.status
        article = self.read_article(response.page, self.options)
        self.result.encoding = self.result.encoding or response.page.codec
        self.result.replaced_bytes += response.page.replaced_bytes
        item_id = self._store_page(article, task)
        found, kept = len(article.related), 0
        if item_id is not None and task.depth + 1 <= self.source.max_depth:
            kept = self._store_related(article, item_id, task.depth + 1)
        elif item_id is None and article.related:
            log.warning("%s: %s has no title; its %d related headlines are not linked", name, task.url, found)
        self.store.record_page(PageFetch(key, task.url, source=name, run_id=self.run_id, depth=task.depth,
                                         status="ok", item_id=item_id, final_url=response.url,
                                         canonical_url=article.canonical_url, http_status=response.status,
                                         heading=article.heading, related_found=found, related_kept=kept))
        log.debug("%s: %s (depth %d): %d related under %r, %d kept", name, task.url, task.depth, found,
                  article.heading, kept)

    def _store_page(self, article: Article, task: _Task) -> int | None:
        """The page as an item: fills the row it was fetched for, or is stored (a configured start page)."""
        raw = article.as_raw_item(url=task.url)
        prepared = prepare([raw] if raw else [], zone=self.zone, rules=self.rules)
        if not prepared.items:
            return task.item_id
        item = prepared.items[0]
        if task.item_id is not None:
            self.store.fill_item(task.item_id, item, source=self.source.name, run_id=self.run_id)
            self.result.items_seen += 1
            return task.item_id
        saved = self.store.save_items([item], source=self.source.name, run_id=self.run_id)
        self.result.items_seen += saved.seen
        self.result.items_new += saved.new
        return saved.item_ids[0]

    def _store_related(self, article: Article, item_id: int, depth: int) -> int:
        """The relevance gate, then the kept headlines as items and links; queues their pages. Returns how many."""
        reference = dates.parse_date(article.published, self.zone) if article.published else None
        prepared = prepare(article.related, zone=self.zone, rules=self.rules, keep=self.source.topics,
                           reference=reference)
        for item in prepared.off_topic:
            log.debug("%s: off-topic, not followed: %s (%s)", self.source.name, item.title, item.url)
        self.result.off_topic += len(prepared.off_topic)
        kept = prepared.items
        if not kept:
            return 0
        saved = self.store.save_items(kept, source=self.source.name, run_id=self.run_id)
        self.result.items_seen += saved.seen
        self.result.items_new += saved.new
        self.result.links_new += self.store.add_links(item_id, saved.item_ids, depth=depth, run_id=self.run_id)
        if depth < self.source.max_depth:
            for related_id, item in zip(saved.item_ids, kept, strict=True):
                if item.url and related_id != item_id:
                    self.add(_Task(item.url, depth, related_id, configured=False))
        return len(kept)


def article_reader(source: SourceConfig) -> tuple[Crawl, dict]:
    """The crawling kind's reader for this source's article pages, with its options: the source's own kind
    (``kind: related``, with the source's ``select``), else the kind it follows with (``follow: related``)."""
    kind = get_kind(source.kind)
    if kind.crawl:
        return kind.crawl, {"select": dict(source.select)}
    return get_kind(source.follow).crawl, {}


def crawl(source: SourceConfig, followed: list[tuple[int, str]], *, config: Config, store: Store,
          fetcher: Fetcher, zone: tzinfo, run_id: int) -> CrawlResult:
    """Crawl from the source's start pages (kind ``related``) or from ``followed`` items (``follow: related``).

    ``followed`` holds (item id, url) of the items this run stored. A ``related`` source without url/urls starts
    from stored items of its topics (config validation makes sure it has topics).
    """
    starts = [Start(url=url, item_id=item_id) for item_id, url in followed]
    if get_kind(source.kind).crawl:
        starts = [Start(url=url, configured=True) for url in source.start_urls]
        if not starts:
            since = datetime.now(zone) - timedelta(seconds=source.revisit_after)
            starts = [Start(url=url, item_id=item_id) for item_id, url in
                      store.items_to_follow(source.topics, not_fetched_since=since, limit=source.max_pages)]
            log.info("%s: %d stored items of topics %s to start from", source.name, len(starts),
                     ", ".join(source.topics))
    allowed = source.allowed_domains or tuple(sorted({urls.site_of(start.url) for start in starts} - {""}))
    # Labels come from every configured topic; the source's own topics are the relevance gate (topics.wanted).
    walk = _Crawl(source=source, store=store, fetcher=fetcher, zone=zone, run_id=run_id, rules=config.topics,
                  allowed=allowed)
    for start in starts:
        walk.add(_Task(start.url, 0, start.item_id, start.configured))
    result = walk.run()
    log.info("%s: spider fetched %d pages (%d failed, %d fetched recently), kept %d related headlines "
             "(%d off-topic turned away), %d new links", source.name, result.pages_fetched, result.pages_failed,
             result.pages_fresh, result.items_seen, result.off_topic, result.links_new)
    return result
