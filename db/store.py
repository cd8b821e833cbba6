"""The store: the one writer of the SQLite file.

It decides identity (DESIGN.md "Identity"), keeps every sighting and every run, and never loses a stored row:
each batch is one transaction, and a merge only fills in or lengthens what a row already has.

Identity, in the order it is tried (the rule that decided is kept on the sighting as ``matched_by``):

1. ``url``   - same canonical URL (``items.url_key``).
2. ``title`` - same folded title (``items.title_key``) and compatible publishers, published within
   ``TITLE_MATCH_WINDOW`` of each other (or either date unknown).
3. ``seed``  - a seed row (no URL) and another row whose folded title equals it, or, where the seed title was cut
   short with "...", begins with (trailing "...") or contains (leading "...") the seed's folded fragment.
   The seed row gains the URL, the full title and the dates; it never becomes a second row.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import sqlite_utils

from db.schema import migrate
from db.search import register_search_tokenizer
from monitor import text
from monitor.health import health_flags
from monitor.normalise import Item

log = logging.getLogger(__name__)

TITLE_MATCH_WINDOW = timedelta(days=3)
MIN_SEED_FRAGMENT = 6   # folded characters a cut-short seed title needs before a prefix match is trusted


@dataclass
class SaveResult:
    seen: int = 0
    new: int = 0
    item_ids: list[int] | None = None


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
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        with self._lock:
            migrate(self.db)
            self._close_interrupted_runs()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def now(self) -> str:
        return text.iso(datetime.now(self.zone))

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
                (text.iso(when.astimezone(self.zone)) if when else None, source),
            )

    def set_backoff(self, source: str, until: datetime | None) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "UPDATE sources SET backoff_until = ? WHERE name = ?",
                (text.iso(until.astimezone(self.zone)) if until else None, source),
            )

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

        Failures are counted and reset by any success; the flags of ``monitor.health`` are recomputed.
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

    def http_cache(self, url: str) -> tuple[str | None, str | None]:
        with self._lock:   # the connection is shared by the scheduler's threads: reads take the lock too
            row = self.conn.execute("SELECT etag, last_modified FROM http_cache WHERE url = ?", (url,)).fetchone()
        return (row["etag"], row["last_modified"]) if row else (None, None)

    def remember_http_cache(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if not etag and not last_modified:
            return
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO http_cache (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?)",
                (url, etag, last_modified, self.now()),
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
        with self._lock, self.conn:
            seen_at = self.now()
            for item in items:
                item_id, rule = self._find(item)
                if item_id is None:
                    item_id = self._insert(item, seen_at)
                    rule = "new"
                    result.new += 1
                else:
                    self._merge(item_id, item, seen_at)
                self._record_sighting(item_id, item, source, run_id, seen_at, rule)
                self._record_topics(item_id, item.topics, source)
                result.seen += 1
                result.item_ids.append(item_id)
        return result

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

    def _find(self, item: Item) -> tuple[int | None, str | None]:
        """The id of the row this item is the same as, and the rule that decided (see the module docstring)."""
        if item.url_key:
            row = self.conn.execute("SELECT id FROM items WHERE url_key = ?", (item.url_key,)).fetchone()
            if row:
                return row["id"], "url"
        for row in self.conn.execute(
            "SELECT id, url_key, publisher, published_at, origin FROM items WHERE title_key = ? ORDER BY id",
            (item.title_key,),
        ):
            if row["origin"] == "seed" and row["url_key"] is None or item.origin == "seed" and item.url_key is None:
                return row["id"], "seed"
            if text.publishers_compatible(row["publisher"], item.publisher) and _close_in_time(
                row["published_at"], item.published_at
            ):
                return row["id"], "title"
        return self._find_by_seed_fragment(item), "seed"

    def _find_by_seed_fragment(self, item: Item) -> int | None:
        """Rule 3 for titles cut short: a seed fragment and the full title it was cut from."""
        if item.origin != "seed":
            for row in self.conn.execute(
                "SELECT id, title_key, title_cut FROM items "
                "WHERE origin = 'seed' AND url_key IS NULL AND title_cut != '' ORDER BY id"
            ):
                if _fragment_matches(row["title_key"], row["title_cut"], item.title_key):
                    return row["id"]
            return None
        if not item.title_cut or len(item.title_key) < MIN_SEED_FRAGMENT:
            return None
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

    def _insert(self, item: Item, seen_at: str) -> int:
        cursor = self.conn.execute(
            """INSERT INTO items (title, url, summary, publisher, published_at, first_seen_at, last_seen_at,
               origin, title_cut, url_key, title_key, publisher_key)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (item.title, item.url, item.summary, item.publisher, item.published_at, seen_at, seen_at,
             item.origin, item.title_cut, item.url_key, item.title_key, item.publisher_key),
        )
        item_id = cursor.lastrowid
        self._assign_story(item_id, item.title_key, item.title, seen_at)
        self._index(item_id)
        return item_id

    def _merge(self, item_id: int, item: Item, seen_at: str) -> None:
        """Fill in what the stored row lacks; a cut-short title gives way to the full one. Nothing is erased."""
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        changes: dict[str, object] = {"last_seen_at": seen_at}
        if row["title_cut"] and not item.title_cut:
            changes.update(title=item.title, title_key=item.title_key, title_cut="")
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
        if searchable:
            self._index(item_id)

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

    def _assign_story(self, item_id: int, story_key: str, title: str, seen_at: str) -> None:
        """Same folded title, different publishers: one story (DESIGN rule 4; a later issue adds near-duplicates)."""
        self.conn.execute(
            """INSERT INTO stories (title, story_key, items, publishers, first_seen_at, last_seen_at)
               VALUES (?, ?, 0, 0, ?, ?) ON CONFLICT(story_key) DO UPDATE SET last_seen_at = excluded.last_seen_at""",
            (title, story_key, seen_at, seen_at),
        )
        story_id = self.conn.execute("SELECT id FROM stories WHERE story_key = ?", (story_key,)).fetchone()["id"]
        self.conn.execute("UPDATE items SET story_id = ? WHERE id = ?", (story_id, item_id))
        self.conn.execute(
            """UPDATE stories SET items = (SELECT count(*) FROM items WHERE story_id = :id),
               publishers = (SELECT count(DISTINCT publisher_key) FROM items WHERE story_id = :id) WHERE id = :id""",
            {"id": story_id},
        )

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


def _close_in_time(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True
    return abs(datetime.fromisoformat(a) - datetime.fromisoformat(b)) <= TITLE_MATCH_WINDOW


def _fragment_matches(fragment: str, cut: str, title_key: str) -> bool:
    if len(fragment) < MIN_SEED_FRAGMENT or fragment == title_key:
        return False
    if cut == "end":
        return title_key.startswith(fragment)
    return fragment in title_key
