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

from datetime import tzinfo
from pathlib import Path

from db.schema import migrate
from db.store.items import Items, SaveResult
from db.store.pages import PageFetch, Pages
from db.store.repeats import Repeats
from db.store.runs import Runs

__all__ = ["PageFetch", "SaveResult", "Store"]


class Store(Items, Runs, Pages, Repeats):
    """Open (creating and migrating) the database; every write goes through one lock and one connection."""

    def __init__(self, path: str | Path, zone: tzinfo):
        super().__init__(path, zone)
        with self._lock:
            migrate(self.conn, self.path)
            self._close_interrupted_runs()
