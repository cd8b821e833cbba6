"""Export items as CSV or JSON lines, filtered by topic, source, time and search query.

CSV is UTF-8 with a byte-order mark (so spreadsheet programs read Chinese correctly) and a header row. A cell that
begins with ``=``, ``+``, ``-``, ``@`` (or a tab/CR) is prefixed with an apostrophe so a spreadsheet does not run it
as a formula; Datasette's own CSV export has no such guard (FACTS.md).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

COLUMNS = ("id", "title", "url", "publisher", "published_at", "first_seen_at", "last_seen_at", "story_id",
           "topics", "sources", "summary")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFilter:
    topic: str | None = None
    source: str | None = None
    since: str | None = None      # ISO date or datetime, compared with published_at (else first_seen_at)
    until: str | None = None
    search: str | None = None     # full-text query, either script


def select_items(conn: sqlite3.Connection, filters: ExportFilter) -> Iterator[dict]:
    """Matching items, newest first (by publication time, else first sighting)."""
    where, params = [], {}
    if filters.topic:
        where.append("id IN (SELECT item_id FROM item_topics WHERE topic = :topic)")
        params["topic"] = filters.topic
    if filters.source:
        where.append("id IN (SELECT item_id FROM sightings WHERE source = :source)")
        params["source"] = filters.source
    if filters.since:
        where.append("coalesce(published_at, first_seen_at) >= :since")
        params["since"] = filters.since
    if filters.until:
        where.append("coalesce(published_at, first_seen_at) < :until")
        params["until"] = _end_of(filters.until)
    if filters.search:
        where.append("id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH :search)")
        params["search"] = _escape_fts(filters.search)
    sql = f"SELECT {', '.join(COLUMNS)} FROM items"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY coalesce(published_at, first_seen_at) DESC, id DESC"
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def write_csv(rows: Iterator[dict], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_safe_cell(row[column]) for column in COLUMNS])
        count += 1
    return count


def write_jsonl(rows: Iterator[dict], out: IO[str]) -> int:
    count = 0
    for row in rows:
        row = dict(row, topics=json.loads(row["topics"] or "[]"), sources=json.loads(row["sources"] or "[]"))
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _end_of(day_or_time: str) -> str:
    """``--until 2020-12-15`` includes the whole of that day."""
    return day_or_time + "T99" if len(day_or_time) == 10 else day_or_time


def _escape_fts(query: str) -> str:
    """Each space-separated word becomes a quoted phrase, as Datasette's escaped search mode does."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in query.split())
