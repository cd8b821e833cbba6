"""Datasette metadata: table and column descriptions, default facets, sort order, canned queries,
and the settings of the news-monitor plug-in (``db/datasette_plugin``)."""

from __future__ import annotations

TABLES = {
    "items": {
        "description": "One row per distinct news item. Identity: same canonical URL, or same folded title "
                       "(traditional/simplified, width, punctuation and outlet suffix ignored).",
        "columns": {
            "id": "Item id",
            "title": "The fullest title known (outlet suffix removed)",
            "url": "First URL seen for the item (sightings keep every URL)",
            "summary": "Summary or snippet, plain text",
            "publisher": "Outlet that published the item, where known",
            "published_at": "Publication time, ISO 8601 with offset",
            "first_seen_at": "When the monitor first saw the item",
            "last_seen_at": "When a source last showed the item",
            "story_id": "Story the item belongs to (same story from several outlets)",
            "topics": "Topics the item matched (JSON array)",
            "sources": "Sources that have shown the item (JSON array)",
            "origin": "'seed' (from a seed document) or 'scraped'",
            "title_cut": "Where a seed title was cut short with '...': start, end or both",
            "url_key": "Canonical URL used for identity",
            "title_key": "Folded title used for identity",
            "publisher_key": "Folded publisher",
            "core_key": "Folded title without a leading tag or label that is not the headline (【…】, 视频：)",
            "story_matched_by": "How the story was decided: new (the item founded it), title (same folded "
                                "title), truncated (a title cut short with '...'), near (a near-duplicate headline)",
            "extra": "What the sources told beyond these columns, as a JSON object (a feed's author and categories, "
                     "a sitemap's keywords, language, lastmod...); a later sighting adds keys and never replaces a "
                     "value; empty when they told nothing more",
        },
        "facets": ["publisher", {"array": "topics"}, {"array": "sources"}],
        "sort_desc": "published_at",
        "label_column": "title",
        # no fts_table: Datasette's own search cannot read items_fts (db/datasette_plugin/search_filter.py searches)
    },
    "sightings": {
        "description": "Every time a source showed an item: when, in which run, under which URL and title.",
        "columns": {
            "id": "Sighting id",
            "item_id": "The item seen",
            "source": "Source name from config.yaml ('seed' for seed imports)",
            "run_id": "The run that saw it",
            "seen_at": "When",
            "url": "URL as the source gave it",
            "title": "Title as the source showed it",
            "matched_by": "How the item was identified: new, url, title, seed, truncated (a title cut short) or "
                          "near (a near-duplicate from the same outlet); page when the spider read the item's own "
                          "article page",
        },
        "facets": ["source", "matched_by"],
        "sort_desc": "seen_at",
    },
    "runs": {
        "description": "One row per scrape of a source, successful or not.",
        "columns": {
            "id": "Run id",
            "source": "Source name from config.yaml ('seed' for seed imports)",
            "started_at": "When the run started (to the millisecond)",
            "finished_at": "When it finished, to the millisecond (empty while it runs)",
            "status": "ok, not_modified (HTTP 304), error, or running while in flight",
            "http_status": "HTTP status of the last response",
            "items_seen": "Items the source showed in this run",
            "items_new": "Items that were new to the database",
            "error_class": "Short reason class: timeout, http_500, too_large, not_a_feed, not_a_page, ...",
            "error": "What went wrong and what to do; on an ok run, what it left out (max_items reached)",
            "encoding": "Text encoding the (first) page was decoded with, failed runs included",
            "elapsed_s": "Seconds the run took (to the millisecond; runs before schema 7: to the second)",
            "elapsed_ms": "Milliseconds the run took: sort by it to find a slow source",
            "replaced_bytes": "Bytes of the run's pages that could not be decoded and were replaced by U+FFFD "
                              "(a UTF-8 feed with a stray byte); empty or 0 when every byte decoded",
            "owner": "The process that ran it, as host/pid/start/store (start: the boot id and start time in clock "
                     "ticks); a run left running is closed as interrupted only once that process is gone",
        },
        "facets": ["source", "status", "error_class"],
        "sort_desc": "started_at",
    },
    "sources": {
        "description": "The configured sources and their health.",
        "columns": {
            "name": "The source's name in config.yaml",
            "kind": "rss, html, json, sitemap or related",
            "url": "Its first configured URL (empty for a related source that starts from stored items)",
            "schedule": "every 15m, or cron ...",
            "topics": "The topics whose items it keeps (JSON array; empty: every item)",
            "enabled": "0 when config.yaml disables it",
            "last_run_at": "When its last run started",
            "last_success_at": "When its last successful run started",
            "last_error": "The last failed run's message: what went wrong and what to do",
            "in_config": "0 once the source was removed from config.yaml (its rows are kept)",
            "last_status": "Status of the last run",
            "consecutive_failures": "Failed runs in a row (0 after any success)",
            "items_found": "New items this source has added in all",
            "next_run_at": "When the running service will next scrape it",
            "flags": "failing (3+ failures in a row), selectors_broken (selectors suddenly match nothing), "
                     "stale (nothing new for much longer than usual)",
            "last_error_class": "Class of the last error: timeout, http_429, too_large, not_a_feed, robots, ...",
            "backoff_until": "Set while a failing source's runs are pushed out (doubling, at most a day)",
            "last_new_at": "Start of the last run that found new items",
        },
    },
    "item_topics": {
        "description": "Which topics each item matched, and by which keywords.",
        "columns": {
            "item_id": "The item",
            "topic": "A topic name from config.yaml",
            "matched": "The configured keywords that matched, comma-separated",
        },
        "facets": ["topic"],
    },
    "links": {
        "description": "'from' lists 'to' as a related headline (相關焦點 and the like); "
                       "depth counts hops from a seed or a spider's start page. The canned queries "
                       "related_links, related_to and related_from show titles on both ends.",
        "columns": {
            "from_item_id": "The item whose page (or seed document) lists the other",
            "to_item_id": "The related headline it lists",
            "depth": "Hops from the start: 1 for a start page's related headlines, 2 for theirs...",
            "run_id": "The run that first found the link (a seed import or a spider run)",
            "first_seen_at": "When the link was first found",
        },
        "facets": ["depth"],
    },
    "pages": {
        "description": "Article pages fetched by the related-headlines spider (kind related, follow: related): "
                       "one row per page, replaced at each fetch. A page fetched within its source's "
                       "revisit_after is not fetched again.",
        "columns": {
            "url_key": "Canonical form of the URL fetched",
            "source": "The source whose crawl fetched it",
            "run_id": "The run that last fetched it",
            "http_status": "HTTP status of the last answer",
            "error_class": "Why the fetch or the reading failed: timeout, http_404, blocked_address, robots, ...",
            "error": "What went wrong and what to do",
            "url": "The URL as fetched (the related link)",
            "final_url": "Where redirects ended",
            "canonical_url": "What the page says it is (rel=canonical or og:url)",
            "item_id": "The item this page is",
            "depth": "0 for a start page, 1 for a page its related block listed, ...",
            "fetched_at": "When it was last fetched",
            "status": "ok, or error (then error_class and error say why)",
            "heading": "Heading of the related block read (相关新闻...), or select.related",
            "related_found": "Headlines in the related block",
            "related_kept": "Of those, the ones matching the source's topics (stored as items and links)",
        },
        "facets": ["source", "status", "heading"],
        "sort_desc": "fetched_at",
    },
    "stories": {
        "description": "Clusters of items that report the same story, across outlets: the same folded title, a "
                       "title cut short, or a near-duplicate headline, within three days. The canned queries "
                       "stories_by_publishers and story_members list them and their items.",
        "columns": {
            "id": "Story id (items.story_id)",
            "title": "Representative title: the first item's (a full title replaces one cut short)",
            "items": "Items in the story",
            "publishers": "Distinct publishers",
            "first_seen_at": "When the monitor first saw one of its items",
            "last_seen_at": "When a source last showed one of its items",
            "first_published_at": "Earliest publication time of its items",
            "last_published_at": "Latest publication time of its items",
            "story_key": "Folded core title of the item that founded it",
        },
        "sort_desc": "items",
    },
    "title_history": {
        "description": "Titles an item had before its outlet edited it (same URL, a new title from the source that "
                       "showed the old one). The item keeps its row; its title is the newest.",
        "columns": {
            "id": "Row id",
            "item_id": "The item",
            "title": "The title it had",
            "title_key": "That title folded",
            "replaced_at": "When the new title was seen",
            "new_title": "The title that replaced it",
            "source": "The source that showed the new title",
            "run_id": "The run that saw it",
        },
        "sort_desc": "replaced_at",
    },
    "story_keys": {
        "description": "Index of near-duplicate candidate keys (MinHash bands, cut-title keys) per item and day; "
                       "internal to the store.",
        "columns": {
            "day": "The item's day (date.toordinal of its publication or first-seen date; 0 for cut-title keys)",
            "key": "A MinHash band key of its headline, or a key of a title cut short",
            "item_id": "The item",
        },
        "hidden": True,
    },
    "facet_counts": {
        "description": "How many rows hold each value of the columns readers facet by (items' publisher, topics, "
                       "sources and story_matched_by; sightings' source and matched_by), kept by triggers as rows "
                       "change: a whole table's facets are read from here instead of counting every row.",
        "columns": {
            "table_name": "The table counted",
            "column_name": "The column counted",
            "value": "A value the column holds (for topics and sources: a name in the JSON array)",
            "rows": "Rows holding it (0 once none does)",
        },
        "hidden": True,
    },
    "http_cache": {
        "description": "ETag and Last-Modified per source and fetched URL, for conditional GET.",
        "columns": {
            "source": "The source that fetched the URL (each source reads its own copy)",
            "url": "The URL fetched",
            "etag": "The ETag it answered with",
            "last_modified": "The Last-Modified it answered with",
            "updated_at": "When the answer was stored",
            "discovered": "URLs the page listed (a sitemap index's children), read again when it answers 304 "
                          "(JSON array)",
            "body_digest": "SHA-256 of the page's last body and of how the source reads it: the same again is not "
                           "parsed, its items are seen again",
            "sightings": "The sightings the page's last read recorded (JSON array of sightings.id), recorded again "
                         "when the same bytes come back",
        },
        "hidden": True,
    },
    "seed_imports": {
        "description": "Seed files imported (by SHA-256), so an import is never repeated.",
        "columns": {
            "sha256": "SHA-256 of the file's bytes (with --base-url, of the bytes and the base URL)",
            "path": "The file or URL imported",
            "imported_at": "When",
            "items": "Items the seed listed (the article and its related headlines)",
            "run_id": "The run recording the import (source 'seed')",
        },
    },
}


