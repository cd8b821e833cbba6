"""The items a run added, as a notification lists them: read back by run id, so every path that stores items (the
page queue, the spider's related headlines, ``follow``) is covered without each reporting its own.

An item is new in the run whose sighting of it says ``matched_by = 'new'`` (``db.store.items``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class NewItem:
    id: int
    title: str
    url: str | None
    publisher: str | None
    topics: tuple[str, ...]


def new_items_of_run(conn: sqlite3.Connection, run_id: int) -> list[NewItem]:
    """The items run ``run_id`` added, in the order it stored them, each with the topics it matched."""
    rows = conn.execute(
        """SELECT items.id, items.title, items.url, items.publisher,
                  (SELECT group_concat(topic, char(10)) FROM
                     (SELECT topic FROM item_topics WHERE item_id = items.id ORDER BY topic)) AS topics
           FROM sightings JOIN items ON items.id = sightings.item_id
           WHERE sightings.run_id = ? AND sightings.matched_by = 'new'
           ORDER BY sightings.id""",
        (run_id,),
    ).fetchall()
    return [NewItem(id=row[0], title=row[1], url=row[2], publisher=row[3],
                    topics=tuple(row[4].split("\n")) if row[4] else ()) for row in rows]
