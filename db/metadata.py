"""Datasette metadata: table and column descriptions, default facets, sort order, the search index, views."""

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
        },
        "facets": ["publisher", {"array": "topics"}, {"array": "sources"}],
        "sort_desc": "published_at",
        "fts_table": "items_fts",
        "fts_pk": "id",
    },
    "sightings": {
        "description": "Every time a source showed an item: when, in which run, under which URL and title.",
        "columns": {
            "item_id": "The item seen",
            "source": "Source name from config.yaml ('seed' for seed imports)",
            "run_id": "The run that saw it",
            "seen_at": "When",
            "url": "URL as the source gave it",
            "title": "Title as the source showed it",
            "matched_by": "How the item was identified: new, url, title or seed",
        },
        "facets": ["source", "matched_by"],
        "sort_desc": "seen_at",
    },
    "runs": {
        "description": "One row per scrape of a source, successful or not.",
        "columns": {
            "status": "ok, not_modified (HTTP 304) or error",
            "http_status": "HTTP status of the last response",
            "items_seen": "Items the source showed in this run",
            "items_new": "Items that were new to the database",
            "error_class": "Short reason class: timeout, http_500, too_large, not_a_feed, selector_empty, ...",
            "error": "What went wrong and what to do",
            "elapsed_s": "Seconds the run took",
        },
        "facets": ["source", "status", "error_class"],
        "sort_desc": "started_at",
    },
    "sources": {
        "description": "The configured sources and their health.",
        "columns": {
            "schedule": "every 15m, or cron ...",
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
        "columns": {"matched": "The configured keywords that matched, comma-separated"},
        "facets": ["topic"],
    },
    "links": {
        "description": "'from' lists 'to' as a related headline (相關焦點 and the like); "
                       "depth counts hops from a seed.",
    },
    "stories": {
        "description": "Clusters of items that report the same story, across outlets.",
        "columns": {"items": "Items in the story", "publishers": "Distinct publishers", "story_key": "Folded title"},
        "sort_desc": "items",
    },
    "http_cache": {"description": "ETag and Last-Modified per fetched URL, for conditional GET.", "hidden": True},
    "seed_imports": {"description": "Seed files imported (by SHA-256), so an import is never repeated."},
}


# Canned queries (Datasette "queries"): name -> {"title", "description", "sql"}; one block per concern.
QUERIES: dict[str, dict] = {}

# --- source health (monitor/health.py) ---
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


def datasette_metadata(database_name: str) -> dict:
    """Metadata for ``datasette serve --metadata``; ``database_name`` is the file name without .db."""
    return {
        "title": "news-monitor",
        "description": "A de-duplicated corpus of news headlines on the configured topics. "
                       "Search finds traditional and simplified script alike.",
        "databases": {database_name: {"tables": TABLES, "queries": QUERIES}},
    }
