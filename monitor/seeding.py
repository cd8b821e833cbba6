"""Import seed documents into the store: the article, its related headlines, and the links between them.

A seed is a file (the text form, an HTML article page, or the headline-list data file) or the URL of an article
page, fetched with the project's fetcher.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from db.store import Store
from monitor.core import dates
from monitor.core.errors import FetchError, SeedError
from monitor.core.model import RawItem
from monitor.core.page import read_page
from monitor.fetch import Fetcher
from monitor.fetch.settings import HttpSettings
from monitor.prepare import prepare
from monitor.prepare.topics import TopicRule
from scrapers.seed import SeedHeadline, SeedList, parse_seed_data, parse_seed_html, parse_seed_text

log = logging.getLogger(__name__)

SEED_SOURCE = "seed"   # the source name seed imports are recorded under in runs and sightings
_URL = re.compile(r"^https?://", re.I)


def seed_url(location: str | Path) -> str | None:
    """The URL a seed argument names, or None for a file path."""
    return str(location) if isinstance(location, str) and _URL.match(location) else None


@dataclass
class SeedImport:
    path: Path | str
    already_imported: bool
    items_seen: int = 0
    items_new: int = 0
    links_new: int = 0


def read_seed_file(path: Path | str, http: HttpSettings | None = None,
                   base_url: str | None = None) -> tuple[SeedList, str | None, bytes]:
    """Parse a seed in any known form; returns the list, the zone its data file names (if any), the bytes.

    ``path`` may be the URL of an article page (fetched with ``http``, default settings if None). ``base_url`` is
    the address a saved HTML page was published at (``seed --base-url``): its relative links resolve against it.
    It is ignored for a URL (the page's own address) and for the text and data forms (they have no links).
    """
    if base_url is not None and not _URL.match(base_url):
        raise SeedError(f"base URL {base_url!r} is not an http:// or https:// address")
    url = seed_url(path)
    if url:
        try:
            with Fetcher(http or HttpSettings()) as fetcher:
                page = fetcher.fetch(url).page
        except FetchError as error:
            raise SeedError(f"{url}: cannot fetch the seed page: {error}") from None
        return parse_seed_html(page, name=url), None, page.body
    path = Path(path)
    try:
        body = path.read_bytes()
    except OSError as error:
        raise SeedError(f"{path}: cannot read the seed file: {error.strerror or error}") from None
    if _is_html(body):
        # HTML pages come in any encoding: read_page decodes them as it decodes fetched pages.
        return parse_seed_html(read_page("", body), name=str(path), base_url=base_url), None, body
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeedError(f"{path}: the seed file is not UTF-8 text") from None
    if content.lstrip().startswith("{"):
        seed, zone_name = parse_seed_data(content, name=str(path))
        return seed, zone_name, body
    return parse_seed_text(content, name=str(path)), None, body


def import_seed(store: Store, path: Path | str, zone: tzinfo, rules: tuple[TopicRule, ...] = (),
                http: HttpSettings | None = None, base_url: str | None = None,
                on_item: Callable[[int, int], None] | None = None) -> SeedImport:
    """Import one seed file or page URL, labelling its items with the topics they match; the same bytes twice
    change nothing (``already_imported``).

    ``base_url``: the address a saved HTML page was published at (see ``read_seed_file``). The same file imported
    with another base URL gives other links, so it is not "already imported". ``on_item(done, total)``: progress.
    """
    seed, data_zone, body = read_seed_file(path, http, base_url)
    fingerprint = hashlib.sha256(body)
    if base_url and not seed_url(path) and _is_html(body):
        fingerprint.update(b"\0base-url:" + base_url.encode("utf-8"))
    digest = fingerprint.hexdigest()
    if store.seed_imported(digest):
        return SeedImport(path=path, already_imported=True)
    if data_zone:
        zone = dates.zone(data_zone)
    first = prepare([_raw_item(seed.article)], zone=zone, rules=rules, origin="seed")
    if not first.items:
        raise SeedError(f"{path}: the seed article has no title")
    article = first.items[0]
    reference = dates.parse_date(seed.article.published, zone) if seed.article.published else None
    related = prepare([_raw_item(h) for h in seed.related], zone=zone, rules=rules, origin="seed",
                      reference=reference).items
    run_id = store.start_run(SEED_SOURCE)
    try:
        saved = store.save_items([article, *related], source=SEED_SOURCE, run_id=run_id, on_item=on_item)
        article_id, *related_ids = saved.item_ids
        links_new = store.add_links(article_id, related_ids, depth=1, run_id=run_id)
    except Exception as error:
        store.finish_run(run_id, status="error", error=f"seed {path}: {error}",
                         error_class=getattr(error, "error_class", "internal"))
        raise
    store.finish_run(run_id, status="ok", items_seen=saved.seen, items_new=saved.new)
    store.record_seed_import(digest, str(path), saved.seen, run_id)
    log.info("seed %s: %d items (%d new), %d links", path, saved.seen, saved.new, links_new)
    return SeedImport(path=path, already_imported=False, items_seen=saved.seen, items_new=saved.new,
                      links_new=links_new)


def _is_html(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"   # after a UTF-8 byte-order mark too


def _raw_item(headline: SeedHeadline) -> RawItem:
    return RawItem(title=headline.title, url=headline.url, summary=headline.summary, publisher=headline.publisher,
                   published=headline.published)
