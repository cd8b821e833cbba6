"""Items, their sightings and topics, and the search index: what ``save_items`` writes.

Every batch is one transaction. An item that identity finds already stored (``Lookups``) is merged into its row: a
merge only fills in or lengthens what the row has (what its sources told beyond the fields, ``items.extra``,
included), and never erases. A new item is added, joins or founds a story (``Stories``) and enters the search
index (``db.search``: the text folded and spaced here, indexed by SQLite's own tokenizer). Every item, new or not,
leaves a sighting and its topics.

What is cheap to gather is written together: a new row carries its first source and its topics in its JSON lists, a
batch's sightings and search rows go in with one ``executemany`` each at its end (``_batched``). Identity's look-ups
(``Lookups``, ``db/story_index.py``) are most of the time left.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from db import search
from db.store.base import PendingWrites
from db.store.lookups import KnownKeys, Lookups
from db.store.stories import Stories
from monitor.core.model import Item
from monitor.identity import rules
from monitor.identity.headlines import headline
from monitor.identity.rules import Decision


@dataclass
class SaveResult:
    seen: int = 0
    new: int = 0
    item_ids: list[int] | None = None


class Items(Lookups, Stories):
    """The ``items``, ``sightings``, ``item_topics``, ``title_history`` and ``items_fts`` tables."""

    def save_items(self, items: Iterable[Item], *, source: str, run_id: int | None,
                   on_item: Callable[[int, int], None] | None = None) -> SaveResult:
        """Store a batch in one transaction: each item merged into the row it is the same as, or added.
        ``on_item(done, total)`` after each item: the progress of a large batch (a seed file)."""
        result = SaveResult(item_ids=[])
        items = list(items)
        # Identity is decided inside the write transaction (the lock is taken before the first look-up): another
        # process storing the same items at the same moment waits, and its rows are then found here.
        with self._writing(), self._batched():
            seen_at = self.now()
            known = KnownKeys(self.conn, items)
            for item in items:
                found = self._find(item, seen_at, known)
                item_id, rule = found.item_id, found.rule
                if item_id is None:
                    item_id = self._insert(item, seen_at, found, source)
                    known.wrote(item.url_key, item.title_key, found.headline.key)
                    self._record_sighting(item_id, item, source, run_id, seen_at, "new", sources=None)
                    self._record_topics(item_id, item.topics, source, stored_topics=None)
                    result.new += 1
                else:
                    row, changes = self._merge(item_id, item, seen_at, rule=rule, source=source, run_id=run_id,
                                               stored=known.take_row(item_id))
                    known.wrote(changes.get("url_key"), changes.get("title_key"), changes.get("core_key"))
                    self._record_sighting(item_id, item, source, run_id, seen_at, rule, sources=row["sources"])
                    self._record_topics(item_id, item.topics, source, stored_topics=row["topics"])
                result.seen += 1
                result.item_ids.append(item_id)
                if on_item is not None:
                    on_item(result.seen, len(items))
        return result

    @contextlib.contextmanager
    def _batched(self):
        """Sightings, search rows and the ``last_seen_at`` of rows seen again, written together at a batch's end
        (``executemany``), inside its transaction; what reads sightings or search rows before (``_title_edited``,
        ``_unindex``) sees them. Nothing the batch reads looks at ``last_seen_at``."""
        self._pending = PendingWrites()
        try:
            yield
            self._write_pending()
        finally:
            self._pending = None

    def _write_pending(self) -> None:
        pending = self._pending
        if pending is None:
            return
        if pending.seen_items:
            self.conn.executemany("UPDATE items SET last_seen_at = ? WHERE id = ?", pending.seen_items)
            pending.seen_items.clear()
        if pending.seen_stories:
            self.conn.executemany("UPDATE stories SET last_seen_at = ? WHERE id = ?",
                                  [(seen_at, story_id) for story_id, seen_at in pending.seen_stories.items()])
            pending.seen_stories.clear()
        if pending.sightings:
            self.conn.executemany(
                "INSERT INTO sightings (item_id, source, run_id, seen_at, url, title, matched_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", pending.sightings)
            pending.sightings.clear()
        if pending.search:
            search.index_rows(self.conn, ((item_id, *values) for item_id, values in pending.search.items()))
            pending.search.clear()

    def fill_item(self, item_id: int, item: Item, *, source: str, run_id: int | None) -> None:
        """Merge what an article page says about itself into the row it was fetched for (nothing is erased).

        The row is known (the headline that linked to the page), so identity is not searched again: a page whose
        canonical URL or title differs from the link's still completes that row. The sighting's ``matched_by`` is
        ``page``.
        """
        with self._writing():
            seen_at = self.now()
            row, _ = self._merge(item_id, item, seen_at)
            self._record_sighting(item_id, item, source, run_id, seen_at, "page", sources=row["sources"])
            self._record_topics(item_id, item.topics, source, stored_topics=row["topics"])

    def rebuild_search_index(self) -> None:
        """Rebuild items_fts from items (after rows were edited with a plain SQLite tool)."""
        with self._writing():
            search.rebuild_search_index(self.conn)

    def _insert(self, item: Item, seen_at: str, found: Decision, source: str) -> int:
        """A new row, with its story, its first source and its topics already in it (one write of the row)."""
        story_id, story_rule = self._story_of_new_item(item, seen_at, found)
        cursor = self.conn.execute(
            """INSERT INTO items (title, url, summary, publisher, published_at, first_seen_at, last_seen_at,
               origin, title_cut, url_key, title_key, publisher_key, core_key, extra, sources, topics, story_id,
               story_matched_by)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (item.title, item.url, item.summary, item.publisher, item.published_at, seen_at, seen_at,
             item.origin, item.title_cut, item.url_key, item.title_key, item.publisher_key, found.headline.key,
             merged_extra(None, item.extra), _json_list([source]), _json_list(item.topics), story_id, story_rule),
        )
        item_id = cursor.lastrowid
        self._story_gained(item_id, item, seen_at, found)
        self._index(item_id, item.title, item.summary, item.publisher)
        return item_id

    def _merge(self, item_id: int, item: Item, seen_at: str, *, rule: str | None = None, source: str | None = None,
               run_id: int | None = None, stored: sqlite3.Row | None = None) -> tuple[sqlite3.Row, dict[str, object]]:
        """Fill in what the stored row lacks; a cut-short title gives way to the full one, an edited title
        (``rules.title_edited``) to the new one with the old one kept in title_history. Nothing is erased. Returns
        the row as it was and the columns changed. ``stored``: the row as it is, already read (else it is read)."""
        row = stored if stored is not None else \
            self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        changes: dict[str, object] = {"last_seen_at": seen_at}

        def new_title() -> dict[str, object]:        # the headline is worked out only for a title that changes
            return {"title": item.title, "title_key": item.title_key, "title_cut": item.title_cut,
                    "core_key": headline(item.title).key}

        if row["title_cut"] and not item.title_cut:
            changes.update(new_title())
        elif rule == "url" and source and self._title_edited(row, item, source):
            self.conn.execute(
                "INSERT INTO title_history (item_id, title, title_key, replaced_at, new_title, source, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, row["title"], row["title_key"], seen_at, item.title, source, run_id),
            )
            changes.update(new_title())
        if not row["url"] and item.url and item.url_key and not self._url_taken(item.url_key):
            changes.update(url=item.url, url_key=item.url_key)
        for column in ("summary", "published_at"):
            if not row[column] and getattr(item, column):
                changes[column] = getattr(item, column)
        if not row["publisher"] and item.publisher:
            changes.update(publisher=item.publisher, publisher_key=item.publisher_key)
        extra = merged_extra(row["extra"], item.extra)
        if extra != row["extra"]:
            changes["extra"] = extra
        searchable = {"title", "summary", "publisher"} & changes.keys()
        if searchable:
            self._unindex(row)
        if changes.keys() == {"last_seen_at"} and self._pending is not None:   # seen again, nothing new
            self._pending.seen_items.append((seen_at, item_id))
        else:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            self.conn.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*changes.values(), item_id))
        if searchable:
            self._index(item_id, *(changes.get(column, row[column]) for column in search.COLUMNS))
        self._story_follows(row, changes, seen_at)
        return row, changes

    def _title_edited(self, row: sqlite3.Row, item: Item, source: str) -> bool:
        """``rules.title_edited``, given this source's last sighting of the row and the row's former titles."""
        def last_shown() -> str | None:
            self._write_pending()           # this batch's sightings of the row count too
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
                         rule: str | None, *, sources: str | None) -> None:
        """The sighting, and the source added to ``items.sources`` as stored (``sources``; None: a row this batch
        inserted with it)."""
        sighting = (item_id, source, run_id, seen_at, item.url, item.seen_title, rule)
        if self._pending is not None:
            self._pending.sightings.append(sighting)
        else:
            self.conn.execute("INSERT INTO sightings (item_id, source, run_id, seen_at, url, title, matched_by) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)", sighting)
        if sources is not None:
            self._add_to_json_list(item_id, "sources", sources, [source])

    def _record_topics(self, item_id: int, topics: dict[str, list[str]], source: str, *,
                       stored_topics: str | None) -> None:
        """The item's topics and their keywords (``item_topics``), and ``items.topics`` as stored
        (``stored_topics``; None: a new row, inserted with its topics and no ``item_topics`` rows yet)."""
        for topic, keywords in topics.items():
            row = None if stored_topics is None else self.conn.execute(
                "SELECT matched FROM item_topics WHERE item_id = ? AND topic = ?", (item_id, topic)
            ).fetchone()
            matched = list(dict.fromkeys((row["matched"].split(", ") if row else []) + keywords))
            self.conn.execute(
                "INSERT OR REPLACE INTO item_topics (item_id, topic, matched) VALUES (?, ?, ?)",
                (item_id, topic, ", ".join(matched)),
            )
        if topics and stored_topics is not None:
            self._add_to_json_list(item_id, "topics", stored_topics, list(topics))

    def _add_to_json_list(self, item_id: int, column: str, stored: str, values: list[str]) -> None:
        current = _read_json_list(stored)
        if not current.issuperset(values):
            self.conn.execute(f"UPDATE items SET {column} = ? WHERE id = ?", (_json_list([*current, *values]), item_id))

    def _index(self, item_id: int, title: str | None, summary: str | None, publisher: str | None) -> None:
        if self._pending is not None:
            self._pending.search[item_id] = (title, summary, publisher)
        else:
            search.index_rows(self.conn, [(item_id, title, summary, publisher)])

    def _unindex(self, row: sqlite3.Row) -> None:
        if self._pending is not None and self._pending.search.pop(row["id"], None) is not None:
            return                           # added by this batch, not written yet
        search.unindex_row(self.conn, row["id"], row["title"], row["summary"], row["publisher"])


@functools.lru_cache(maxsize=256)
def _read_json_list(stored: str) -> frozenset[str]:
    """A stored ``sources`` or ``topics`` list: read once per distinct text (rows of one source share it)."""
    return frozenset(json.loads(stored))


def _json_list(values: Iterable[str]) -> str:
    """``items.sources`` and ``items.topics``: a sorted JSON array, readable (not escaped) in Datasette."""
    return json.dumps(sorted(set(values)), ensure_ascii=False)


# Not kept in items.extra: the page's codec is the run's (runs.encoding), not the item's.
NOT_EXTRA = frozenset({"encoding"})


def merged_extra(stored: str | None, told: dict[str, Any]) -> str | None:
    """``items.extra`` once ``told`` (an ``Item.extra``) is merged into the stored JSON object: keys it lacks are
    added, a value it has is never replaced or erased, empty values are left out; None while it holds nothing."""
    extra = json.loads(stored) if stored else {}
    added = {key: value for key, value in told.items()
             if key not in extra and key not in NOT_EXTRA and value not in (None, "", [], {})}
    if not added:
        return stored
    return json.dumps({**extra, **added}, ensure_ascii=False, sort_keys=True, default=str)