# Canned queries (Datasette "queries"): name -> {"title", "description", "sql"}; one block per concern.
QUERIES: dict[str, dict] = {}

# --- source health (db/health.py) ---
QUERIES["sources_needing_attention"] = {
    "title": "Sources needing attention",
    "description": "Sources that are failing, backed off, whose selectors broke, or that went quiet; "
                   "the last error says what to do.",
    "sql": """SELECT name, kind, flags, consecutive_failures, last_error_class, last_error, last_success_at,
       last_new_at, backoff_until, next_run_at
FROM sources
WHERE in_config = 1 AND (flags != '' OR consecutive_failures > 0)
ORDER BY consecutive_failures DESC, name""",
}

# --- the related-headlines graph (monitor/spider.py) ---
_LINK_COLUMNS = """links.depth, f.id AS from_id, f.title AS from_title, f.url AS from_url,
       t.id AS to_id, t.title AS to_title, t.url AS to_url, t.published_at AS to_published_at,
       links.run_id, runs.source AS found_by, links.first_seen_at
FROM links
JOIN items f ON f.id = links.from_item_id
JOIN items t ON t.id = links.to_item_id
LEFT JOIN runs ON runs.id = links.run_id"""
QUERIES["related_links"] = {
    "title": "Related-headline links",
    "description": "Every 'A lists B as related' link, with both titles, the depth and the run (source) that "
                   "found it; newest first.",
    "sql": f"SELECT {_LINK_COLUMNS}\nORDER BY links.first_seen_at DESC, links.depth, links.from_item_id",
}
QUERIES["related_to"] = {
    "title": "Related to an item",
    "description": "The headlines an item's page (or seed document) lists as related: give its id.",
    "sql": f"SELECT {_LINK_COLUMNS}\nWHERE links.from_item_id = :item_id\nORDER BY links.depth, t.published_at DESC",
}
QUERIES["related_from"] = {
    "title": "Related from: pages that list an item",
    "description": "The items whose pages list the given item as related: give its id.",
    "sql": f"SELECT {_LINK_COLUMNS}\nWHERE links.to_item_id = :item_id\nORDER BY links.depth, f.published_at DESC",
}


