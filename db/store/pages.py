"""The related-headlines spider's tables: the article pages it fetched (``pages``) and "A lists B" (``links``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from db.store.base import StoreBase
from monitor.core import dates

# Fetch errors worth retrying at the next run (with any http_5xx); the spider waits revisit_after after any other.
TRANSIENT_ERRORS = ("timeout", "connection", "http_429", "interrupted")


@dataclass(frozen=True)
class PageFetch:
    """One fetch of an article page, as ``pages`` keeps it (one row per page, replaced at each fetch)."""

    url_key: str                       # canonical form of the URL fetched
    url: str                           # the URL as fetched (the related link)
    source: str
    run_id: int | None
    depth: int                         # 0 for a start page
    status: str                        # ok or error
    item_id: int | None = None         # the item this page is
    final_url: str | None = None       # after redirects
    canonical_url: str | None = None   # what the page says it is (rel=canonical / og:url)
    http_status: int | None = None
    error_class: str | None = None
    error: str | None = None
    heading: str | None = None         # the related block's heading (相关新闻...) or select.related
    related_found: int = 0             # headlines in the related block
    related_kept: int = 0              # ... that passed the source's topics (stored as items and links)


class Pages(StoreBase):
    """The ``pages`` and ``links`` tables."""

    def record_page(self, page: PageFetch) -> None:
        """Remember a fetch of an article page (one row per page, replaced at each fetch)."""
        with self._writing():
            self.conn.execute(
                """INSERT OR REPLACE INTO pages (url_key, url, final_url, canonical_url, item_id, source, run_id,
                   depth, fetched_at, status, http_status, error_class, error, heading, related_found, related_kept)
                   VALUES (:url_key, :url, :final_url, :canonical_url, :item_id, :source, :run_id, :depth, :fetched_at,
                   :status, :http_status, :error_class, :error, :heading, :related_found, :related_kept)""",
                {**asdict(page), "fetched_at": self.now()},
            )

    def fresh_page(self, url_key: str, since: datetime) -> sqlite3.Row | None:
        """The ``pages`` row if the spider fetched this page (successfully, or with a lasting error) since then."""
        with self._lock:
            row = self.conn.execute(
                "SELECT * FROM pages WHERE url_key = ? AND julianday(fetched_at) >= julianday(?)",
                (url_key, dates.iso(since.astimezone(self.zone))),
            ).fetchone()
        return row if row is not None and (row["status"] == "ok" or not _transient(row["error_class"])) else None

    def items_to_follow(self, topics: Iterable[str], *, not_fetched_since: datetime,
                        limit: int) -> list[tuple[int, str]]:
        """(id, url) of stored items matching any of ``topics`` whose page is not fetched since then (or failed for a
        transient reason), newest first."""
        topics = list(topics)
        if not topics or limit <= 0:
            return []
        marks = ", ".join("?" for _ in topics)
        transient = ", ".join("?" for _ in TRANSIENT_ERRORS)
        with self._lock:
            rows = self.conn.execute(
                f"""SELECT DISTINCT items.id, items.url FROM items
                    JOIN item_topics ON item_topics.item_id = items.id AND item_topics.topic IN ({marks})
                    LEFT JOIN pages ON pages.url_key = items.url_key
                    WHERE items.url IS NOT NULL
                      AND (pages.url_key IS NULL OR julianday(pages.fetched_at) < julianday(?)
                           OR pages.error_class IN ({transient})
                           OR pages.error_class LIKE 'http!_5%' ESCAPE '!')
                    ORDER BY coalesce(items.published_at, items.first_seen_at) DESC, items.id DESC
                    LIMIT ?""",
                (*topics, dates.iso(not_fetched_since.astimezone(self.zone)), *TRANSIENT_ERRORS, limit),
            ).fetchall()
        return [(row["id"], row["url"]) for row in rows]

    def add_links(self, from_item_id: int, to_item_ids: Iterable[int], *, depth: int, run_id: int | None) -> int:
        """Record "from lists each of to as related"; returns how many links are new."""
        added = 0
        with self._writing():
            now = self.now()
            for to_item_id in to_item_ids:
                if to_item_id == from_item_id:
                    continue
                cursor = self.conn.execute(
                    "INSERT OR IGNORE INTO links (from_item_id, to_item_id, depth, run_id, first_seen_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (from_item_id, to_item_id, depth, run_id, now),
                )
                added += cursor.rowcount
        return added

    def related_items(self, item_id: int) -> list[sqlite3.Row]:
        """Items ``item_id`` lists as related that have a URL (id, url, title, summary): a crawl resumes from them."""
        with self._lock:
            return self.conn.execute(
                "SELECT items.id, items.url, items.title, items.summary FROM links "
                "JOIN items ON items.id = links.to_item_id WHERE links.from_item_id = ? AND items.url IS NOT NULL "
                "ORDER BY links.rowid",
                (item_id,),
            ).fetchall()


def _transient(error_class: str | None) -> bool:
    """A fetch error worth retrying at the next run (the spider waits revisit_after after any other one)."""
    return error_class in TRANSIENT_ERRORS or (error_class or "").startswith("http_5")
