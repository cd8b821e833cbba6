"""The news desk: the latest items with their filters; plain queries on a connection.

Datasette runs these through ``Database.execute_fn`` (read-only, under its SQL time limit); the template
(``templates/_news_desk.html``) only lays out what they return. Story pages are the ``story`` canned query
(``db/metadata.py``) shown by ``templates/query.html``. The filters mean exactly what ``export``'s options mean
(``db.export.item_conditions``), so a desk view and an export with the same filters hold the same items.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from db.export import NEWEST_FIRST, ExportFilter, FilterError, item_conditions, time_bound
from db.search import fts_query

PAGE_SIZE = 50
FILTER_NAMES = ("q", "topic", "publisher", "source", "since", "until")
_MAX_PUBLISHERS = 300     # publishers offered in the filter's list, the most prolific first


@dataclass
class Desk:
    """What the desk template shows: the filters as given, the lists to choose from, a page of items."""

    values: dict[str, str]
    topics: list[tuple[str, int]] = field(default_factory=list)
    publishers: list[tuple[str, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    older: str | None = None          # query string of the next (older) page
    error: str | None = None          # a filter that could not be read, in words
    table_query: str = ""             # the same selection as Datasette table filters (CSV, JSON, columns)


def local_time(text: str | None, zone: tzinfo) -> str:
    """A stored ISO time shown in the configured zone (``2020-12-15 08:00``); as stored if it cannot be read."""
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is not None:
        when = when.astimezone(zone)
    return when.strftime("%Y-%m-%d %H:%M")


def json_list(text: str | None) -> list[str]:
    """A stored JSON array of names (topics, sources) as a list; an unreadable value as one name."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def read_values(args) -> dict[str, str]:
    """The desk's filters from the request's query string (missing ones empty)."""
    return {name: (args.get(name) or "").strip() for name in FILTER_NAMES}


def news_desk(conn: sqlite3.Connection, values: dict[str, str], before: str | None, zone: tzinfo) -> Desk:
    desk = Desk(values=values)
    counts_kept = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'facet_counts'").fetchone() is not None
    desk.topics, desk.publishers = _filter_counts(conn, counts_kept)
    desk.sources = [name for (name,) in conn.execute(
        "SELECT name FROM sources UNION SELECT DISTINCT source FROM runs ORDER BY 1")]
    try:
        filters = ExportFilter(
            topic=values["topic"] or None, source=values["source"] or None, publisher=values["publisher"] or None,
            search=values["q"] or None,
            since=time_bound("since", values["since"], zone) if values["since"] else None,
            until=time_bound("until", values["until"], zone) if values["until"] else None)
    except FilterError as error:
        desk.error = str(error)
        return desk
    desk.table_query = _table_query(filters)
    where, params = item_conditions(filters, along_newest=counts_kept and _many_match(conn, filters))
    if before:
        key, _, item_id = before.rpartition("|")
        where.append("(coalesce(items.published_at, items.first_seen_at), items.id) < (:before_key, :before_id)")
        params.update(before_key=key, before_id=int(item_id) if item_id.isdigit() else 0)
    sql = f"""SELECT items.id, items.title, items.url, items.publisher, items.published_at, items.first_seen_at,
       items.topics, items.sources, items.story_id, stories.items AS story_items,
       stories.publishers AS story_publishers
FROM items LEFT JOIN stories ON stories.id = items.story_id
{"WHERE " + " AND ".join(where) if where else ""}
ORDER BY {NEWEST_FIRST}
LIMIT {PAGE_SIZE + 1}"""
    conn.row_factory = sqlite3.Row
    rows = [dict(row) for row in conn.execute(sql, params)]
    for row in rows[:PAGE_SIZE]:
        desk.items.append(dict(row, when=local_time(row["published_at"] or row["first_seen_at"], zone),
                               undated=not row["published_at"], topics=json_list(row["topics"]),
                               sources=json_list(row["sources"])))
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        page = {k: v for k, v in values.items() if v}
        page["before"] = f"{last['published_at'] or last['first_seen_at']}|{last['id']}"
        desk.older = urlencode(page)
    return desk


def _many_match(conn: sqlite3.Connection, filters: ExportFilter) -> bool:
    """Whether the filters likely hold so many items that reading the newest first and testing each finds a page
    sooner than gathering and sorting every match: about sqrt(page x items) matches or more (7,000 of 1,000,000),
    estimated from the kept counts (``facet_counts``) of the topic, source and publisher and the search index's
    count, as if independent. Filters by date alone are left to SQLite's own plan."""
    kept = [(column, value) for column, value in (("topics", filters.topic), ("sources", filters.source),
                                                 ("publisher", filters.publisher)) if value]
    if not kept and not filters.search:
        return False
    total = conn.execute("SELECT max(id) FROM items").fetchone()[0] or 0
    estimate = float(total)
    for column, value in kept:
        row = conn.execute("SELECT rows FROM facet_counts WHERE table_name = 'items' AND column_name = ? "
                           "AND value = ?", (column, value)).fetchone()
        estimate *= (row[0] if row else 0) / max(total, 1)
    if filters.search:
        found = conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH ?",
                             (fts_query(filters.search),)).fetchone()[0]
        estimate *= found / max(total, 1)
    return estimate * estimate >= (PAGE_SIZE + 1) * total


def _filter_counts(conn: sqlite3.Connection, counts_kept: bool) -> tuple[list, list]:
    """Topics (by name) and publishers (the most prolific first) with their items, for the filters' lists: read from
    the counts the store keeps (``db/facet_counts.py``), counted from the rows in a file that has none."""
    if counts_kept:
        kept = ("SELECT value, rows FROM facet_counts WHERE table_name = 'items' AND column_name = ? AND rows > 0 "
                "AND value != '' ORDER BY {order}")
        return (conn.execute(kept.format(order="value"), ("topics",)).fetchall(),
                conn.execute(kept.format(order=f"rows DESC, value LIMIT {_MAX_PUBLISHERS}"), ("publisher",)).fetchall())
    return (conn.execute("SELECT topic, count(*) FROM item_topics GROUP BY topic ORDER BY topic").fetchall(),
            conn.execute("SELECT publisher, count(*) AS n FROM items WHERE publisher IS NOT NULL AND publisher != '' "
                         f"GROUP BY publisher ORDER BY n DESC, publisher LIMIT {_MAX_PUBLISHERS}").fetchall())


def _table_query(filters: ExportFilter) -> str:
    """The same selection as Datasette's own table filters on ``items`` (its CSV and JSON links follow them).

    Datasette filters on one column, so the date range there reads ``published_at`` alone (undated items drop out).
    """
    args: list[tuple[str, str]] = []
    if filters.search:
        args.append(("_search", filters.search))
    if filters.topic:
        args.append(("topics__arraycontains", filters.topic))
    if filters.source:
        args.append(("sources__arraycontains", filters.source))
    if filters.publisher:
        args.append(("publisher__exact", filters.publisher))
    if filters.since:
        args.append(("published_at__gte", filters.since))
    if filters.until:
        args.append(("published_at__lt", filters.until + ("T99" if len(filters.until) == 10 else "")))
    return urlencode(args)

