"""run_source(): one scrape of one source, top to bottom.

fetch (conditional GET) -> scrape (the kind's parser) -> normalise -> match topics -> store (identity, sightings)
-> remember ETag/Last-Modified -> record the run. Every failure becomes a recorded run with a reason a person
understands; nothing here lets one source's failure reach another. Within a source, a page that fails (a child
sitemap gone or refused) does not stop the others: they are read, and the run is an error naming the first one,
because a child that always fails would otherwise hide every child listed after it, run after run.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from db.store import Store
from db.transaction import database_problem
from monitor import __version__
from monitor.config import Config, SourceConfig
from monitor.core import logs
from monitor.core.errors import FetchError, ScrapeError, StoreError
from monitor.core.model import RawItem
from monitor.fetch import Fetcher, FetchResult
from monitor.prepare import prepare
from scrapers import get_kind
from scrapers.registry import Kind

log = logging.getLogger(__name__)

STORE_BATCH = 1000   # items prepared and stored per transaction: a huge page's items are not all held at once


@dataclass
class RunResult:
    source: str
    run_id: int                  # 0: not recorded (the database could not take the run's row)
    status: str                  # ok, not_modified, error
    items_seen: int = 0
    items_new: int = 0
    http_status: int | None = None
    error: str | None = None
    error_class: str | None = None
    encoding: str | None = None      # the text encoding the scraper decoded the (first) page with
    consecutive_failures: int = 0    # the source's failures in a row, this run included
    replaced_bytes: int = 0          # bytes of the run's pages that could not be decoded (read as U+FFFD)
    notes: list[str] = field(default_factory=list)   # what the run left out or repaired; kept in runs.error

    @property
    def note(self) -> str | None:
        """The notes as one text (max_items reached, untitled items left out, bytes replaced), or None."""
        return "; ".join(self.notes) or None

    def line(self) -> str:
        """One line for the terminal: ``people-politics: ok, 12 items seen, 3 new``."""
        if self.status == "error":
            return f"{self.source}: error ({self.error_class}): {self.error}"
        if self.status == "not_modified":
            return f"{self.source}: not modified (HTTP 304), nothing to read"
        note = f" ({self.note})" if self.note else ""
        return f"{self.source}: ok, {self.items_seen} items seen, {self.items_new} new{note}"


def run_source(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher, zone: tzinfo) -> RunResult:
    """Scrape one source once and record the run; never raises for a source's own failure. What is logged
    meanwhile carries the source's name and the run id (``--log-format json``)."""
    with logs.in_run(source.name):
        return _run_source(source, config=config, store=store, fetcher=fetcher, zone=zone)


