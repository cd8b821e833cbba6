"""Datasette at scale, through Datasette itself: kept facet counts, paging and streamed CSV that return every row
exactly once, the indexes behind the default sorts. Timings are in bench/bench_datasette.py."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import sqlite3
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest
from datasette.app import Datasette

from db import search
from db.datasette_plugin.desk import _many_match, news_desk, read_values
from db.datasette_plugin.table_defaults import rewrite_query
from db.export import NEWEST_FIRST, ExportFilter, item_conditions, select_items
from db.facet_counts import COUNTED, fresh_counts, kept_counts
from db.metadata import datasette_metadata
from db.publish import SETTINGS
from db.schema import MIGRATIONS, _v9_browsing_at_scale, migrate
from db.store import Store
from monitor.core import dates
from monitor.core.model import RawItem
from monitor.prepare.normalise import normalise
from tests.helpers import old_database

ZONE = dates.zone("Asia/Shanghai")
SERVE_SETTINGS = {k: int(v) if v.isdigit() else v for k, v in SETTINGS.items()}


def fetch_all(path, urls: list[str], **settings):
    async def fetch():
        ds = Datasette([str(path)], metadata=datasette_metadata(path.stem), settings={**SERVE_SETTINGS, **settings})
        return [await ds.client.get(url) for url in urls]

    return asyncio.run(fetch())


def get(path, url: str, **settings):
    (response,) = fetch_all(path, [url], **settings)
    assert response.status_code == 200, response.text
    return response


def news(title, url, publisher, topics=(), published="2020-12-16 09:00"):
    made = normalise(RawItem(title=title, url=url, publisher=publisher, published=published), ZONE)
    return dataclasses.replace(made, topics={topic: [topic] for topic in topics})


def assert_counts_kept(conn):
    for entry in COUNTED:
        assert kept_counts(conn, entry) == fresh_counts(conn, entry), entry


# --- the kept counts ----------------------------------------------------------------------------------------------

def test_facet_counts_follow_every_write_of_the_store_and_of_plain_sql(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    try:
        store.save_items([news("全国832个贫困县全部脱贫摘帽", "http://a.example/1", "人民网", ["脱贫"]),
                          news("乡村振兴战略规划发布", "http://b.example/2", "新华网", ["振兴"]),
                          news("疫情防控常态化", "http://c.example/3", None)], source="rss-a", run_id=None)
        store.save_items([news("全国832个贫困县全部脱贫摘帽", "http://a.example/1", "人民网", ["脱贫", "攻坚"]),
                          news("乡村振兴战略规划发布", "http://d.example/4", "光明网", ["振兴"])],
                         source="rss-b", run_id=None)
        (filled,) = store.save_items([news("黄汉标：决战决胜夺取...", None, None)], source="seed",
                                     run_id=None).item_ids
        store.fill_item(filled, news("黄汉标：决战决胜夺取脱贫攻坚战全面胜利", "http://e.example/5", "澎湃新闻",
                                     ["脱贫"]), source="spider", run_id=None)
        conn = store.conn
        counts = {entry.column: kept_counts(conn, entry) for entry in COUNTED if entry.table == "items"}
        assert counts["topics"] == {"脱贫": 2, "攻坚": 1, "振兴": 2}
        assert counts["sources"]["rss-b"] == 2 and counts["sources"]["rss-a"] == 3
        assert counts["publisher"]["澎湃新闻"] == 1
        assert_counts_kept(conn)
        # A plain SQLite tool editing the file keeps them right too: updates, a value that is not JSON, deletes.
        with conn:
            conn.execute("UPDATE items SET publisher = '人民日报' WHERE publisher = '人民网'")
            conn.execute("UPDATE items SET topics = 'not json' WHERE url = 'http://d.example/4'")
            conn.execute("UPDATE sightings SET matched_by = 'edited' WHERE source = 'rss-b'")
            conn.execute("DELETE FROM sightings WHERE item_id = ?", (filled,))
            conn.execute("DELETE FROM item_topics WHERE item_id = ?", (filled,))
            conn.execute("UPDATE stories SET items = 0")
            conn.execute("DELETE FROM items WHERE id = ?", (filled,))
        assert_counts_kept(conn)
        assert "人民网" not in kept_counts(conn, COUNTED[0])
    finally:
        store.close()


def test_the_migration_counts_the_rows_an_older_file_holds(tmp_path):
    path = tmp_path / "news.db"
    db = old_database(path, MIGRATIONS.index(_v9_browsing_at_scale))     # the release before the counts
    with db.conn:
        db.conn.executemany(
            "INSERT INTO items (id, title, title_key, first_seen_at, last_seen_at, origin, publisher, topics, sources, "
            "story_matched_by) VALUES (?, ?, ?, '2020-12-16T09:00:00+08:00', '2020-12-16T09:00:00+08:00', 'scraped', "
            "?, ?, ?, ?)",
            [(1, "甲", "甲", "人民网", '["脱贫"]', '["a", "b"]', "new"),
             (2, "乙", "乙", "人民网", '["脱贫", "振兴"]', '["a"]', "near"),
             (3, "丙", "丙", None, "[]", "[]", None)])
        db.conn.executemany("INSERT INTO sightings (item_id, source, seen_at, matched_by) "
                            "VALUES (?, ?, '2020-12-16T09:00:00+08:00', ?)", [(1, "a", "new"), (1, "b", "url")])
    migrate(db.conn, path)
    assert_counts_kept(db.conn)
    assert kept_counts(db.conn, COUNTED[1]) == {"脱贫": 2, "振兴": 1}
    db.conn.close()


# --- facets from the kept counts, through Datasette ---------------------------------------------------------------

@pytest.fixture
def faceted_database(tmp_path):
    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    publishers = ["人民网", "新华网", "光明网", "澎湃新闻"]
    topic_sets = [["脱贫"], ["脱贫", "振兴"], [], ["振兴"], ["防控"]]
    for batch in range(4):
        store.save_items([news(f"第{batch}批第{n}条新闻标题", f"http://x.example/{batch}/{n}",
                               publishers[n % 4], topic_sets[n % 5]) for n in range(30)],
                         source=f"source-{batch % 3}", run_id=None)
    store.close()
    return path


def facets_of(response) -> dict[str, dict]:
    data = response.json()
    results = data["facet_results"]
    results = results.get("results", results)
    return {name: {str(v["value"]): v["count"] for v in facet["results"]} for name, facet in results.items()}


def counted_in_python(path, table: str, column: str, kind: str, where: str = "") -> dict:
    """What a facet should say, counted here from the rows (a value once per row; not JSON: no values)."""
    counts = Counter()
    with sqlite3.connect(path) as conn:
        for (value,) in conn.execute(f"SELECT {column} FROM {table} {where}"):
            if kind == "column":
                counts.update([value] if value is not None else [])
                continue
            try:
                values = json.loads(value)
            except (TypeError, ValueError):
                continue
            counts.update({str(v) for v in values} if isinstance(values, list) else {str(values)})
    conn.close()
    return {str(value): n for value, n in counts.items()}


@pytest.mark.parametrize("table,facet", [("items", "_facet=publisher"), ("items", "_facet_array=topics"),
                                         ("items", "_facet_array=sources"), ("sightings", "_facet=matched_by"),
                                         ("sightings", "_facet=source")])
def test_facets_count_what_the_rows_hold_and_a_whole_table_reads_the_kept_counts(faceted_database, table, facet):
    name = facet.split("=")[1]
    kind = "array" if facet.startswith("_facet_array") else "column"
    with sqlite3.connect(faceted_database) as conn:     # a repeated value and a value that is not JSON
        conn.execute("UPDATE items SET topics = '[\"脱贫\", \"脱贫\", \"振兴\"]', sources = 'not json' WHERE id = 1")
    conn.close()
    whole, filtered = fetch_all(faceted_database, [
        f"/news/{table}.json?{facet}&_extra=facet_results",
        f"/news/{table}.json?{facet}&id__gt=7&_extra=facet_results"])
    assert facets_of(whole)[name] == counted_in_python(faceted_database, table, name, kind) != {}
    assert facets_of(filtered)[name] == counted_in_python(faceted_database, table, name, kind, "WHERE id > 7")
    # The whole table's answer comes from facet_counts: a count changed there shows, the filtered one does not.
    with sqlite3.connect(faceted_database) as conn:
        conn.execute("UPDATE facet_counts SET rows = rows + 1000 WHERE table_name = ? AND column_name = ?",
                     (table, name))
    conn.close()
    whole, filtered = fetch_all(faceted_database, [
        f"/news/{table}.json?{facet}&_extra=facet_results",
        f"/news/{table}.json?{facet}&id__gt=7&_extra=facet_results"])
    assert {value: n - 1000 for value, n in facets_of(whole)[name].items()} == \
        counted_in_python(faceted_database, table, name, kind)
    assert facets_of(filtered)[name] == counted_in_python(faceted_database, table, name, kind, "WHERE id > 7")


def test_the_items_page_shows_its_default_facets_with_links_that_filter(faceted_database):
    html = get(faceted_database, "/news/items").text
    assert "timed out" not in html
    for link in ("topics__arraycontains=%E8%84%B1%E8%B4%AB", "publisher=%E4%BA%BA%E6%B0%91%E7%BD%91",
                 "sources__arraycontains=source-0"):
        assert link in html
    filtered = get(faceted_database, "/news/items.json?topics__arraycontains=脱贫&_extra=facet_results")
    assert facets_of(filtered)["topics"] == {"脱贫": 48, "振兴": 24}   # 2 of every 5 items of 120, 1 of them both


# --- paging and streamed CSV: every row exactly once --------------------------------------------------------------

@pytest.fixture(scope="module")
def tied_database(tmp_path_factory):
    """2,600 items over 7 publication times (and 100 undated), their sightings over 5 seen_at values, 2,600 stories
    of few sizes: ties across every page boundary of every default sort."""
    path = tmp_path_factory.mktemp("ties") / "news.db"
    Store(path, ZONE).close()
    conn = sqlite3.connect(path)
    times = [f"2020-12-{day:02d}T08:00:00+08:00" for day in range(10, 17)]
    with conn:
        conn.executemany(
            "INSERT INTO stories (id, title, story_key, items, publishers, first_seen_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?)",
            [(n, f"故事{n}", f"故事{n}", n % 4, times[0], times[0]) for n in range(1, 2601)])
        conn.executemany(
            "INSERT INTO items (id, title, title_key, url, url_key, publisher, published_at, first_seen_at, "
            "last_seen_at, origin, story_id, topics, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'scraped', ?, ?, ?)",
            [(n, f"标题{n}", f"标题{n}", f"http://t.example/{n}", f"http://t.example/{n}", ["人民网", "新华网"][n % 2],
              None if n % 26 == 0 else times[(n * 7919) % 7], times[n % 3], times[n % 3], n,
              json.dumps(["脱贫"] if n % 2 else [], ensure_ascii=False), '["rss"]') for n in range(1, 2701)])
        conn.execute("UPDATE items SET summary = printf('%.400c', '摘')")      # 400 characters a row: over 1 MB of CSV
        conn.executemany("INSERT INTO sightings (item_id, source, seen_at, matched_by) VALUES (?, 'rss', ?, 'new')",
                         [(n, times[n % 5]) for n in range(1, 2701)])
    conn.close()
    return path


def csv_ids(text: str) -> list[str]:
    return [row["id"] for row in csv.DictReader(io.StringIO(text, newline=""))]


def all_ids(conn, table: str, where: str = "") -> list[str]:
    return sorted(str(n) for (n,) in conn.execute(f"SELECT id FROM {table} {where}"))


@pytest.mark.parametrize("query,where", [("", ""), ("publisher=人民网", "WHERE publisher = '人民网'"),
                                         ("topics__arraycontains=脱贫", "WHERE topics LIKE '%脱贫%'"),
                                         ("_sort_desc=published_at", ""),
                                         ("_sort_desc=published_at&published_at__gte=2020-12-12",
                                          "WHERE published_at >= '2020-12-12'")])
def test_a_streamed_csv_of_items_holds_every_row_exactly_once(tied_database, query, where):
    ids = csv_ids(get(tied_database, f"/news/items.csv?_stream=on&{query}").text)
    if "_sort" not in query:      # in id order: each page a range of the primary key (table_defaults)
        assert ids == sorted(ids, key=int)
    with sqlite3.connect(tied_database) as conn:
        expected = all_ids(conn, "items", where)
    conn.close()
    assert len(ids) == len(expected) > 1000
    assert sorted(ids) == expected


@pytest.mark.parametrize("table,query", [("items", ""), ("items", "publisher=新华网"), ("sightings", ""),
                                         ("stories", "")])
def test_json_next_pages_of_the_default_sorts_hold_every_row_exactly_once(tied_database, table, query):
    ids, url = [], f"/news/{table}.json?_shape=objects&_size=100&{query}"
    datasette = Datasette([str(tied_database)], metadata=datasette_metadata("news"), settings=SERVE_SETTINGS)

    async def walk():
        nonlocal url
        while url:
            response = await datasette.client.get(url)
            assert response.status_code == 200, response.text
            data = response.json()
            ids.extend(str(row["id"]) for row in data["rows"])
            next_url = data.get("next_url")
            url = next_url and urlsplit(next_url)._replace(scheme="", netloc="").geturl()

    asyncio.run(walk())
    with sqlite3.connect(tied_database) as conn:
        expected = all_ids(conn, table, "WHERE publisher = '新华网'" if query else "")
    conn.close()
    assert len(ids) == len(expected)
    assert sorted(ids) == expected


def test_one_publishers_page_counts_its_facets_from_the_publisher_index(tied_database):
    """``items?publisher=...`` (a click on a publisher facet): its topics and sources facets read the publisher
    index's entries (schema 11), not every row of the publisher; the counts are Datasette's."""
    data = get(tied_database, "/news/items.json?publisher=新华网&_trace=1", trace_debug=True).json()
    facets = [trace["sql"] for trace in data["_trace"]["traces"] if "json_each" in trace["sql"]]
    assert len(facets) == 2
    with sqlite3.connect(tied_database) as conn:
        for sql in facets:
            plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, {"p0": "新华网"}))
            assert "COVERING INDEX idx_items_publisher_published" in plan, plan
        expected = conn.execute(
            "SELECT count(*) FROM items WHERE publisher = '新华网' AND topics LIKE '%脱贫%'").fetchone()[0]
    conn.close()
    topics = {row["value"]: row["count"] for row in data["facet_results"]["topics"]["results"]}
    assert topics == {"脱贫": expected} and expected > 1000


def test_a_streamed_csv_reads_the_largest_pages_unless_the_url_sets_a_size():
    """Datasette 0.65 streams a CSV in pages of ``default_page_size`` rows (50 under ``serve``): 20 queries per
    1,000 rows. The page defaults ask for ``max_returned_rows`` at a time; a size the URL gives is kept."""
    metadata = datasette_metadata("news")["databases"]["news"]["tables"]["items"]
    assert ("_size", "max") in parse_qsl(rewrite_query("_stream=on", "items", False, metadata, csv=True))
    assert ("_size", "max") in parse_qsl(rewrite_query("_stream=on", "sightings", False, {}, csv=True))
    assert parse_qsl(rewrite_query("_stream=on&_size=20", "items", False, metadata, csv=True)).count(
        ("_size", "20")) == 1
    assert rewrite_query("_size=5", "items", False, metadata, csv=True) == "_size=5"      # not streamed
    assert "_size" not in rewrite_query("", "items", False, metadata, csv=False)


def test_a_streamed_csv_is_not_cut_short_by_a_size_limit(tied_database):
    """`serve` lifts max_csv_mb: Datasette's own limit (100 MB by default) ends a stream early, with HTTP 200."""
    whole = get(tied_database, "/news/items.csv?_stream=on").text
    assert len(whole.encode()) > 1024 * 1024 and len(csv_ids(whole)) == 2700
    cut = get(tied_database, "/news/items.csv?_stream=on", max_csv_mb=1).text
    assert len(csv_ids(cut)) < 2700


