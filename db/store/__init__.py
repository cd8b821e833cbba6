"""The store: the one writer of the SQLite file.

It keeps every item, sighting and run, and never loses a stored row: each batch is one transaction, and a merge
only fills in or lengthens what a row already has. ``Store`` is one connection and one lock shared by parts that
each keep their own tables:

* ``items``    items, sightings, topics, title history and the search index (``save_items``, ``fill_item``);
* ``lookups``  the candidate rows identity decides on (``identify``; ``monitor.identity.rules`` decides);
* ``stories``  the ``stories`` rows and the story index (``db/story_index.py``) kept in step with the items;
* ``runs``     sources, runs and their health, the HTTP cache, seed imports;
* ``pages``    the related-headlines spider's pages and links;
* ``repeats``  a page whose bytes did not change: the sightings of its last read recorded again.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import tzinfo
from pathlib import Path

from db.schema import migrate
from db.store.items import Items, SaveResult
from db.store.pages import PageFetch, Pages
from db.store.repeats import Repeats
from db.store.runs import Runs
from db.transaction import is_busy

__all__ = ["PageFetch", "SaveResult", "Store"]

OPEN_ATTEMPTS = 8     # 0.05 s, doubled each time: about 13 s in all


class Store(Items, Runs, Pages, Repeats):
    """Open (creating and migrating) the database; every write goes through one lock and one connection."""

    def __init__(self, path: str | Path, zone: tzinfo):
        for attempt in range(OPEN_ATTEMPTS):
            try:
                super().__init__(path, zone)
                with self._lock:
                    migrate(self.conn, self.path)
                    self._close_interrupted_runs()
                return
            except sqlite3.OperationalError as error:
                # Two processes opening one new file at once: SQLite may answer "locked" without waiting while the
                # other sets it up (journal mode, first checkpoint). Opening again a moment later finds it ready.
                if hasattr(self, "_closer"):
                    self._closer()
                if not is_busy(error) or attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2 ** attempt)
