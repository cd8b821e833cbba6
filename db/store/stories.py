"""Stories (DESIGN rule 4): the ``stories`` rows, and the story index kept in step with the items.

A new item joins the story ``monitor.identity.stories`` chose, or founds one. ``stories`` keeps a representative
title (the founding item's, replaced by a full title if it was cut short), the number of items and of distinct
publishers, first and last seen, first and last published.
"""

from __future__ import annotations

import sqlite3

from db.store.base import StoreBase
from monitor.core.model import Item
from monitor.identity.candidates import event_day
from monitor.identity.headlines import headline
from monitor.identity.rules import Decision


class Stories(StoreBase):
    """The ``stories`` table and the story index, written as items are added and merged."""

    def _story_of_new_item(self, item: Item, seen_at: str, found: Decision) -> tuple[int, str]:
        """The story a new item's row is written with (``story_id``, ``story_matched_by``): the one of its best
        match within the story window, or a story founded for it. ``_story_gained`` follows once the row is in."""
        if found.story is not None:
            return found.story_id, found.story_rule
        return self._found_story(item, found.headline.key, seen_at), "new"

    def _story_gained(self, item_id: int, item: Item, seen_at: str, found: Decision) -> None:
        """After a new row is written: the story it joined recounted (and named by a full title if it had none),
        and the item in the story index."""
        if found.story is not None:
            self._refresh_story(found.story_id, seen_at)
            self._complete_story_title(found.story_id, item.title)
        self.story_index.add(item_id, found.headline, found.day)

    def _story_follows(self, row: sqlite3.Row, changes: dict[str, object], seen_at: str) -> None:
        """After a merge changed ``row`` (as it was) by ``changes``: the index follows the title and the day, and the
        item's story its title, publishers and dates."""
        item_id = row["id"]
        if {"title", "published_at"} & changes.keys():
            self.story_index.remove(item_id, headline(row["title"]),
                                    event_day(row["published_at"], row["first_seen_at"]))
            self.story_index.add(item_id, headline(changes.get("title", row["title"])),
                                 event_day(changes.get("published_at", row["published_at"]), row["first_seen_at"]))
        story_id = row["story_id"]
        if story_id is None:
            return
        if "title" in changes:
            # A story named after a title that was cut short or edited takes the item's new title.
            self.conn.execute("UPDATE stories SET title = ? WHERE id = ? AND title = ?",
                              (changes["title"], story_id, row["title"]))
        if {"publisher", "published_at"} & changes.keys():
            self._refresh_story(story_id, seen_at)
        elif self._pending is not None:
            self._pending.seen_stories[story_id] = seen_at
        else:
            self.conn.execute("UPDATE stories SET last_seen_at = ? WHERE id = ?", (seen_at, story_id))

    def _found_story(self, item: Item, key: str, seen_at: str) -> int:
        """A story of one item, counted as ``_refresh_story`` would count it (a NULL publisher key is no publisher)."""
        return self.conn.execute(
            "INSERT INTO stories (title, story_key, items, publishers, first_seen_at, last_seen_at, "
            "first_published_at, last_published_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
            (item.title, key, int(item.publisher_key is not None), seen_at, seen_at, item.published_at,
             item.published_at),
        ).lastrowid

    def _refresh_story(self, story_id: int, seen_at: str | None = None) -> None:
        """Recount a story's items and publishers (a story is small: this reads its rows by index)."""
        self.conn.execute(
            """UPDATE stories SET
                 items = (SELECT count(*) FROM items WHERE story_id = :id),
                 publishers = (SELECT count(DISTINCT publisher_key) FROM items WHERE story_id = :id),
                 first_published_at = (SELECT min(published_at) FROM items WHERE story_id = :id),
                 last_published_at = (SELECT max(published_at) FROM items WHERE story_id = :id),
                 last_seen_at = max(last_seen_at, coalesce(:seen, last_seen_at))
               WHERE id = :id""",
            {"id": story_id, "seen": seen_at},
        )

    def _complete_story_title(self, story_id: int, title: str) -> None:
        """A story named by a cut-short title takes the first full title that joins it."""
        row = self.conn.execute("SELECT title FROM stories WHERE id = ?", (story_id,)).fetchone()
        if row and headline(row["title"]).cut and not headline(title).cut:
            self.conn.execute("UPDATE stories SET title = ? WHERE id = ?", (title, story_id))