def _run_source(source: SourceConfig, *, config: Config, store: Store, fetcher: Fetcher, zone: tzinfo) -> RunResult:
    try:
        run_id = store.start_run(source.name)
    except StoreError as error:      # the database cannot take even the run's row (full, locked): say so, go on
        log.error("%s: %s", source.name, error)
        return RunResult(source=source.name, run_id=0, status="error", error=str(error),
                         error_class=error.error_class)
    logs.note_run(run_id)
    result = RunResult(source=source.name, run_id=run_id, status="ok")
    kind = get_kind(source.kind)
    options = {"select": dict(source.select)}
    reading = _reading(source, config)
    # A kind that only crawls (related) has no page to scrape here: the spider below fetches, reads and stores its
    # own pages.
    pages = _PageQueue(source) if kind.scrape else []
    followed: list[tuple[int, str]] = []    # (item id, url) of stored items whose pages `follow: related` reads
    fetched_any = False
    failed: list[FetchError | ScrapeError] = []   # pages that could not be read; the others still are
    over_cap = 0                                 # items left out by max_items
    untitled: list[str] = []                     # raw items left out for having no usable title
    try:
        for url, configured in pages:
            try:
                read = _read_page(url, configured, source, kind, options, store=store, fetcher=fetcher,
                                  result=result, reading=reading)
            except (FetchError, ScrapeError) as error:
                failed.append(error)
                log.warning("%s: page not read: %s", source.name, error)
                continue
            pages.add(read.discovered)
            if read.not_modified:
                continue
            fetched_any = True
            if read.seen_again is not None:
                result.items_seen += len(read.seen_again)
                if source.follow:
                    followed += [(item_id, link) for _, item_id, link in read.seen_again if link]
                store.remember_http_cache(source.name, url, read.etag, read.last_modified, read.discovered,
                                          read.digest, [sighting for sighting, _, _ in read.seen_again])
                continue
            mark, capped_before, untitled_before = store.last_sighting_id(), over_cap, len(untitled)
            raw_items, read.raw_items = read.raw_items, []
            raw_items.reverse()                  # popped from the end below: each batch is let go once stored
            reference = datetime.now(zone)
            while raw_items:
                batch = [raw_items.pop() for _ in range(min(STORE_BATCH, len(raw_items)))]
                # DESIGN.md: every item is labelled with each configured topic it matches, whatever its source; a
                # source's own `topics:` only decides which items it keeps (those matching one of them).
                prepared = prepare(batch, zone=zone, rules=config.topics, keep=source.topics, reference=reference)
                untitled += prepared.untitled
                items = prepared.items
                room = max(0, source.max_items - result.items_seen)
                over_cap += max(0, len(items) - room)
                items = items[:room]
                saved = store.save_items(items, source=source.name, run_id=run_id)
                result.items_seen += saved.seen
                result.items_new += saved.new
                if source.follow:
                    followed += [(i, item.url) for i, item in zip(saved.item_ids, items, strict=True) if item.url]
            # Remembered only once the items are stored, so a failed parse is retried in full next time. The digest
            # only for a page read whole (nothing capped or left untitled): its sightings are then all it gives.
            whole = over_cap == capped_before and len(untitled) == untitled_before
            store.remember_http_cache(source.name, url, read.etag, read.last_modified, read.discovered,
                                      read.digest if whole else None,
                                      store.sightings_since(run_id, mark) if whole else None)
        if kind.crawl or followed:
            # Article pages: what they say fills their items; related headlines become items and links.
            from monitor import spider  # here: a feed's run never walks pages

            crawl = spider.crawl(source, followed, config=config, store=store, fetcher=fetcher, zone=zone,
                                 run_id=run_id)
            crawl.add_to(result)
            fetched_any = fetched_any or kind.crawl is not None
        _add_notes(result, source, over_cap=over_cap, untitled=untitled)
        if failed:
            _fail(result, failed)
        elif not fetched_any:
            result.status = "not_modified"
    except (FetchError, ScrapeError, StoreError) as error:
        _fail(result, [error])
    except Exception as error:
        problem = database_problem(error, store.path)   # SQLite's own fault (full disk, damaged file...): no bug
        if problem is not None:
            log.error("%s: %s", source.name, problem)
            _fail(result, [problem])
        else:  # a bug or an unexpected input: record it, keep the other sources running
            log.exception("source %s: unexpected error", source.name)
            result.status, result.error_class = "error", "internal"
            result.error = f"unexpected {type(error).__name__}: {error} (a bug: please report it with the log)"
    try:
        result.consecutive_failures = store.finish_run(
            run_id, status=result.status, items_seen=result.items_seen, items_new=result.items_new,
            http_status=result.http_status, error="; ".join(filter(None, (result.error, result.note))) or None,
            error_class=result.error_class, encoding=result.encoding, replaced_bytes=result.replaced_bytes,
        )
    except StoreError as error:
        # The database cannot take the run's record now (still full, still locked): the result is still reported;
        # the row left 'running' is closed as interrupted when the database is next opened.
        log.error("%s: run %d could not be recorded: %s", source.name, run_id, error)
    log.info("%s", result.line())
    return result


