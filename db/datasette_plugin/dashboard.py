"""The dashboard at ``/-/dashboards/news``: coverage and source health, read from the database at each request.

Why not ``datasette-dashboards``: its charts send their SQL from the browser (``?sql=``), so they need the
``execute-sql`` permission that a published corpus keeps off (``datasette.allow_sql``). The queries here are fixed
and run on the server; the charts are SVG (``charts.py``), so nothing is fetched from a CDN.

A day is a day in the configured timezone: stored times carry their offset, SQLite's ``date()`` takes them to UTC,
and the zone's offset (at the time of the request) is added back.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from markupsafe import Markup

from db.datasette_plugin.charts import STATUS_COLOURS, days_between, horizontal_bars, stacked_bars

DEFAULT_DAYS = 60
MAX_DAYS = 730
TOP_PUBLISHERS = 8
_WHEN = "coalesce(items.published_at, items.first_seen_at)"


@dataclass
class Dashboard:
    first: date
    last: date
    days: int
    runs_first: date | None = None
    runs_last: date | None = None
    charts: list[tuple[str, str, Markup]] = field(default_factory=list)   # (id, title, svg)
    failing: list[dict] = field(default_factory=list)


def day_shift(zone: tzinfo) -> str:
    """The SQLite ``date()`` modifier from UTC to ``zone`` (its offset now)."""
    offset = datetime.now(zone).utcoffset() or timedelta(0)
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def window(conn: sqlite3.Connection, zone: tzinfo, days: int, when: str, table: str) -> tuple[date, date]:
    """``days`` days ending at the latest day ``table`` has a ``when`` on (today at most; today if none): a corpus
    that stopped growing still shows its last weeks."""
    today = datetime.now(zone).date()
    latest = conn.execute(f"SELECT date(max({when}), :shift) FROM {table} WHERE {when} <= :tomorrow",
                          {"shift": day_shift(zone), "tomorrow": (today + timedelta(days=1)).isoformat()}
                          ).fetchone()[0]
    until = min(date.fromisoformat(latest), today) if latest else today
    return until - timedelta(days=days - 1), until


def dashboard(conn: sqlite3.Connection, zone: tzinfo, days: int = DEFAULT_DAYS) -> Dashboard:
    days = max(1, min(days, MAX_DAYS))
    first, last = window(conn, zone, days, _WHEN, "items")
    board = Dashboard(first=first, last=last, days=days)
    day_list = days_between(first, last)
    params = _window_params(zone, first, last)
    in_window = f"{_WHEN} >= :lower AND {_WHEN} < :upper AND date({_WHEN}, :shift) BETWEEN :first AND :last"

    by_topic = _series(conn, f"""SELECT date({_WHEN}, :shift), coalesce(item_topics.topic, '(no topic)'), count(*)
FROM items LEFT JOIN item_topics ON item_topics.item_id = items.id
WHERE {in_window} GROUP BY 1, 2""", params)
    board.charts.append(("items-by-topic", "Items per day, by topic", stacked_bars("Items per day, by topic",
                                                                                   day_list, by_topic)))

    top = [name for (name,) in conn.execute(f"""SELECT coalesce(nullif(items.publisher, ''), '(unknown)') AS p
FROM items WHERE {in_window} GROUP BY p ORDER BY count(*) DESC, p LIMIT {TOP_PUBLISHERS}""", params)]
    by_publisher = _series(conn, f"""SELECT date({_WHEN}, :shift),
       CASE WHEN coalesce(nullif(items.publisher, ''), '(unknown)') IN (SELECT value FROM json_each(:top))
            THEN coalesce(nullif(items.publisher, ''), '(unknown)') ELSE '(other publishers)' END, count(*)
FROM items WHERE {in_window} GROUP BY 1, 2""", dict(params, top=json.dumps(top, ensure_ascii=False)))
    ordered = {name: by_publisher[name] for name in [*top, "(other publishers)"] if name in by_publisher}
    board.charts.append(("items-by-publisher", f"Items per day, top {TOP_PUBLISHERS} publishers",
                         stacked_bars("Items per day, by publisher", day_list, ordered)))

    story_when = "coalesce(stories.first_published_at, stories.first_seen_at)"
    stories = _series(conn, f"""SELECT date({story_when}, :shift),
       CASE WHEN stories.publishers > 1 THEN 'reported by several outlets' ELSE 'one outlet so far' END, count(*)
FROM stories WHERE {story_when} >= :lower AND {story_when} < :upper
  AND date({story_when}, :shift) BETWEEN :first AND :last GROUP BY 1, 2""", params)
    board.charts.append(("new-stories", "New stories per day", stacked_bars(
        "New stories per day", day_list, {k: stories[k] for k in sorted(stories, reverse=True)},
        {"reported by several outlets": "#4e79a7", "one outlet so far": "#a0cbe8"})))

    run_first, run_last = window(conn, zone, days, "started_at", "runs")
    board.runs_first, board.runs_last = run_first, run_last
    runs = _series(conn, """SELECT date(started_at, :shift), status, count(*) FROM runs
WHERE started_at >= :lower AND started_at < :upper AND date(started_at, :shift) BETWEEN :first AND :last
GROUP BY 1, 2""", _window_params(zone, run_first, run_last))
    board.charts.append(("runs-by-status", f"Runs per day, by status ({run_first} to {run_last})", stacked_bars(
        "Runs per day, by status", days_between(run_first, run_last), runs,
        {status: STATUS_COLOURS.get(status, "#999") for status in runs})))

    conn.row_factory = sqlite3.Row
    board.failing = [dict(row) for row in conn.execute(
        """SELECT name, kind, flags, consecutive_failures, last_error_class, last_error, last_success_at
FROM sources WHERE in_config = 1 AND (consecutive_failures > 0 OR flags != '')
ORDER BY consecutive_failures DESC, name""")]
    if board.failing:
        board.charts.append(("failing-sources", "Failing sources: failed runs in a row", horizontal_bars(
            "Failing sources", [(row["name"], row["consecutive_failures"] or 0,
                                 f"{row['name']}: {row['last_error_class'] or row['flags']}")
                                for row in board.failing])))
    return board


def _window_params(zone: tzinfo, first: date, last: date) -> dict:
    return {"shift": day_shift(zone), "first": first.isoformat(), "last": last.isoformat(),
            # a string bound a day either side, so the index-free date() runs on the window's rows only
            "lower": (first - timedelta(days=1)).isoformat(), "upper": (last + timedelta(days=2)).isoformat()}


def _series(conn: sqlite3.Connection, sql: str, params: dict) -> dict[str, dict[str, int]]:
    """Rows of (day, name, count) as {name: {day: count}}, names in order of their totals."""
    series: dict[str, dict[str, int]] = {}
    for day, name, count in conn.execute(sql, params):
        series.setdefault(str(name), {})[day] = count
    return dict(sorted(series.items(), key=lambda item: -sum(item[1].values())))