# --- identity and stories (db/story_index.py, db/store, monitor/identity): audit merges ---
QUERIES["stories_by_publishers"] = {
    "title": "Stories reported by the most publishers",
    "description": "Stories of two or more items, the most publishers first. Open one with story_members.",
    "sql": """SELECT id AS story_id, title, publishers, items, first_published_at, last_published_at, first_seen_at,
       last_seen_at
FROM stories
WHERE items > 1
ORDER BY publishers DESC, items DESC, id DESC
LIMIT 500""",
}
QUERIES["story_members"] = {
    "title": "The items of a story",
    "description": "Every item of one story (give its story_id), with the rule that put it there: new (it founded "
                   "the story), title, truncated or near.",
    "sql": """SELECT id AS item_id, title, publisher, published_at, story_matched_by, url, first_seen_at
FROM items
WHERE story_id = :story_id
ORDER BY coalesce(published_at, first_seen_at), id""",
}
QUERIES["identity_rules"] = {
    "title": "How identity was decided, by rule",
    "description": "Sightings by the rule that matched them to an item (url, title, seed, truncated, near; new "
                   "for a new item, page for the spider) and items by the rule that put them in their story "
                   "(read from the counts the store keeps, facet_counts).",
    "sql": """SELECT 'item: sightings.matched_by' AS decision, value AS rule, rows AS count
FROM facet_counts WHERE table_name = 'sightings' AND column_name = 'matched_by' AND rows > 0
UNION ALL
SELECT 'story: items.story_matched_by', value, rows
FROM facet_counts WHERE table_name = 'items' AND column_name = 'story_matched_by' AND rows > 0
ORDER BY 1, 3 DESC""",
}
QUERIES["merges_by_rule"] = {
    "title": "Sightings merged into an item by one rule",
    "description": "Give a rule (url, title, seed, truncated, near): each sighting it matched, the title and URL "
                   "the source showed beside the item's own, newest first.",
    "sql": """SELECT sightings.seen_at, sightings.source, sightings.title AS title_seen, items.title AS item_title,
       sightings.url AS url_seen, items.url AS item_url, items.id AS item_id, items.publisher
FROM sightings JOIN items ON items.id = sightings.item_id
WHERE sightings.matched_by = :rule
ORDER BY sightings.id DESC
LIMIT 1000""",
}
QUERIES["story_merges_by_rule"] = {
    "title": "Items put in a story by one rule",
    "description": "Give a rule (title, truncated, near): each item it put in a story, beside the story's title.",
    "sql": """SELECT items.id AS item_id, items.title, items.publisher, items.published_at, stories.id AS story_id,
       stories.title AS story_title, stories.items AS story_items
FROM items JOIN stories ON stories.id = items.story_id
WHERE items.story_matched_by = :rule
ORDER BY items.id DESC
LIMIT 1000""",
}
QUERIES["title_edits"] = {
    "title": "Titles edited after publication",
    "description": "Items whose outlet changed the title (same URL): the old title, the new one and the current "
                   "one, newest first.",
    "sql": """SELECT title_history.replaced_at, title_history.item_id, title_history.title AS old_title,
       title_history.new_title, items.title AS current_title, title_history.source, items.url
FROM title_history JOIN items ON items.id = title_history.item_id
ORDER BY title_history.id DESC
LIMIT 1000""",
}