@dataclass
class _Read:
    """One page of a run: what of the answer is remembered, the raw items its scraper found and the URLs it lists
    (sitemap children). Not the body: once scraped, it is let go (a 30 MB feed need not stay for the whole run)."""

    not_modified: bool
    etag: str | None
    last_modified: str | None
    raw_items: list[RawItem]
    discovered: list[str]
    digest: str | None = None       # of the body and of how it is read (``_page_digest``)
    # The same digest as last time: (sighting id, item id, url) of the sightings recorded again, nothing parsed.
    seen_again: list[tuple[int, int, str | None]] | None = None

    @classmethod
    def of(cls, response: FetchResult, raw_items: list[RawItem], discovered: list[str], **more) -> _Read:
        return cls(response.not_modified, response.etag, response.last_modified, raw_items, discovered, **more)


def _read_page(url: str, configured: bool, source: SourceConfig, kind: Kind, options: dict, *, store: Store,
               fetcher: Fetcher, result: RunResult, reading: bytes) -> _Read:
    """Fetch one page (conditionally) and scrape it; the run learns the HTTP status and the page's codec.

    The same bytes as last time, read the same way (a server that sends no validators), are not parsed: the
    sightings their read recorded are recorded again (``db.store.repeats``), as many as a read would give, and the
    URLs the page listed are the ones it listed then, as after a 304.
    """
    etag, last_modified, discovered = store.http_cache(source.name, url)
    response = fetcher.fetch(url, etag=etag, last_modified=last_modified, settings=source.http,
                             configured=configured)
    result.http_status = response.status
    if response.not_modified:
        # An unchanged sitemap index still lists children that may have changed: the ones it listed last time.
        return _Read.of(response, [], discovered)
    page = response.page
    # The codec is known once the page is decoded, even when reading it then fails or finds nothing.
    result.encoding = result.encoding or page.codec
    result.replaced_bytes += page.replaced_bytes
    digest = _page_digest(page.body, reading)
    remembered, sightings = store.page_memory(source.name, url)
    if remembered == digest and len(sightings) <= source.max_items - result.items_seen:
        again = store.see_again(sightings, source=source.name, run_id=result.run_id)
        if again is not None:
            return _Read.of(response, [], discovered, digest=digest, seen_again=again)
    return _Read.of(response, kind.items(page, options), kind.discover(page, options) if kind.discover else [],
                    digest=digest)


def _reading(source: SourceConfig, config: Config) -> bytes:
    """What decides which items a page gives and how they are labelled: the kind and its selectors, the source's
    topics, the configured topic rules, and the release. Part of each page's digest: a change reads it again."""
    return repr((__version__, source.kind, sorted(source.select.items()), source.topics,
                 config.topics)).encode("utf-8")


def _page_digest(body: bytes, reading: bytes) -> str:
    """SHA-256 of a body and of how it is read (``_reading``)."""
    digest = hashlib.sha256(body)
    digest.update(reading)
    return digest.hexdigest()


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


def _add_notes(result: RunResult, source: SourceConfig, *, over_cap: int, untitled: list[str]) -> None:
    """What the run left out or repaired, noted on the run (runs.error of an ok run) and logged."""
    notes = []
    if over_cap:
        notes.append(f"max_items={source.max_items} reached: {over_cap} more items were not stored; "
                     "raise sources[].max_items if the source lists more")
    if untitled:
        shown = next((title for title in untitled if title.strip()), "")
        such_as = f", such as {shown.strip()[:20]!r}" if shown else ""
        notes.append(f"{len(untitled)} items had no usable title (empty or only punctuation{such_as}) and were not "
                     "stored")
    if result.replaced_bytes:
        notes.append(f"{result.replaced_bytes} bytes could not be decoded as {result.encoding} and were replaced "
                     "by U+FFFD; the rest was read")
    for note in notes:
        log.warning("%s: %s", source.name, note)
    result.notes += notes


def _fail(result: RunResult, failed: list[FetchError | ScrapeError | StoreError]) -> None:
    """Make the run an error: the first page that failed says why; how many others failed is added."""
    first = failed[0]
    more = f" ({len(failed) - 1} more pages of this source failed too: see the log)" if len(failed) > 1 else ""
    result.status, result.error, result.error_class = "error", f"{first}{more}", first.error_class
    result.http_status = getattr(first, "http_status", None) or result.http_status

