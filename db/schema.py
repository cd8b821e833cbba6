"""The database schema and its migrations.

The schema version is SQLite's ``PRAGMA user_version``. Each migration is a function that takes the database
from version N-1 to N; ``migrate()`` runs the missing ones in order, each in one ``BEGIN IMMEDIATE`` transaction
together with its ``user_version`` bump (SQLite's DDL is transactional, and sqlite-utils' helpers nest as savepoints
inside an open transaction), so a process killed while it creates or upgrades the file leaves it at the version
before or after, never between. A file made by an older release is brought up to date at start-up; a file from a
newer release, or another program's, is refused before anything is written to it (``check_ours``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from db import search
from db.transaction import write_transaction
from monitor.core.errors import StoreError

if TYPE_CHECKING:   # imported by migrate() when a migration runs: a file already up to date never loads it
    import sqlite_utils


class SchemaError(StoreError):
    "The database file was made by a newer release of news-monitor, or is not ours."

    def __init__(self, message: str, *, path: object = None):
        super().__init__(message, error_class="not_ours", path=path)


# news-monitor's mark in the file header (``PRAGMA application_id``, "NMON"), set with the first migration; a file
# made before the mark existed is recognised by its tables (``TABLES_SINCE``).
APPLICATION_ID = 0x4E4D4F4E


def _v1(db: sqlite_utils.Database) -> None:
    db["items"].create(
        {
            "id": int,
            "title": str,            # the fullest title known
            "url": str,              # the first URL seen (canonical form in url_key)
            "summary": str,
            "publisher": str,
            "published_at": str,     # ISO 8601 with offset
            "first_seen_at": str,
            "last_seen_at": str,
            "story_id": int,
            "topics": str,           # JSON array of topic names, for Datasette's array facet
            "sources": str,          # JSON array of source names that saw the item
            "origin": str,           # 'seed' or 'scraped': how the row first came in
            "title_cut": str,        # '', 'start', 'end' or 'both': where a seed title was cut short with "..."
            "url_key": str,          # canonical URL: identity rule 1
            "title_key": str,        # folded title: identity rules 2 and 3
            "publisher_key": str,
        },
        pk="id",
        not_null={"title", "first_seen_at", "last_seen_at", "origin", "title_key"},
        defaults={"topics": "[]", "sources": "[]", "title_cut": ""},
    )
    db["items"].create_index(["url_key"], unique=True, if_not_exists=True)
    db["items"].create_index(["title_key"], if_not_exists=True)
    db["items"].create_index(["published_at"], if_not_exists=True)
    db["items"].create_index(["first_seen_at"], if_not_exists=True)
    db["items"].create_index(["publisher"], if_not_exists=True)
    db["items"].create_index(["story_id"], if_not_exists=True)

    db["stories"].create(
        {"id": int, "title": str, "items": int, "publishers": int, "first_seen_at": str, "last_seen_at": str,
         "story_key": str},
        pk="id",
        not_null={"title", "story_key"},
        defaults={"items": 0, "publishers": 0},
    )
    db["stories"].create_index(["story_key"], unique=True, if_not_exists=True)

    db["runs"].create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,           # running, ok, not_modified, error
            "http_status": int,
            "items_seen": int,
            "items_new": int,
            "error_class": str,
            "error": str,
            "encoding": str,
            "elapsed_s": float,
        },
        pk="id",
        not_null={"source", "started_at", "status"},
        defaults={"items_seen": 0, "items_new": 0},
    )
    db["runs"].create_index(["source", "started_at"], if_not_exists=True)

    db["sightings"].create(
        {"id": int, "item_id": int, "source": str, "run_id": int, "seen_at": str, "url": str, "title": str,
         "matched_by": str},
        pk="id",
        foreign_keys=[("item_id", "items", "id"), ("run_id", "runs", "id")],
        not_null={"item_id", "source", "seen_at"},
    )
    db["sightings"].create_index(["item_id"], if_not_exists=True)
    db["sightings"].create_index(["run_id"], if_not_exists=True)

    db["sources"].create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "schedule": str,
            "topics": str,
            "enabled": int,
            "in_config": int,        # 0 once the source is removed from config.yaml (its rows are kept)
            "last_run_at": str,
            "last_success_at": str,
            "last_status": str,
            "last_error": str,
            "consecutive_failures": int,
            "items_found": int,
            "next_run_at": str,
        },
        pk="name",
        defaults={"consecutive_failures": 0, "items_found": 0, "enabled": 1, "in_config": 1},
    )

    db["item_topics"].create(
        {"item_id": int, "topic": str, "matched": str},
        pk=("item_id", "topic"),
        foreign_keys=[("item_id", "items", "id")],
    )
    db["item_topics"].create_index(["topic"], if_not_exists=True)

    db["links"].create(
        {"from_item_id": int, "to_item_id": int, "depth": int, "run_id": int, "first_seen_at": str},
        pk=("from_item_id", "to_item_id"),
        foreign_keys=[("from_item_id", "items", "id"), ("to_item_id", "items", "id"), ("run_id", "runs", "id")],
    )
    db["links"].create_index(["to_item_id"], if_not_exists=True)

    db["http_cache"].create(
        {"url": str, "etag": str, "last_modified": str, "updated_at": str},
        pk="url",
    )
    db["seed_imports"].create(
        {"sha256": str, "path": str, "imported_at": str, "items": int, "run_id": int},
        pk="sha256",
    )
    # External-content FTS5 index over items with the Python tokenizer news_fold (until schema 8, which replaces it
    # with a table of SQLite's own tokenizer: db/search.py).
    db.execute(
        'CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, publisher, content="items", '
        'content_rowid="id", tokenize="news_fold")'
    )


def _v2_source_health(db: sqlite_utils.Database) -> None:
    """Source health beyond the foundation: error classes, backoff, stale flags (the fetching issue)."""
    sources = db["sources"]
    sources.add_column("last_error_class", str)
    sources.add_column("last_new_at", str)          # start of the last run that found new items
    sources.add_column("flags", str, not_null_default="")  # failing, selectors_broken, stale (db/health.py)
    sources.add_column("backoff_until", str)        # set while a failing source's runs are pushed out
    # URLs a page listed (a sitemap index's children), re-queued when the page answers 304 Not Modified
    db["http_cache"].add_column("discovered", str)


def _v3_identity(db: sqlite_utils.Database) -> None:
    """Near-duplicate stories and title history (the identity issue); see db/story_index.py."""
    from db.story_index import backfill_story_keys

    db["items"].add_column("core_key", str)            # monitor.identity: folded title without tags (rule 2)
    db["items"].add_column("story_matched_by", str)    # new, title, truncated, near: how the story was decided
    db["items"].create_index(["core_key"], if_not_exists=True)
    # Several stories may share a founding title (the same headline a month later is another story).
    db.execute("DROP INDEX IF EXISTS idx_stories_story_key")
    db["stories"].create_index(["story_key"], if_not_exists=True)
    db["stories"].add_column("first_published_at", str)
    db["stories"].add_column("last_published_at", str)
    db["stories"].create_index(["publishers", "items"], if_not_exists=True)
    # The candidate index: MinHash band keys and cut-title keys per item, by day (db/story_index.py).
    # Day first: a story window is a few days' keys (day IN (...) AND key IN (...)), and the recent days are read
    # into memory as one range; cut-title keys are stored at day 0.
    db.execute(
        "CREATE TABLE story_keys (day INTEGER NOT NULL, key INTEGER NOT NULL, item_id INTEGER NOT NULL, "
        "PRIMARY KEY (day, key, item_id)) WITHOUT ROWID"
    )
    db["title_history"].create(
        {"id": int, "item_id": int, "title": str, "title_key": str, "replaced_at": str, "new_title": str,
         "source": str, "run_id": int},
        pk="id",
        foreign_keys=[("item_id", "items", "id")],
        not_null={"item_id", "title", "title_key", "replaced_at"},
    )
    db["title_history"].create_index(["item_id"], if_not_exists=True)
    backfill_story_keys(db.conn)


def _v4_related(db: sqlite_utils.Database) -> None:
    """Article pages fetched by the related-headlines spider (the related-blocks issue)."""
    # One row per page (by canonical URL), rewritten at each fetch: the spider reads fetched_at and status to
    # never fetch a page again within the source's revisit_after.
    db["pages"].create(
        {
            "url_key": str,          # canonical form of the URL fetched
            "url": str,              # the URL as fetched (the related link)
            "final_url": str,        # after redirects
            "canonical_url": str,    # what the page says it is (rel=canonical / og:url)
            "item_id": int,          # the item this page is
            "source": str,
            "run_id": int,
            "depth": int,            # 0 for a start page
            "fetched_at": str,
            "status": str,           # ok or error
            "http_status": int,
            "error_class": str,
            "error": str,
            "heading": str,          # the related block's heading (相关新闻...) or select.related
            "related_found": int,    # headlines in the related block
            "related_kept": int,     # ... that passed the source's topics (stored as items and links)
        },
        pk="url_key",
        not_null={"url", "fetched_at", "status"},
        foreign_keys=[("item_id", "items", "id"), ("run_id", "runs", "id")],
    )
    db["pages"].create_index(["item_id"], if_not_exists=True)
    db["pages"].create_index(["fetched_at"], if_not_exists=True)
    db["links"].create_index(["run_id"], if_not_exists=True)


def _v5_http_cache_per_source(db: sqlite_utils.Database) -> None:
    """Conditional-GET state per (source, url): two sources reading one URL no longer answer for each other.

    Keyed by URL alone, the validators one source stored made the server answer 304 to the next source on the same
    URL, which then never read that version (two rss sources on one feed with different topics: the second stored
    nothing). The old rows say nothing about which source stored them, so they are dropped rather than guessed: the
    cache only saves a download, and copying a row to every source on its URL would repeat the bug once. Each
    source's next run is a full GET.
    """
    db["http_cache"].drop()
    db["http_cache"].create(
        {"source": str, "url": str, "etag": str, "last_modified": str, "updated_at": str, "discovered": str},
        pk=("source", "url"),
    )


def _v6_item_extra(db: sqlite_utils.Database) -> None:
    """What a source told about an item beyond the standard fields (``Item.extra``: a feed's author and categories, a
    sitemap's keywords, language, lastmod...), as a JSON object; NULL when it told nothing more. Rows stored before
    keep NULL until a source shows them again."""
    db["items"].add_column("extra", str)


def _v7_run_precision(db: sqlite_utils.Database) -> None:
    """What a run read and how long it took, precisely (issue 11).

    ``replaced_bytes``: bytes of the run's pages that could not be decoded and were replaced by U+FFFD (a UTF-8
    feed with a stray byte is read, not refused). ``elapsed_ms``: the run's duration in whole milliseconds, an
    integer to sort by; from now on ``started_at``/``finished_at`` keep milliseconds too. Older rows get
    ``elapsed_ms`` from their ``elapsed_s`` (to the second, as they were measured).
    """
    runs = db["runs"]
    runs.add_column("replaced_bytes", int)
    runs.add_column("elapsed_ms", int)
    db.execute("UPDATE runs SET elapsed_ms = CAST(ROUND(elapsed_s * 1000) AS INTEGER) WHERE elapsed_s IS NOT NULL")
    runs.create_index(["elapsed_ms"], if_not_exists=True)


def _v8_search_builtin(db: sqlite_utils.Database) -> None:
    """The search index with SQLite's own tokenizer (db/search.py), so every SQLite tool opens the file.

    Before, ``items_fts`` used the Python tokenizer ``news_fold``: Datasette without our plug-in refused the file at
    start-up and the sqlite3 shell failed on the table. Now our code folds and spaces the text it indexes and
    ``unicode61`` splits it: the same tokens, so the same search results. The old table is dropped (with its
    tokenizer, which ``migrate`` registers for the migrations before this one) and every item indexed again.
    """
    db.execute("DROP TABLE IF EXISTS items_fts")
    db.execute(search.CREATE_SEARCH_TABLE)
    search.index_rows(db.conn, db.execute("SELECT id, title, summary, publisher FROM items ORDER BY id"))


def _v9_browsing_at_scale(db: sqlite_utils.Database) -> None:
    """Datasette at a million items (issue 12): kept facet counts, and indexes for the default sorts and audits.

    * ``facet_counts``, kept by triggers (``db/facet_counts.py``): an unfiltered table's facets and the
      ``identity_rules`` audit read them instead of scanning every row.
    * The default sorts (``items`` by ``published_at``, ``sightings`` by ``seen_at``, ``stories`` by ``items``,
      newest or largest first) are served by an index whose ties run in ascending id. Datasette breaks ties by
      ascending id from the second page on, but its first page has no tie-breaker: read in the index's order, the
      first page's ties come in the same order, so paging (and a streamed CSV) returns every row exactly once.
    * The news desk's and ``export``'s order (``db.export.NEWEST_FIRST``: publication time, else first seen, newest
      first) has an index of its own: the desk's first page no longer sorts every item. So do one publisher's
      items newest first (``items?publisher=...``, the same ties order) and the ``related_links`` query.
    * ``sightings.matched_by`` and ``items.story_matched_by`` are indexed for ``merges_by_rule`` and
      ``story_merges_by_rule`` (the newest 1,000 of a rare rule without reading every row).
    """
    from db.facet_counts import create

    conn = db.conn
    conn.execute("DROP INDEX IF EXISTS idx_items_published_at")
    conn.execute("CREATE INDEX idx_items_published_at_id ON items (published_at, id DESC)")
    conn.execute("CREATE INDEX idx_sightings_seen_at_id ON sightings (seen_at, id DESC)")
    conn.execute("CREATE INDEX idx_stories_items_id ON stories (items, id DESC)")
    conn.execute("CREATE INDEX idx_items_newest ON items (coalesce(published_at, first_seen_at), id)")
    conn.execute("DROP INDEX IF EXISTS idx_items_publisher")
    conn.execute("CREATE INDEX idx_items_publisher_published ON items (publisher, published_at, id DESC)")
    conn.execute("CREATE INDEX idx_links_newest ON links (first_seen_at, depth DESC, from_item_id DESC)")
    conn.execute("CREATE INDEX idx_sightings_matched_by ON sightings (matched_by)")
    conn.execute("CREATE INDEX idx_items_story_matched_by ON items (story_matched_by)")
    create(conn)


def _v10_run_owners_and_unchanged_pages(db: sqlite_utils.Database) -> None:
    """Whose runs are in flight, and what an unchanged page gave (issues 14 and 12).

    ``runs.owner``: the process (and store) that runs it (``db.owners``), so a process opening the file closes as
    ``interrupted`` only the runs of owners that are gone, never those another live process has in flight; rows
    from before have none and are swept as before. The partial index keeps that sweep off the whole runs table;
    another gives each finished run's health flags the source's last runs with new items without reading all its
    runs (34 ms -> 0.03 ms for a source with 20,000 runs).
    ``http_cache.body_digest`` and ``http_cache.sightings``: the digest of the page's last body (with how it is
    read) and the sightings that read recorded, so the same bytes again record them again without a parse
    (``db.store.repeats``).
    """
    db["runs"].add_column("owner", str)
    db.execute("CREATE INDEX IF NOT EXISTS idx_runs_running ON runs (id) WHERE status = 'running'")
    db.execute("CREATE INDEX IF NOT EXISTS idx_runs_new_items ON runs (source, id) WHERE items_new > 0")
    db["http_cache"].add_column("body_digest", str)
    db["http_cache"].add_column("sightings", str)


def _v11_publisher_pages(db: sqlite_utils.Database) -> None:
    """One publisher's items (``items?publisher=...``, what clicking a publisher facet opens) with their facets read
    from one index (issue 12): the publisher index also holds ``topics`` and ``sources``, so the page's ``topics``
    and ``sources`` facets count the publisher's rows from its index entries, in index order, instead of reading
    each of its (scattered, wide) rows: at a million items, 21,000 rows of one publisher, 46 -> 19 ms a facet."""
    db.execute("DROP INDEX IF EXISTS idx_items_publisher_published")
    db.execute("CREATE INDEX idx_items_publisher_published ON items "
               "(publisher, published_at, id DESC, topics, sources)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2_source_health, _v3_identity, _v4_related,
                                                              _v5_http_cache_per_source, _v6_item_extra,
                                                              _v7_run_precision, _v8_search_builtin,
                                                              _v9_browsing_at_scale,
                                                              _v10_run_owners_and_unchanged_pages,
                                                              _v11_publisher_pages]
SCHEMA_VERSION = len(MIGRATIONS)
# Files below this version have (or, being created, will first get) the search table of the news_fold tokenizer.
SEARCH_BUILTIN_SINCE = MIGRATIONS.index(_v8_search_builtin) + 1


# The tables each schema version added (a file without the mark must hold those of its version to be ours).
TABLES_SINCE = {
    1: ("items", "stories", "runs", "sightings", "sources", "item_topics", "links", "http_cache", "seed_imports",
        "items_fts"),
    3: ("story_keys", "title_history"),
    4: ("pages",),
    9: ("facet_counts",),
}


def migrate(conn: sqlite3.Connection, path: str | Path | None = None) -> int:
    """Bring the database to SCHEMA_VERSION, one migration per transaction; returns the version it had before.

    A file already up to date and marked as ours is only read (two pragmas, no write lock): that is every start but
    the first after an upgrade. Otherwise the version is read inside each write transaction: a second process
    creating or upgrading the same file at the same moment waits for the first, then finds the work done.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION and conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return version
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    path = path or conn.execute("PRAGMA database_list").fetchone()[2]
    before = None
    legacy_tokenizer = False
    while True:
        with write_transaction(conn, path):
            version = check_ours(conn, path)
            before = version if before is None else before
            if version < SEARCH_BUILTIN_SINCE and not legacy_tokenizer:
                search.register_search_tokenizer(db.conn)      # the old table is read, rebuilt and dropped
                legacy_tokenizer = True
            if version == SCHEMA_VERSION:
                if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")   # a file from before the mark
                return before
            MIGRATIONS[version](db)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def check_ours(conn: sqlite3.Connection, path: str | Path) -> int:
    """The schema version of a file news-monitor may write (0: an empty file, to be created); reads only.

    ``SchemaError`` for a file that is not empty and not ours (another program's tables, another program's
    ``application_id`` or ``user_version``) and for one made by a newer release.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    mark = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    advice = ("nothing was written to it; point `database:` in the config at a news-monitor database or at a file "
              "that does not exist yet")
    if mark not in (0, APPLICATION_ID):
        raise SchemaError(f"{path} belongs to another program (its application_id is {mark:#x}, not news-monitor's): "
                          f"{advice}", path=path)
    if version > SCHEMA_VERSION and (mark == APPLICATION_ID or {"items", "runs", "sources"} <= tables):
        raise SchemaError(f"{path}: schema version {version} is newer than this release understands "
                          f"({SCHEMA_VERSION}); upgrade news-monitor", path=path)
    if mark == APPLICATION_ID and version > 0:
        return version
    if version == 0 and objects == 0:
        return 0
    expected = {table for since, names in TABLES_SINCE.items() if since <= version for table in names}
    missing = sorted(expected - tables)
    if version == 0 or version > SCHEMA_VERSION or missing:
        held = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "") if tables else "no tables"
        raise SchemaError(f"{path} is not a news-monitor database (user_version {version}; it holds {held}): "
                          f"{advice}", path=path)
    return version