# --- reading the news (db/datasette_plugin: the story page and the Atom feed) ---
QUERIES["story"] = {
    "title": "Story",
    "description": "One story: its items from every outlet, first report first (give its story_id; the news desk "
                   "links each item's story).",
    "sql": """SELECT items.id AS item_id, items.title, items.url, items.publisher, items.published_at,
       items.first_seen_at, items.story_matched_by, items.topics, stories.id AS story_id,
       stories.title AS story_title, stories.items AS story_items, stories.publishers AS story_publishers
FROM stories JOIN items ON items.story_id = stories.id
WHERE stories.id = :story_id
ORDER BY coalesce(items.published_at, items.first_seen_at), items.first_seen_at, items.id""",
}


def new_items_query(database_name: str) -> dict:
    """The Atom feed of items new to the monitor (``/<database>/new_items.atom``, ``?topic=NAME``): newest first.

    An entry's id names the database and the item, so it stays the same whatever address Datasette is reached at.
    """
    return {
        "title": "New items",
        "description": "Items in the order the monitor found them, newest first; as a feed at new_items.atom, "
                       "optionally ?topic=NAME.",
        "sql": f"""SELECT 'urn:news-monitor:' || {_sql_text(database_name)} || ':item:' || items.id AS atom_id,
       items.title AS atom_title, items.url AS atom_link, items.first_seen_at AS atom_updated,
       items.published_at AS atom_published, items.publisher AS atom_author_name,
       trim(coalesce(items.publisher || ' · ', '') || coalesce(items.published_at, '') ||
            coalesce(char(10) || items.summary, '')) AS atom_content
FROM items
WHERE :topic = '' OR items.id IN (SELECT item_id FROM item_topics WHERE topic = :topic)
ORDER BY items.first_seen_at DESC, items.id DESC
LIMIT 100""",
    }


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def datasette_metadata(database_name: str, *, timezone: str = "Asia/Shanghai", allow_sql: bool = False) -> dict:
    """Metadata for ``datasette serve --metadata``; ``database_name`` is the file name without .db.

    ``timezone`` is the zone the plug-in shows times in; ``allow_sql`` opens the SQL box and ``?sql=`` to every
    visitor (``datasette.allow_sql``; canned queries, search, facets and the dashboard work without it)."""
    metadata = {
        "title": "news-monitor",
        "description": "A de-duplicated corpus of news headlines on the configured topics. "
                       "Search finds traditional and simplified script alike.",
        "databases": {database_name: {"title": "News desk", "tables": TABLES,
                                      "queries": {**QUERIES, "new_items": new_items_query(database_name)}}},
        "plugins": {"news-monitor": {"timezone": timezone}},
    }
    if not allow_sql:
        metadata["allow_sql"] = False
    return metadata
