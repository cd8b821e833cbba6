"""The store: the one writer of the SQLite file.

It keeps every item, sighting and run, and never loses a stored row: each batch is one transaction, and a merge
only fills in or lengthens what a row already has. Identity is decided by ``monitor.identity.rules`` over the
candidate rows the store looks up here; every new item then joins a story or founds one (``db/stories.py``; the
rule is ``items.story_matched_by``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import sqlite_utils

from db.health import health_flags
from db.schema import migrate
from db.search import register_search_tokenizer
from db.stories import StoryIndex
from monitor import identity
from monitor.core import dates
from monitor.core.model import Item
from monitor.identity import rules
from monitor.identity.candidates import event_day
from monitor.identity.rules import Decision
from monitor.identity.stories import story_to_join

log = logging.getLogger(__name__)



@dataclass
class SaveResult:
    seen: int = 0
    new: int = 0
    item_ids: list[int] | None = None


class KnownKeys:
    """Which of a batch's URL and title keys exist at all, read for the whole batch in a few queries: most new
    items have neither, and skip their own look-ups. A key written during the batch is always looked up."""

    CHUNK = 500   # keys per query (SQLite's parameter limit is 999 on old builds)

    def __init__(self, conn: sqlite3.Connection, items: list[Item]):
        self.urls = self._present(conn, "url_key", {item.url_key for item in items if item.url_key})
        # An item whose URL is stored is decided by it (rule 1): its headline is not needed, so not made.
        undecided = [item for item in items if item.url_key not in self.urls]
        # Each key in the column exact_rows looks it up in, so nothing is said present that it would not find.
        self.title_keys = self._present(conn, "title_key", {item.title_key for item in undecided})
        self.core_keys = self._present(conn, "core_key", {identity.headline(item.title).key for item in undecided})
        self.written: set[str] = set()

    @classmethod
    def _present(cls, conn: sqlite3.Connection, column: str, keys: set[str]) -> set[str]:
        keys, found = list(keys), set()
        for start in range(0, len(keys), cls.CHUNK):
            chunk = keys[start:start + cls.CHUNK]
            found.update(key for (key,) in conn.execute(
                f"SELECT {column} FROM items WHERE {column} IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def may_have_url(self, key: str) -> bool:
        return key in self.urls or key in self.written

    def may_have_title(self, title_key: str, core_key: str) -> bool:
        """Whether ``StoryIndex.exact_rows`` may find a row: the folded title or the core title is stored."""
        return title_key in self.title_keys or core_key in self.core_keys or title_key in self.written \
            or core_key in self.written

    def wrote(self, *keys: str | None) -> None:
        """Keys the batch has just written (a URL, title or core key): later items look them up."""
        self.written.update(key for key in keys if key)


class Store:
    """Open (creating and migrating) the database; every write goes through one lock and one connection."""

    def __init__(self, path: str | Path, zone: tzinfo):
        self.path = Path(path)
        self.zone = zone
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        register_search_tokenizer(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn
        # Closed at interpreter exit at the latest: a connection left to module teardown calls the Python search
        # tokenizer after its module is gone, and the process dies with a segmentation fault.
        self._closer = weakref.finalize(self, conn.close)
        self.db = sqlite_utils.Database(conn)
        self.stories = StoryIndex(conn)
        self._lock = threading.RLock()
        with self._lock:
            migrate(self.db)
            self._close_interrupted_runs()

    def close(self) -> None:
        with self._lock:
            self._closer()

    def now(self) -> str:
        return dates.iso(datetime.now(self.zone))

    # --- sources and runs --------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable) -> None:
        """Mirror the configured sources into ``sources``; rows of removed sources are kept, marked in_config=0."""
        sources = list(sources)
        with self._lock, self.conn:
            self.conn.execute("UPDATE sources SET in_config = 0")
            for source in sources:
                self.conn.execute(
                    """INSERT INTO sources (name, kind, url, schedule, topics, enabled, in_config)
                       VALUES (?, ?, ?, ?, ?, ?, 1)
                       ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, url=excluded.url,
                         schedule=excluded.schedule, topics=excluded.topics, enabled=excluded.enabled, in_config=1""",
                    (source.name, source.kind, " ".join(source.start_urls), source.schedule,
                     json.dumps(list(source.topics), ensure_ascii=False), int(source.enabled)),
                )

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "UPDATE sources SET next_run_at = ? WHERE name = ?",
                (dates.iso(when.astimezone(self.zone)) if when else None, source),
            )

    def set_backoff(self, source: str, until: datetime | None) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "UPDATE sources SET backoff_until = ? WHERE name = ?",
                (dates.iso(until.astimezone(self.zone)) if until else None, source),
            )

    def backoffs(self) -> dict[str, datetime]:
        """Each backed-off source's ``backoff_until``: a restart must not retry it sooner."""
        with self._lock:
            rows = self.conn.execute("SELECT name, backoff_until FROM sources WHERE backoff_until IS NOT NULL")
            return {name: datetime.fromisoformat(until) for name, until in rows}   # stored with their offset

    def start_run(self, source: str) -> int:
        with self._lock, self.conn:
            cursor = self.conn.execute(
                "INSERT INTO runs (source, started_at, status) VALUES (?, ?, 'running')", (source, self.now())
            )
            return cursor.lastrowid

    def finish_run(self, run_id: int, *, status: str, items_seen: int = 0, items_new: int = 0,
                   http_status: int | None = None, error: str | None = None, error_class: str | None = None,
                   encoding: str | None = None) -> int:
        """Close a run and update its source's health; returns the source's consecutive failures now.

        Failures are counted and reset by any success; the flags of ``db.health`` are recomputed.
        """
        finished = self.now()
        with self._lock, self.conn:
            row = self.conn.execute("SELECT source, started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            elapsed = (datetime.fromisoformat(finished) - datetime.fromisoformat(row["started_at"])).total_seconds()
            self.conn.execute(
                """UPDATE runs SET finished_at=?, status=?, http_status=?, items_seen=?, items_new=?,
                   error=?, error_class=?, encoding=?, elapsed_s=? WHERE id=?""",
                (finished, status, http_status, items_seen, items_new, error, error_class, encoding,
                 round(elapsed, 3), run_id),
            )
            if status == "error":
                self.conn.execute(
                    """UPDATE sources SET last_run_at=?, last_status=?, last_error=?, last_error_class=?,
                       consecutive_failures = consecutive_failures + 1 WHERE name=?""",
                    (finished, status, error, error_class, row["source"]),
                )
            else:
                self.conn.execute(
                    """UPDATE sources SET last_run_at=?, last_success_at=?, last_status=?, last_error=NULL,
                       last_error_class=NULL, consecutive_failures=0, items_found = items_found + ?,
                       last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END WHERE name=?""",
                    (finished, finished, status, items_new, items_new, row["started_at"], row["source"]),
                )
            return self._update_flags(row["source"])

    def _update_flags(self, source: str) -> int:
        state = self.conn.execute(
            "SELECT consecutive_failures, last_error_class, items_found FROM sources WHERE name = ?", (source,)
        ).fetchone()
        if state is None:       # a pseudo-source such as 'seed'
            return 0
        new_item_times = [
            datetime.fromisoformat(r[0]) for r in self.conn.execute(
                "SELECT started_at FROM runs WHERE source = ? AND items_new > 0 ORDER BY id DESC LIMIT 20", (source,))
        ]
        flags = health_flags(consecutive_failures=state["consecutive_failures"],
                             last_error_class=state["last_error_class"], ever_found_items=state["items_found"] > 0,
                             new_item_times=new_item_times, now=datetime.now(self.zone))
        self.conn.execute("UPDATE sources SET flags = ? WHERE name = ?", (", ".join(flags), source))
        return state["consecutive_failures"]

    def _close_interrupted_runs(self) -> None:
        """Runs left 'running' by a killed process are closed as errors, so status never shows a ghost run."""
        with self.conn:
            self.conn.execute(
                """UPDATE runs SET status='error', error_class='interrupted', finished_at=?,
                   error='the monitor stopped before this run finished' WHERE status='running'""",
                (self.now(),),
            )

    # --- conditional GET state ---------------------------------------------------------------------------

    def http_cache(self, source: str, url: str) -> tuple[str | None, str | None, list[str]]:
        """ETag, Last-Modified and the URLs the page listed when ``source`` last read ``url``.

        Per source: another source's validators would make the server answer 304 to a version this one never read.
        """
        with self._lock:   # the connection is shared by the scheduler's threads: reads take the lock too
            row = self.conn.execute(
                "SELECT etag, last_modified, discovered FROM http_cache WHERE source = ? AND url = ?", (source, url)
            ).fetchone()
        if not row:
            return None, None, []
        return row["etag"], row["last_modified"], json.loads(row["discovered"] or "[]")

    def remember_http_cache(self, source: str, url: str, etag: str | None, last_modified: str | None,
                            discovered: list[str] | None = None) -> None:
        if not etag and not last_modified:
            return
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO http_cache (source, url, etag, last_modified, discovered, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (source, url, etag, last_modified, json.dumps(discovered or [], ensure_ascii=False), self.now()),
            )

    # --- seed imports ------------------------------------------------------------------------------------

    def seed_imported(self, sha256: str) -> bool:
        with self._lock:
            return self.conn.execute("SELECT 1 FROM seed_imports WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def record_seed_import(self, sha256: str, path: str, items: int, run_id: int) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT OR IGNORE INTO seed_imports (sha256, path, imported_at, items, run_id) VALUES (?, ?, ?, ?, ?)",
                (sha256, path, self.now(), items, run_id),
            )

    # --- items -------------------------------------------------------------------------------------------

    def save_items(self, items: Iterable[Item], *, source: str, run_id: int | None) -> SaveResult:
        """Store a batch in one transaction: each item merged into the row it is the same as, or added."""
        result = SaveResult(item_ids=[])
        items = list(items)
        with self._lock:
            try:
                with self.conn:
                    seen_at = self.now()
                    known = KnownKeys(self.conn, items)
                    for item in items:
                        found = self._find(item, seen_at, known)
                        item_id, rule = found.item_id, found.rule
                        if item_id is None:
                            item_id = self._insert(item, seen_at, found)
                            known.wrote(item.url_key, item.title_key, found.headline.key)
                            rule = "new"
                            result.new += 1
                        else:
                            changes = self._merge(item_id, item, seen_at, rule=rule, source=source, run_id=run_id)
                            known.wrote(changes.get("url_key"), changes.get("title_key"), changes.get("core_key"))
                        self._record_sighting(item_id, item, source, run_id, seen_at, rule)
                        self._record_topics(item_id, item.topics, source)
                        result.seen += 1
                        result.item_ids.append(item_id)
            except BaseException:
                self.stories.invalidate()     # the batch was rolled back: its keys must not linger in memory
                raise
        return result

    def identify(self, items: Iterable[Item]) -> list[Decision]:
        """What ``save_items`` would decide for each item, each alone against the stored rows; writes nothing."""
        items = list(items)
        with self._lock:
            seen_at = self.now()
            known = KnownKeys(self.conn, items)
            return [self._find(item, seen_at, known) for item in items]

    def add_links(self, from_item_id: int, to_item_ids: Iterable[int], *, depth: int, run_id: int | None) -> int:
        """Record "from lists each of to as related"; returns how many links are new."""
        added = 0
        with self._lock, self.conn:
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

    def _find(self, item: Item, seen_at: str, known: KnownKeys) -> Decision:
        """The row this item is the same as, the rule that decided, and else its story: the candidates are looked up
        stage by stage, each only when the one before decided nothing (``monitor.identity.rules`` decides)."""
        if item.url_key and known.may_have_url(item.url_key):
            row = self.conn.execute("SELECT id FROM items WHERE url_key = ?", (item.url_key,)).fetchone()
            if row:
                return Decision(row["id"], "url")
        h = identity.headline(item.title)
        day = event_day(item.published_at, seen_at)
        exact = self.stories.exact_rows(h, item.title_key) if known.may_have_title(item.title_key, h.key) else []
        same = rules.by_title(item, exact)
        if same is None and rules.seeks_full_title(item):
            full = self._full_title_of(item)
            same = (full, "seed") if full is not None else None
        if same is not None:
            return Decision(*same, h, day)
        candidates = self.stories.candidates(h, day, exact)
        same = rules.by_candidate(item, h, candidates)
        if same is not None:
            return Decision(*same, h, day)
        return Decision(None, None, h, day, story_to_join(item, candidates, day))

    def _full_title_of(self, item: Item) -> int | None:
        """The first full title a seed's cut-short title begins (trailing "...") or is part of (leading "..."): a seed
        import is rare, so the leading-cut case scans the titles."""
        if item.title_cut == "end":
            row = self.conn.execute(
                "SELECT id FROM items WHERE title_key > ? AND title_key < ? AND title_cut = '' ORDER BY id LIMIT 1",
                (item.title_key, item.title_key + "\U0010ffff"),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT id FROM items WHERE instr(title_key, ?) > 0 AND title_cut = '' ORDER BY id LIMIT 1",
                (item.title_key,),
            ).fetchone()
        return row["id"] if row else None

    def _insert(self, item: Item, seen_at: str, found: Decision) -> int:
        cursor = self.conn.execute(
            """INSERT INTO items (title, url, summary, publisher, published_at, first_seen_at, last_seen_at,
               origin, title_cut, url_key, title_key, publisher_key, core_key)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (item.title, item.url, item.summary, item.publisher, item.published_at, seen_at, seen_at,
             item.origin, item.title_cut, item.url_key, item.title_key, item.publisher_key, found.headline.key),
        )
        item_id = cursor.lastrowid
        self._assign_story(item_id, item, seen_at, found)
        self.stories.add(item_id, found.headline, found.day)
        self._index(item_id)
        return item_id

    def _merge(self, item_id: int, item: Item, seen_at: str, *, rule: str | None = None, source: str | None = None,
               run_id: int | None = None) -> dict[str, object]:
        """Fill in what the stored row lacks; a cut-short title gives way to the full one, an edited title
        (``rules.title_edited``) to the new one with the old one kept in title_history. Nothing is erased. Returns
        the columns changed."""
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        changes: dict[str, object] = {"last_seen_at": seen_at}
        new_title = {"title": item.title, "title_key": item.title_key, "title_cut": item.title_cut,
                     "core_key": identity.headline(item.title).key}
        if row["title_cut"] and not item.title_cut:
            changes.update(new_title)
        elif rule == "url" and source and self._title_edited(row, item, source):
            self.conn.execute(
                "INSERT INTO title_history (item_id, title, title_key, replaced_at, new_title, source, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, row["title"], row["title_key"], seen_at, item.title, source, run_id),
            )
            changes.update(new_title)
        if not row["url"] and item.url and item.url_key and not self._url_taken(item.url_key):
            changes.update(url=item.url, url_key=item.url_key)
        for column in ("summary", "published_at"):
            if not row[column] and getattr(item, column):
                changes[column] = getattr(item, column)
        if not row["publisher"] and item.publisher:
            changes.update(publisher=item.publisher, publisher_key=item.publisher_key)
        searchable = {"title", "summary", "publisher"} & changes.keys()
        if searchable:
            self._unindex(row)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*changes.values(), item_id))
        if {"title", "published_at"} & changes.keys():   # the story index follows the title and the day
            self.stories.remove(item_id, identity.headline(row["title"]),
                                event_day(row["published_at"], row["first_seen_at"]))
            self.stories.add(item_id, identity.headline(changes.get("title", row["title"])),
                             event_day(changes.get("published_at", row["published_at"]), row["first_seen_at"]))
        elif {"url_key", "publisher"} & changes.keys():
            self.stories.touch(item_id)
        if searchable:
            self._index(item_id)
        if row["story_id"] is not None:
            if "title" in changes:
                self.stories.retitle(row["story_id"], row["title"], item.title)
            if {"publisher", "published_at"} & changes.keys():
                self.stories.refresh(row["story_id"], seen_at)
            else:
                self.conn.execute("UPDATE stories SET last_seen_at = ? WHERE id = ?", (seen_at, row["story_id"]))
        return changes

    def _title_edited(self, row: sqlite3.Row, item: Item, source: str) -> bool:
        """``rules.title_edited``, given this source's last sighting of the row and the row's former titles."""
        def last_shown() -> str | None:
            last = self.conn.execute(
                "SELECT title FROM sightings WHERE item_id = ? AND source = ? ORDER BY id DESC LIMIT 1",
                (row["id"], source),
            ).fetchone()
            return None if last is None else last["title"] or ""

        def held_before(title_key: str) -> bool:
            return self.conn.execute(
                "SELECT 1 FROM title_history WHERE item_id = ? AND title_key = ?", (row["id"], title_key)
            ).fetchone() is not None

        return rules.title_edited(row, item, last_shown, held_before)

    def _url_taken(self, url_key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM items WHERE url_key = ?", (url_key,)).fetchone() is not None

    def _record_sighting(self, item_id: int, item: Item, source: str, run_id: int | None, seen_at: str,
                         rule: str | None) -> None:
        self.conn.execute(
            "INSERT INTO sightings (item_id, source, run_id, seen_at, url, title, matched_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item_id, source, run_id, seen_at, item.url, item.seen_title, rule),
        )
        self._add_to_json_list(item_id, "sources", [source])

    def _record_topics(self, item_id: int, topics: dict[str, list[str]], source: str) -> None:
        for topic, keywords in topics.items():
            row = self.conn.execute(
                "SELECT matched FROM item_topics WHERE item_id = ? AND topic = ?", (item_id, topic)
            ).fetchone()
            matched = list(dict.fromkeys((row["matched"].split(", ") if row else []) + keywords))
            self.conn.execute(
                "INSERT OR REPLACE INTO item_topics (item_id, topic, matched) VALUES (?, ?, ?)",
                (item_id, topic, ", ".join(matched)),
            )
        if topics:
            self._add_to_json_list(item_id, "topics", list(topics))

    def _add_to_json_list(self, item_id: int, column: str, values: list[str]) -> None:
        current = json.loads(self.conn.execute(f"SELECT {column} FROM items WHERE id = ?", (item_id,)).fetchone()[0])
        merged = sorted(set(current) | set(values))
        if merged != current:
            self.conn.execute(
                f"UPDATE items SET {column} = ? WHERE id = ?", (json.dumps(merged, ensure_ascii=False), item_id)
            )

    def _assign_story(self, item_id: int, item: Item, seen_at: str, found: Decision) -> None:
        """A new item joins the story of its best match within the story window, or founds one (DESIGN rule 4)."""
        if found.story is not None:
            self.stories.join_story(found.story_id, item_id, found.story_rule, seen_at)
            self.stories.complete_title(found.story_id, item.title)
        else:
            self.stories.found_story(item_id, item.title, found.headline.key, seen_at)

    def _index(self, item_id: int) -> None:
        self.conn.execute(
            "INSERT INTO items_fts (rowid, title, summary, publisher) SELECT id, title, summary, publisher "
            "FROM items WHERE id = ?",
            (item_id,),
        )

    def _unindex(self, row: sqlite3.Row) -> None:
        self.conn.execute(
            "INSERT INTO items_fts (items_fts, rowid, title, summary, publisher) VALUES ('delete', ?, ?, ?, ?)",
            (row["id"], row["title"], row["summary"], row["publisher"]),
        )

    def rebuild_search_index(self) -> None:
        """Rebuild items_fts from items (after rows were edited with a plain SQLite tool)."""
        with self._lock, self.conn:
            self.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")

    # --- the related-headlines spider ---------------------------------------------------------------------

    def fill_item(self, item_id: int, item: Item, *, source: str, run_id: int | None) -> None:
        """Merge what an article page says about itself into the row it was fetched for (nothing is erased).

        The row is known (the headline that linked to the page), so identity is not searched again: a page whose
        canonical URL or title differs from the link's still completes that row. The sighting's ``matched_by`` is
        ``page``.
        """
        with self._lock, self.conn:
            seen_at = self.now()
            self._merge(item_id, item, seen_at)
            self._record_sighting(item_id, item, source, run_id, seen_at, "page")
            self._record_topics(item_id, item.topics, source)

    def fresh_page(self, url_key: str, since: datetime) -> sqlite3.Row | None:
        """The ``pages`` row if the spider fetched this page (successfully, or with a lasting error) since then."""
        with self._lock:
            row = self.conn.execute(
                "SELECT * FROM pages WHERE url_key = ? AND julianday(fetched_at) >= julianday(?)",
                (url_key, dates.iso(since.astimezone(self.zone))),
            ).fetchone()
        return row if row is not None and (row["status"] == "ok" or not _transient(row["error_class"])) else None

    def related_items(self, item_id: int) -> list[sqlite3.Row]:
        """Items ``item_id`` lists as related that have a URL (id, url, title, summary): a crawl resumes from them."""
        with self._lock:
            return self.conn.execute(
                "SELECT items.id, items.url, items.title, items.summary FROM links "
                "JOIN items ON items.id = links.to_item_id WHERE links.from_item_id = ? AND items.url IS NOT NULL "
                "ORDER BY links.rowid",
                (item_id,),
            ).fetchall()

    def record_page(self, url_key: str, url: str, *, source: str, run_id: int | None, depth: int,
                    status: str, item_id: int | None = None, final_url: str | None = None,
                    canonical_url: str | None = None, http_status: int | None = None,
                    error_class: str | None = None, error: str | None = None, heading: str | None = None,
                    related_found: int = 0, related_kept: int = 0) -> None:
        """Remember a fetch of an article page (one row per page, replaced at each fetch)."""
        with self._lock, self.conn:
            self.conn.execute(
                """INSERT OR REPLACE INTO pages (url_key, url, final_url, canonical_url, item_id, source, run_id,
                   depth, fetched_at, status, http_status, error_class, error, heading, related_found, related_kept)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (url_key, url, final_url, canonical_url, item_id, source, run_id, depth, self.now(), status,
                 http_status, error_class, error, heading, related_found, related_kept),
            )

    def items_to_follow(self, topics: Iterable[str], *, not_fetched_since: datetime,
                        limit: int) -> list[tuple[int, str]]:
        """(id, url) of stored items matching any of ``topics`` whose page is not fetched since then, newest first."""
        topics = list(topics)
        if not topics or limit <= 0:
            return []
        marks = ", ".join("?" for _ in topics)
        with self._lock:
            rows = self.conn.execute(
                f"""SELECT DISTINCT items.id, items.url FROM items
                    JOIN item_topics ON item_topics.item_id = items.id AND item_topics.topic IN ({marks})
                    LEFT JOIN pages ON pages.url_key = items.url_key
                    WHERE items.url IS NOT NULL
                      AND (pages.url_key IS NULL OR julianday(pages.fetched_at) < julianday(?)
                           OR pages.error_class IN ('timeout', 'connection', 'http_429', 'interrupted')
                           OR pages.error_class LIKE 'http!_5%' ESCAPE '!')
                    ORDER BY coalesce(items.published_at, items.first_seen_at) DESC, items.id DESC
                    LIMIT ?""",
                (*topics, dates.iso(not_fetched_since.astimezone(self.zone)), limit),
            ).fetchall()
        return [(row["id"], row["url"]) for row in rows]


def _transient(error_class: str | None) -> bool:
    """A fetch error worth retrying at the next run (the spider waits revisit_after after any other one)."""
    return error_class in ("timeout", "connection", "http_429", "interrupted") or (error_class or "").startswith(
        "http_5")
