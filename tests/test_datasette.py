"""Datasette over the monitor's database, through Datasette itself: metadata, search in both scripts, CSV."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest
from datasette.app import Datasette

from db.metadata import datasette_metadata
from db.publish import SETTINGS
from db.store import Store
from monitor.core import dates
from monitor.seeding import import_seed

ZONE = dates.zone("Asia/Shanghai")


@pytest.fixture
def seeded_database(tmp_path, seed_document):
    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    import_seed(store, seed_document, ZONE)
    store.close()
    return path


def get(path, database, url: str):
    """GET ``url`` from a Datasette configured as `serve` configures it (metadata, settings, mutable file)."""

    async def fetch():
        ds = Datasette([str(database)], metadata=datasette_metadata(database.stem),
                       settings={k: int(v) if v.isdigit() else v for k, v in SETTINGS.items()})
        return await ds.client.get(url)

    return asyncio.run(fetch())


def search_titles(database, query: str) -> set[str]:
    response = get(None, database, f"/news/items.json?_search={query}&_shape=array&_col=title&_size=max")
    assert response.status_code == 200, response.text
    return {row["title"] for row in response.json()}


def test_search_finds_rows_in_either_script_and_for_two_character_words(seeded_database):
    simplified = search_titles(seeded_database, "脱贫")
    traditional = search_titles(seeded_database, "脫貧")
    assert simplified == traditional
    assert len(simplified) >= 15
    assert "決戰決勝脫貧攻堅要抓好三個重點" in simplified
    assert search_titles(seeded_database, "四支队伍") == {"決戰決勝脫貧攻堅——「四支隊伍」幫什麼?"}
    assert search_titles(seeded_database, "南召县") == {"南召縣召開決戰決勝脫貧攻堅誓師大會"}
    assert search_titles(seeded_database, "足球") == set()
    # A phrase: the characters must be adjacent, not merely present.
    assert search_titles(seeded_database, "贫脱") == set()


def test_datasette_reads_the_file_through_a_memory_mapping(seeded_database):
    """The plug-in's connections map the file (``READ_MMAP_BYTES``, as far as SQLite's build allows)."""
    async def mapped():
        ds = Datasette([str(seeded_database)], metadata=datasette_metadata("news"))
        return await ds.get_database("news").execute_fn(lambda conn: conn.execute("PRAGMA mmap_size").fetchone()[0])

    assert asyncio.run(mapped()) > 0


def test_items_table_has_descriptions_default_facets_and_newest_first(seeded_database):
    response = get(None, seeded_database, "/news/items.json?_extra=facet_results&_shape=objects")
    data = response.json()
    assert response.status_code == 200
    facets = data["facet_results"]
    facet_names = set(facets.get("results", facets))
    assert {"publisher", "topics", "sources"} <= facet_names
    dates = [row["published_at"] for row in data["rows"] if row["published_at"]]
    assert dates == sorted(dates, reverse=True)
    html = get(None, seeded_database, "/news/items").text
    assert "One row per distinct news item" in html
    assert "Publication time, ISO 8601 with offset" in html


def test_csv_export_from_the_table_page(seeded_database):
    response = get(None, seeded_database, "/news/items.csv?_search=脱贫&_size=max")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and all("脫貧" in row["title"] or "脫貧" in (row["summary"] or "") for row in rows)
    assert {"title", "url", "publisher", "published_at"} <= set(rows[0])


def test_sources_needing_attention_view(tmp_path):
    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    store.conn.execute("INSERT INTO sources (name, kind) VALUES ('broken', 'rss'), ('fine', 'rss')")
    store.conn.commit()
    for _ in range(3):
        store.finish_run(store.start_run("broken"), status="error", error="cannot reach x", error_class="connection")
    store.finish_run(store.start_run("fine"), status="ok", items_seen=1, items_new=1)
    store.close()
    response = get(None, path, "/news/sources_needing_attention.json?_shape=array")
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [(r["name"], r["flags"], r["last_error_class"]) for r in rows] == [("broken", "failing", "connection")]


def test_stale_and_broken_selector_flags_reach_the_attention_view(tmp_path):
    """The flags db.health computes from the stored runs, as an analyst sees them in Datasette."""
    from datetime import datetime, timedelta

    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    store.conn.execute("INSERT INTO sources (name, kind) VALUES ('quiet', 'rss'), ('redesigned', 'html')")
    store.conn.commit()
    # 'quiet' found new items hourly, two days ago, and nothing since: its runs are moved back in time.
    for hours_ago in (50, 49, 48, 47):
        run = store.start_run("quiet")
        store.finish_run(run, status="ok", items_seen=3, items_new=3)
        started = (datetime.now(ZONE) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
        store.conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (started, run))
    store.conn.commit()
    store.finish_run(store.start_run("quiet"), status="ok", items_seen=3, items_new=0)
    # 'redesigned' worked, then its selectors matched nothing.
    store.finish_run(store.start_run("redesigned"), status="ok", items_seen=5, items_new=5)
    store.finish_run(store.start_run("redesigned"), status="error", error_class="selector_empty",
                     error="select.item 'ul.news-list li' matched nothing on the page: check the selectors")
    store.close()
    rows = get(None, path, "/news/sources_needing_attention.json?_shape=array").json()
    assert {r["name"]: (r["flags"], r["last_error_class"]) for r in rows} == {
        "quiet": ("stale", None),
        "redesigned": ("selectors_broken", "selector_empty"),
    }


def test_every_table_and_column_is_described(tmp_path):
    """The README promises a description for every table and column an analyst sees in Datasette."""
    store = Store(tmp_path / "news.db", ZONE)
    try:
        tables = datasette_metadata("news")["databases"]["news"]["tables"]
        names = [n for (n,) in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'items_fts%' "
            "AND name NOT LIKE 'sqlite_%'")]
        columns_sql = "SELECT name FROM pragma_table_info(?)"
        undescribed = {name: [column for (column,) in store.conn.execute(columns_sql, (name,))
                              if column not in tables.get(name, {}).get("columns", {})]
                       for name in names}
        assert {name: columns for name, columns in undescribed.items() if columns} == {}
        assert all(tables[name].get("description") for name in names)
    finally:
        store.close()
