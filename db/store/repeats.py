"""A page read again byte for byte: its items are seen again without being parsed.

A server that sends no validators (no ETag, no Last-Modified) answers every poll with the whole page even when
nothing changed. Parsing and storing it again would only record a sighting of each item and move its
``last_seen_at``, so the pipeline remembers, with the page's digest (``http_cache.body_digest``), the sightings its
last read recorded (``http_cache.sightings``) and, when the same bytes come back, records them again in one
statement: the same items, URLs, titles and rules (a first sighting, ``new``, is seen again by its URL, or its
title when it had none), for this run. What a re-read would change beyond that (an item's and its story's
``last_seen_at``) follows in two more.
"""

from __future__ import annotations

import json

from db.store.base import StoreBase


class Repeats(StoreBase):
    """Sightings recorded again for a page whose bytes did not change (``http_cache.sightings``)."""

    def last_sighting_id(self) -> int:
        """The newest ``sightings.id`` (0 for none): a page's sightings are those its run records after it."""
        with self._lock:
            return self.conn.execute("SELECT coalesce(max(id), 0) FROM sightings").fetchone()[0]

    def sightings_since(self, run_id: int, after: int) -> list[int]:
        """The ids of the sightings ``run_id`` recorded after sighting ``after`` (``last_sighting_id``)."""
        with self._lock:
            return [row[0] for row in self.conn.execute(
                "SELECT id FROM sightings WHERE run_id = ? AND id > ? ORDER BY id", (run_id, after))]

    def see_again(self, sightings: list[int], *, source: str,
                  run_id: int) -> list[tuple[int, int, str | None]] | None:
        """Record ``sightings`` again for ``run_id``: (new sighting id, item id, url) of each, in the page's order;
        or None, writing nothing, when one of them or its item is no longer stored (rows removed by hand): the
        page is then read in full."""
        ids = json.dumps(sightings)
        with self._writing():
            found = self.conn.execute(
                "SELECT count(*) FROM sightings JOIN items ON items.id = sightings.item_id "
                "WHERE sightings.id IN (SELECT value FROM json_each(?)) AND sightings.source = ?",
                (ids, source)).fetchone()[0]
            if found != len(sightings):
                return None
            seen_at = self.now()
            after = self.conn.execute("SELECT coalesce(max(id), 0) FROM sightings").fetchone()[0]
            self.conn.execute(
                """INSERT INTO sightings (item_id, source, run_id, seen_at, url, title, matched_by)
                   SELECT item_id, source, ?, ?, url, title,
                          CASE matched_by WHEN 'new' THEN iif(url IS NULL, 'title', 'url') ELSE matched_by END
                   FROM sightings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id""",
                (run_id, seen_at, ids))
            again = [tuple(row) for row in self.conn.execute(
                "SELECT id, item_id, url FROM sightings WHERE run_id = ? AND id > ? ORDER BY id", (run_id, after))]
            self.conn.execute(
                "UPDATE items SET last_seen_at = ? WHERE id IN (SELECT item_id FROM sightings WHERE run_id = ? "
                "AND id > ?)", (seen_at, run_id, after))
            self.conn.execute(
                "UPDATE stories SET last_seen_at = ? WHERE id IN (SELECT story_id FROM items WHERE id IN "
                "(SELECT item_id FROM sightings WHERE run_id = ? AND id > ?))", (seen_at, run_id, after))
        return again