# --- the news desk's filters on a large file -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def broad_database(tmp_path_factory):
    """3,000 items: a topic on two thirds of them and another on 30, a source on half, one publisher on a third, a
    searchable word in a fifth; their dates scattered so that the newest first is neither the id order nor a
    filter's."""
    path = tmp_path_factory.mktemp("broad") / "news.db"
    Store(path, ZONE).close()
    conn = sqlite3.connect(path)
    with conn:
        for n in range(1, 3001):
            topics = (["脱贫攻坚"] if n % 3 else []) + (["冷门话题"] if n % 100 == 0 else [])
            sources = ["rss-a"] + (["html-b"] if n % 2 else [])
            conn.execute(
                "INSERT INTO items (id, title, title_key, url, url_key, publisher, published_at, first_seen_at, "
                "last_seen_at, origin, topics, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'scraped', ?, ?)",
                (n, f"第{n}条：" + ("脱贫攻坚成效显著" if n % 5 == 0 else "地方新闻"), f"k{n}", f"http://b.example/{n}",
                 f"http://b.example/{n}", "新华网" if n % 3 == 0 else "人民网",
                 None if n % 7 == 0 else f"2020-12-{1 + (n * 7919) % 28:02d}T{n % 24:02d}:00:00+08:00",
                 f"2020-12-{1 + n % 28:02d}T08:00:00+08:00", "2020-12-29T08:00:00+08:00",
                 json.dumps(topics, ensure_ascii=False), json.dumps(sources)))
            conn.executemany("INSERT INTO item_topics (item_id, topic, matched) VALUES (?, ?, '')",
                             [(n, topic) for topic in topics])
            conn.executemany("INSERT INTO sightings (item_id, source, seen_at, matched_by) VALUES (?, ?, ?, 'new')",
                             [(n, source, "2020-12-29T08:00:00+08:00") for source in sources])
        search.rebuild_search_index(conn)
    conn.close()
    return path


