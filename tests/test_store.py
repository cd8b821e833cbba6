"""The store on a real SQLite file: identity rules, merges that never erase, runs, schema versions, search index."""

from __future__ import annotations

import sqlite3

import pytest

from db.schema import SCHEMA_VERSION, SchemaError
from db.store import Store
from monitor import text
from monitor.normalise import normalise
from scrapers.base import RawItem

ZONE = text.zone("Asia/Shanghai")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    yield store
    store.close()


def item(title, url=None, publisher=None, published=None, origin="scraped", summary=None):
    return normalise(RawItem(title=title, url=url, publisher=publisher, published=published, summary=summary),
                     ZONE, origin=origin)


def save(store, *items, source="test"):
    return store.save_items(list(items), source=source, run_id=None)


def count(store, table="items"):
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_rule_1_same_canonical_url(store):
    save(store, item("标题一", "https://News.Example.cn:443/a.html?b=2&a=1&utm_source=x#top"))
    result = save(store, item("完全不同的标题", "http://news.example.cn/a.html?a=1&b=2"))
    assert (result.new, count(store)) == (0, 1)
    matched = store.conn.execute("SELECT matched_by FROM sightings ORDER BY id").fetchall()
    assert [m[0] for m in matched] == ["new", "url"]


def test_rule_2_same_folded_title_needs_compatible_publishers_and_close_dates(store):
    save(store, item("脫貧攻堅取得決定性成就", "http://a.example/1", "人民網", "2020-12-10 08:00"))
    # same story, other script, full-width punctuation, other URL, same outlet, two days later: one item
    assert save(store, item("脱贫攻坚取得决定性成就！", "http://b.example/2", "人民网", "2020-12-12 08:00")).new == 0
    # another outlet with the same headline: a separate item (DESIGN rule 4), in the same story
    assert save(store, item("脱贫攻坚取得决定性成就", "http://c.example/3", "新华网", "2020-12-12 09:00")).new == 1
    # the same outlet a month later: a new item (templated headlines recur)
    assert save(store, item("脱贫攻坚取得决定性成就", "http://a.example/9", "人民网", "2021-01-20 08:00")).new == 1
    assert count(store) == 3
    # the two outlets' items share a story; the month-later item is outside the story window: another story
    story_ids = [row[0] for row in store.conn.execute("SELECT story_id FROM items ORDER BY id")]
    assert story_ids[0] == story_ids[1] != story_ids[2]
    story = store.conn.execute("SELECT items, publishers FROM stories WHERE id = ?", (story_ids[0],)).fetchone()
    assert tuple(story) == (2, 2)


def test_rule_3_seed_fragment_is_completed_not_duplicated(store):
    save(store, item("甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝...", origin="seed",
                     publisher="華夏時報"), source="seed")
    result = save(store, item("甘肃省残联凝心聚力“背水一战” 贫困残疾人脱贫攻坚工作决战决胜态势明显",
                              "http://www.chinatimes.net.cn/a/1.html", published="2020-12-15 08:00",
                              summary="新的摘要"))
    assert result.new == 0 and count(store) == 1
    row = store.conn.execute("SELECT * FROM items").fetchone()
    assert row["title"].endswith("态势明显") and row["title_cut"] == "" and row["origin"] == "seed"
    assert row["url"] == "http://www.chinatimes.net.cn/a/1.html" and row["publisher"] == "華夏時報"
    assert row["published_at"] == "2020-12-15T08:00:00+08:00" and row["summary"] == "新的摘要"
    # the search index follows the new title
    found = store.conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH '\"态势明显\"'").fetchall()
    assert [tuple(f) for f in found] == [(row["id"],)]


def test_a_short_seed_fragment_does_not_swallow_other_titles(store):
    save(store, item("脫貧攻堅...", origin="seed"), source="seed")
    assert save(store, item("脱贫攻坚取得决定性成就", "http://a.example/1")).new == 1


def test_a_leading_ellipsis_seed_matches_a_title_containing_it(store):
    save(store, item("...系列新聞發布會平涼專場...", origin="seed"), source="seed")
    assert save(store, item("【走向我们的小康生活】系列新闻发布会平凉专场举行", "http://gs.example/1")).new == 0


def test_merges_never_erase_what_is_stored(store):
    save(store, item("标题", "http://a.example/1", "人民网", "2020-12-10 08:00", summary="原摘要"))
    save(store, item("标题", "http://a.example/1"))          # the same item seen with less information
    row = store.conn.execute("SELECT publisher, published_at, summary FROM items").fetchone()
    assert tuple(row) == ("人民网", "2020-12-10T08:00:00+08:00", "原摘要")
    assert count(store, "sightings") == 2


def test_a_failed_batch_leaves_nothing_half_written(store):
    good = item("第一条", "http://a.example/1")
    broken = item("第二条", "http://a.example/2")
    broken.title = None                                      # violates NOT NULL inside the batch
    with pytest.raises(sqlite3.IntegrityError):
        save(store, good, broken)
    assert count(store) == 0 and count(store, "sightings") == 0
    assert save(store, good).new == 1


def test_runs_and_source_health(store, tmp_path):
    run_id = store.start_run("feed")
    store.finish_run(run_id, status="error", error="boom", error_class="timeout")
    store.finish_run(store.start_run("feed"), status="error", error="boom", error_class="timeout")
    store.conn.execute("INSERT INTO sources (name, kind) VALUES ('feed', 'rss')")
    store.finish_run(store.start_run("feed"), status="error", error="boom", error_class="timeout")
    assert store.conn.execute("SELECT consecutive_failures FROM sources").fetchone()[0] == 1
    store.finish_run(store.start_run("feed"), status="ok", items_seen=3, items_new=2)
    assert tuple(store.conn.execute("SELECT consecutive_failures, items_found, last_error FROM sources").fetchone()) \
        == (0, 2, None)


def test_a_run_interrupted_by_a_kill_is_closed_at_the_next_start(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    store.start_run("feed")
    store.close()                                             # as if the process died mid-run
    reopened = Store(tmp_path / "news.db", ZONE)
    try:
        row = reopened.conn.execute("SELECT status, error_class FROM runs").fetchone()
        assert tuple(row) == ("error", "interrupted")
    finally:
        reopened.close()


def test_schema_version_and_a_newer_file_is_refused(tmp_path):
    path = tmp_path / "news.db"
    Store(path, ZONE).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this release"):
        Store(path, ZONE)


def test_plain_sqlite_reads_every_table_but_the_search_index(store, tmp_path):
    save(store, item("脫貧攻堅", "http://a.example/1"))
    plain = sqlite3.connect(tmp_path / "news.db")
    for table in ("items", "sightings", "runs", "sources", "item_topics", "links", "stories"):
        plain.execute(f"SELECT * FROM {table}").fetchall()
    with pytest.raises(sqlite3.OperationalError, match="news_fold"):
        plain.execute("SELECT * FROM items_fts").fetchall()
    plain.close()
    store.rebuild_search_index()
    assert store.conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH '\"脱贫\"'").fetchone()[0] == 1
