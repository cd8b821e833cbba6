"""Finding the candidates identity decides on: the SQL half of ``Store.identify`` (``monitor.identity.rules`` is the
other half, and decides).

The look-ups run stage by stage, each only when the one before decided nothing: the URL (rule 1), the rows with the
same folded or core title (rules 3 and 2), a seed fragment's full title (rule 3), then the story index's candidates
(rules 3 to 5, and the story to join). ``KnownKeys`` saves most new items their first look-ups.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from db.store.base import StoreBase
from monitor.core.model import Item
from monitor.identity import rules
from monitor.identity.candidates import event_day
from monitor.identity.headlines import Headline, headline, make_headline
from monitor.identity.rules import Decision
from monitor.identity.stories import story_to_join


class KnownKeys:
    """Which of a batch's URL and title keys exist at all, read for the whole batch in a few queries: most new
    items have neither, and skip their own look-ups. A key written during the batch is always looked up."""

    CHUNK = 500   # keys per query (SQLite's parameter limit is 999 on old builds)

    def __init__(self, conn: sqlite3.Connection, items: list[Item], *, merging: bool = True):
        # The rows of the batch's stored URLs, kept whole when the batch is to be merged into them (``take_row``).
        self.rows: dict[int, sqlite3.Row] = {}
        self.urls: dict[str, int] = {}      # stored URL key -> its row (a URL key is on one row, and stays there)
        for row in self._lookup(conn, "*" if merging else "url_key, id", "url_key",
                                {item.url_key for item in items if item.url_key}):
            self.urls[row["url_key"]] = row["id"]
            if merging:
                self.rows[row["id"]] = row
        # An item whose URL is stored is decided by it (rule 1): its headline is not needed, so not made.
        undecided = [item for item in items if item.url_key not in self.urls]
        # The batch's headlines, made once (not through headline()'s cache: that one is small, for stored titles).
        self.headlines = {item.title: make_headline(item.title) for item in undecided}
        # Each key in the column exact_rows looks it up in, so nothing is said present that it would not find.
        self.title_keys = self._present(conn, "title_key", {item.title_key for item in undecided})
        self.core_keys = self._present(conn, "core_key", {h.key for h in self.headlines.values()})
        self.written: set[str] = set()

    @classmethod
    def _lookup(cls, conn: sqlite3.Connection, columns: str, column: str, keys: set[str]):
        """The rows (``columns`` of them) whose ``column`` is one of ``keys``, a few queries for any number."""
        keys = list(keys)
        for start in range(0, len(keys), cls.CHUNK):
            chunk = keys[start:start + cls.CHUNK]
            yield from conn.execute(
                f"SELECT {columns} FROM items WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)

    @classmethod
    def _present(cls, conn: sqlite3.Connection, column: str, keys: set[str]) -> set[str]:
        return {key for (key,) in cls._lookup(conn, column, column, keys)}

    def url_row(self, key: str) -> int | None:
        """The row of a URL key stored before the batch; None for one the batch wrote (look it up) or absent."""
        return self.urls.get(key)

    def take_row(self, item_id: int) -> sqlite3.Row | None:
        """The row as read at the batch's start, once: the first merge into it sees it as stored (nothing else in the
        batch writes a stored row before merging into it); later ones read it again."""
        return self.rows.pop(item_id, None)

    def headline(self, title: str) -> Headline:
        h = self.headlines.get(title)
        return h if h is not None else headline(title)

    def may_have_url(self, key: str) -> bool:
        return key in self.urls or key in self.written

    def may_have_title(self, title_key: str, core_key: str) -> bool:
        """Whether ``StoryIndex.exact_rows`` may find a row: the folded title or the core title is stored."""
        return title_key in self.title_keys or core_key in self.core_keys or title_key in self.written \
            or core_key in self.written

    def wrote(self, *keys: str | None) -> None:
        """Keys the batch has just written (a URL, title or core key): later items look them up."""
        self.written.update(key for key in keys if key)


class Lookups(StoreBase):
    """The candidate look-ups of ``identify`` and ``save_items``."""

    def identify(self, items: Iterable[Item]) -> list[Decision]:
        """What ``save_items`` would decide for each item, each alone against the stored rows; writes nothing."""
        items = list(items)
        with self._lock:
            seen_at = self.now()
            known = KnownKeys(self.conn, items, merging=False)
            return [self._find(item, seen_at, known) for item in items]

    def _find(self, item: Item, seen_at: str, known: KnownKeys) -> Decision:
        """The row this item is the same as, the rule that decided, and else its story."""
        if item.url_key and known.may_have_url(item.url_key):
            item_id = known.url_row(item.url_key)
            if item_id is None:
                row = self.conn.execute("SELECT id FROM items WHERE url_key = ?", (item.url_key,)).fetchone()
                item_id = row["id"] if row else None
            if item_id is not None:
                return Decision(item_id, "url")
        h = known.headline(item.title)
        day = event_day(item.published_at, seen_at)
        index = self.story_index
        exact = index.exact_rows(h, item.title_key) if known.may_have_title(item.title_key, h.key) else []
        same = rules.by_title(item, exact)
        if same is None and rules.seeks_full_title(item):
            full = self._full_title_of(item)
            same = (full, "seed") if full is not None else None
        if same is not None:
            return Decision(*same, h, day)
        candidates = index.candidates(h, day, exact)
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
