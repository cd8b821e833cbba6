"""Counts of the values readers facet by, kept in ``facet_counts`` by SQLite triggers as rows change.

A Datasette facet over a whole table is a full scan: at a million items the ``topics`` and ``sources`` array facets
take about a second and time out on every load, ``sightings``' facets and the ``identity_rules`` audit scan millions
of sightings. The counts are kept instead, in the same transaction as the write that changes them (a trigger per
counted column; plain SQL, so a plain SQLite tool editing the file keeps them right too), and the news-monitor plug-in
answers an unfiltered table's facet from them (``db/datasette_plugin/facets.py``); a filtered one is counted by
Datasette as before.

A ``column`` count is the rows per value (NULL not counted, as Datasette's column facet leaves it out); an ``array``
count is the rows whose JSON array holds the value, each row once (as Datasette's array facet counts). A value whose
count falls to 0 keeps its row at 0 (``rows > 0`` when read).
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class Counted(NamedTuple):
    table: str
    column: str
    kind: str            # "column" or "array" (a JSON array of strings)


COUNTED = (
    Counted("items", "publisher", "column"),
    Counted("items", "topics", "array"),
    Counted("items", "sources", "array"),
    Counted("items", "story_matched_by", "column"),
    Counted("sightings", "source", "column"),
    Counted("sightings", "matched_by", "column"),
)

CREATE_TABLE = """CREATE TABLE facet_counts (
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    value NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (table_name, column_name, value)
) WITHOUT ROWID"""


def counted(table: str, column: str) -> Counted | None:
    for entry in COUNTED:
        if (entry.table, entry.column) == (table, column):
            return entry
    return None


def _values(entry: Counted, row: str) -> str:
    """A SELECT of the distinct values ``row`` (NEW or OLD) holds in the counted column, as ``value``."""
    column = f"{row}.{entry.column}"
    if entry.kind == "array":
        return (f"SELECT DISTINCT value FROM json_each(CASE WHEN json_valid({column}) THEN {column} ELSE '[]' END) "
                "WHERE value IS NOT NULL")
    return f"SELECT {column} AS value WHERE {column} IS NOT NULL"


def _add(entry: Counted, row: str) -> str:
    return (f"INSERT INTO facet_counts (table_name, column_name, value, rows) "
            f"SELECT '{entry.table}', '{entry.column}', value, 1 FROM ({_values(entry, row)}) WHERE true "
            f"ON CONFLICT (table_name, column_name, value) DO UPDATE SET rows = rows + 1;")


def _remove(entry: Counted, row: str) -> str:
    return (f"UPDATE facet_counts SET rows = rows - 1 WHERE table_name = '{entry.table}' "
            f"AND column_name = '{entry.column}' AND value IN ({_values(entry, row)});")


def _holds(entry: Counted, row: str) -> str:
    """SQL true when ``row``'s column holds something to count (most new rows hold nothing yet: no work then)."""
    column = f"{row}.{entry.column}"
    return f"{column} IS NOT NULL" + (f" AND {column} != '[]'" if entry.kind == "array" else "")


def trigger_statements() -> list[str]:
    """CREATE TRIGGER statements keeping ``facet_counts`` right through inserts, updates and deletes: one trigger per
    column and change, each guarded by a WHEN, so a write that changes no counted value runs no statement."""
    statements = []
    for entry in COUNTED:
        name = f"facet_counts_{entry.table}_{entry.column}"
        changed = f"OLD.{entry.column} IS NOT NEW.{entry.column}"
        statements += [
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {entry.table} WHEN {_holds(entry, 'NEW')} "
            f"BEGIN {_add(entry, 'NEW')} END",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {entry.table} WHEN {_holds(entry, 'OLD')} "
            f"BEGIN {_remove(entry, 'OLD')} END",
            f"CREATE TRIGGER {name}_update_old AFTER UPDATE OF {entry.column} ON {entry.table} "
            f"WHEN {changed} AND {_holds(entry, 'OLD')} BEGIN {_remove(entry, 'OLD')} END",
            f"CREATE TRIGGER {name}_update_new AFTER UPDATE OF {entry.column} ON {entry.table} "
            f"WHEN {changed} AND {_holds(entry, 'NEW')} BEGIN {_add(entry, 'NEW')} END",
        ]
    return statements


def recount_sql(entry: Counted) -> str:
    """SELECT value, rows: the counts of ``entry`` counted afresh from its table (a full scan)."""
    if entry.kind == "array":
        return (f"SELECT value, count(*) AS rows FROM (SELECT DISTINCT t.rowid, j.value FROM {entry.table} AS t, "
                f"json_each(CASE WHEN json_valid(t.{entry.column}) THEN t.{entry.column} ELSE '[]' END) AS j "
                f"WHERE j.value IS NOT NULL) GROUP BY value")
    return (f"SELECT {entry.column} AS value, count(*) AS rows FROM {entry.table} "
            f"WHERE {entry.column} IS NOT NULL GROUP BY {entry.column}")


def create(conn: sqlite3.Connection) -> None:
    """The table, filled from the rows there are, and its triggers (schema migration 9)."""
    conn.execute(CREATE_TABLE)
    for entry in COUNTED:
        conn.execute(f"INSERT INTO facet_counts (table_name, column_name, value, rows) "
                     f"SELECT '{entry.table}', '{entry.column}', value, rows FROM ({recount_sql(entry)})")
    for statement in trigger_statements():
        conn.execute(statement)


def kept_counts(conn: sqlite3.Connection, entry: Counted) -> dict:
    """The kept counts of ``entry``: value -> rows (values at 0 left out)."""
    return dict(conn.execute("SELECT value, rows FROM facet_counts WHERE table_name = ? AND column_name = ? "
                             "AND rows > 0", (entry.table, entry.column)).fetchall())


def fresh_counts(conn: sqlite3.Connection, entry: Counted) -> dict:
    """What ``kept_counts`` should hold, counted from the rows (a full scan: for checks and tests)."""
    return dict(conn.execute(recount_sql(entry)).fetchall())