@pytest.mark.parametrize("filters,many", [
    (ExportFilter(topic="脱贫攻坚"), True), (ExportFilter(source="html-b"), True),
    (ExportFilter(publisher="新华网"), True), (ExportFilter(search="脱贫"), True),
    (ExportFilter(topic="脱贫攻坚", publisher="人民网"), True),
    (ExportFilter(topic="冷门话题"), False), (ExportFilter(search="脱贫", topic="冷门话题"), False),
    (ExportFilter(since="2020-12-20"), False)])
def test_the_desk_reads_a_broad_filter_along_the_newest_first_index_and_finds_the_same_items(broad_database, filters,
                                                                                             many):
    """A topic, source, publisher or search many items hold is read newest first along the index, each item tested
    (no sort of every match); a rare one is gathered and sorted. Either way the items and their order are export's."""
    conn = sqlite3.connect(broad_database)
    assert _many_match(conn, filters) is many
    pages = []
    for along in (False, True):
        where, params = item_conditions(filters, along_newest=along)
        sql = f"SELECT items.id FROM items WHERE {' AND '.join(where)} ORDER BY {NEWEST_FIRST} LIMIT 51"
        pages.append([row[0] for row in conn.execute(sql, params)])
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        if along:
            assert "items USING INDEX idx_items_newest" in plan and "TEMP B-TREE" not in plan, plan
    assert pages[0] == pages[1] and len(pages[0]) > 0
    exported = [row["id"] for row in select_items(conn, filters)]
    assert exported[:51] == pages[0]
    desk = news_desk(conn, read_values({"q": filters.search, "topic": filters.topic, "publisher": filters.publisher,
                                        "source": filters.source, "since": filters.since}), None, ZONE)
    assert [item["id"] for item in desk.items] == exported[:50]
    conn.close()
