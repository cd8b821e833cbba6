"""The search index on a large corpus: its migration, its size beside the text it indexes, and query times.

Copies a corpus (``bench/bench_identity_scale.py`` builds one of 1,000,000 items; the original is only read) to a
temporary file, opens it with ``Store`` (which runs the migrations: schema 8 indexes every item again, timed), then
prints

* the bytes of the indexed text (title, summary, publisher as stored, UTF-8) and the on-disk size of ``items_fts``'s
  shadow tables (``dbstat``), and their ratio;
* for 脱贫, 脫貧, 乡村振兴, 鄉村振興: the median time of ``MATCH`` + ``count(*)`` and of the query Datasette runs for
  ``/news/items?_search=`` (the first page of 100, newest published first, and the count) in plain SQL;
* with ``--designs N``: the size of the index of the first N items under the designs that were weighed (contentless
  unicode61 over folded, spaced text: the one kept; the same with its own copy of the text; trigram over folded
  text, which cannot find a two-character word).

    .venv/bin/python bench/bench_search.py /tmp/corpus-1m.db
    .venv/bin/python bench/bench_search.py /tmp/corpus-1m.db --designs 100000
    .venv/bin/python bench/bench_search.py /tmp/corpus-1m.db --keep /tmp/migrated.db   # to look further
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import search  # noqa: E402
from db.store import Store  # noqa: E402
from monitor.core import dates  # noqa: E402
from monitor.core.fold import fold_text  # noqa: E402

QUERIES = ("脱贫", "脫貧", "乡村振兴", "鄉村振興")
ROUNDS = 7


def index_bytes(conn: sqlite3.Connection, prefix: str = "items_fts") -> int:
    return conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ? ESCAPE '\\'",
                        (prefix.replace("_", "\\_") + "\\_%",)).fetchone()[0]


def text_bytes(conn: sqlite3.Connection, limit: int | None = None) -> int:
    rows = f"(SELECT title, summary, publisher FROM items ORDER BY id LIMIT {limit or -1})"
    return conn.execute("SELECT coalesce(sum(length(CAST(title AS BLOB))), 0) + "
                        "coalesce(sum(length(CAST(summary AS BLOB))), 0) + "
                        f"coalesce(sum(length(CAST(publisher AS BLOB))), 0) FROM {rows}").fetchone()[0]


def timed(conn: sqlite3.Connection, sql: str, params: tuple) -> tuple[float, object]:
    times, result = [], None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = conn.execute(sql, params).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def designs(conn: sqlite3.Connection, work: Path, n: int) -> None:
    rows = conn.execute(f"SELECT id, title, summary, publisher FROM items ORDER BY id LIMIT {n}").fetchall()
    text = text_bytes(conn, n)
    print(f"\ndesigns over the first {len(rows):,} items ({text / 1e6:,.1f} MB of text):")
    spaced = [(i, search.search_text(t), search.search_text(s), search.search_text(p)) for i, t, s, p in rows]
    folded = [(i, fold_text(t or ""), fold_text(s or ""), fold_text(p or "")) for i, t, s, p in rows]
    cases = {
        "contentless unicode61, folded and spaced (kept)": (search.CREATE_SEARCH_TABLE, spaced),
        "own-content unicode61, folded and spaced": (search.CREATE_SEARCH_TABLE.replace("content='', ", ""), spaced),
        "contentless trigram, folded (no 2-character words)": (
            "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, publisher, content='', tokenize='trigram')",
            folded),
    }
    for name, (create, data) in cases.items():
        path = work / "design.db"
        path.unlink(missing_ok=True)
        db = sqlite3.connect(path)
        db.execute(create)
        started = time.perf_counter()
        with db:
            db.executemany("INSERT INTO items_fts (rowid, title, summary, publisher) VALUES (?, ?, ?, ?)", data)
        took = time.perf_counter() - started
        db.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
        db.commit()
        size = index_bytes(db)
        print(f"  {name}: {size / 1e6:,.1f} MB ({size / text:.2f}× the text), insert {len(data) / took:,.0f} rows/s")
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--designs", type=int, default=0, help="compare index designs on the first N items")
    parser.add_argument("--keep", type=Path, help="move the migrated copy there afterwards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        work = Path(tmp)
        path = work / "corpus.db"
        shutil.copyfile(args.corpus, path)
        before = sqlite3.connect(path)
        version = before.execute("PRAGMA user_version").fetchone()[0]
        indexed_before = before.execute("SELECT count(*) FROM items_fts_docsize").fetchone()[0]
        items = before.execute("SELECT count(*) FROM items").fetchone()[0]
        size_before = index_bytes(before)
        before.close()
        print(f"corpus: {items:,} items, schema {version}, {indexed_before:,} rows in the search index "
              f"({size_before / 1e6:,.1f} MB)")
        started = time.perf_counter()
        Store(path, dates.zone("Asia/Shanghai")).close()
        print(f"migration (Store opening the copy): {time.perf_counter() - started:,.1f} s")
        conn = sqlite3.connect(path)          # plain sqlite3: nothing of ours registered
        indexed = conn.execute("SELECT count(*) FROM items_fts_docsize").fetchone()[0]
        text, size = text_bytes(conn), index_bytes(conn)
        print(f"search index: {indexed:,} rows, {size / 1e6:,.1f} MB on disk for {text / 1e6:,.1f} MB of text "
              f"({size / text:.2f}×)")
        for query in QUERIES:
            fts = search.fts_query(query)
            count_ms, ((count,),) = timed(
                conn, "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", (fts,))
            page_ms, _ = timed(
                conn, "SELECT * FROM items WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?) "
                      "ORDER BY published_at DESC LIMIT 101", (fts,))
            total_ms, _ = timed(
                conn, "SELECT count(*) FROM items WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)",
                (fts,))
            print(f"  {query} ({fts}): {count:,} rows; MATCH + count {count_ms:,.1f} ms; Datasette's page "
                  f"{page_ms:,.1f} ms + its count {total_ms:,.1f} ms")
        if args.designs:
            designs(conn, work, args.designs)
        conn.close()
        if args.keep:
            shutil.move(path, args.keep)


if __name__ == "__main__":
    main()
