"""The store on a real SQLite file: identity rules, merges that never erase, runs, schema versions, search index."""

from __future__ import annotations

import json
import sqlite3

import pytest

from db.schema import SCHEMA_VERSION, SchemaError
from db.store import Store
from monitor.core import dates
from monitor.core.model import RawItem
from monitor.prepare.normalise import normalise

ZONE = dates.zone("Asia/Shanghai")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    yield store
    store.close()


def item(title, url=None, publisher=None, published=None, origin="scraped", summary=None, extra=None):
    return normalise(RawItem(title=title, url=url, publisher=publisher, published=published, summary=summary,
                             extra=extra or {}), ZONE, origin=origin)


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


def test_items_seen_again_move_their_last_seen_and_their_storys(store, monkeypatch):
    """A batch of items seen again (their last_seen_at written together at its end) moves the rows and their stories
    to the time of that batch; a row that also gains something is written with it; nothing else changes."""
    first = [item(f"第{n}条新闻标题关于乡村振兴的报道", f"http://news.example.cn/{n}.html") for n in range(5)]
    save(store, *first)
    monkeypatch.setattr(store, "now", lambda: "2030-01-01T08:00:00+08:00")
    again = first[:3] + [item(first[3].title, first[3].url, summary="现在有了摘要")]
    result = save(store, *again, *again[:1])
    assert (result.new, result.seen, count(store)) == (0, 5, 5)
    rows = store.conn.execute("SELECT id, last_seen_at, summary, story_id FROM items ORDER BY id").fetchall()
    assert [row["last_seen_at"] for row in rows][:4] == ["2030-01-01T08:00:00+08:00"] * 4
    assert rows[4]["last_seen_at"] != "2030-01-01T08:00:00+08:00"
    assert rows[3]["summary"] == "现在有了摘要"
    seen = dict(store.conn.execute("SELECT id, last_seen_at FROM stories").fetchall())
    assert [seen[row["story_id"]] == "2030-01-01T08:00:00+08:00" for row in rows] == [True] * 4 + [False]
    assert count(store, "sightings") == 10


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
    found = store.conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH '\"态 势 明 显\"'").fetchall()
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


def test_what_a_source_told_beyond_the_fields_is_kept_in_extra_and_merged_never_erased(store):
    def extra():
        return [json.loads(value) if value else value
                for (value,) in store.conn.execute("SELECT extra FROM items ORDER BY id")]

    save(store, item("标题", "http://a.example/1", extra={"author": "张三", "categories": ["时政", "扶贫"],
                                                        "encoding": "gb18030", "feed_title": ""}))
    save(store, item("另一条", "http://a.example/2"), item("第三条", "http://a.example/3", extra={"encoding": "utf-8"}))
    assert extra() == [{"author": "张三", "categories": ["时政", "扶贫"]}, None, None]
    # a later sighting adds keys; a value the row has is never replaced, and no key is erased
    save(store, item("标题", "http://a.example/1", extra={"author": "李四", "keywords": "脱贫攻坚"}),
         item("另一条", "http://a.example/2", extra={"language": "zh"}))
    save(store, item("标题", "http://a.example/1"))
    assert extra() == [{"author": "张三", "categories": ["时政", "扶贫"], "keywords": "脱贫攻坚"}, {"language": "zh"},
                       None]
    stored = store.conn.execute("SELECT extra FROM items WHERE id = 1").fetchone()[0]
    assert "张三" in stored                                   # readable in Datasette, not escaped


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


def test_the_run_bookkeeping_reads_indexes_not_the_whole_runs_table(store):
    """Each read of ``runs`` when a run starts and finishes (the source's last runs with new items, for its health
    flags) and when a store opens (runs left running) goes by an index: a year of runs is not read every time."""
    store.conn.execute("INSERT INTO sources (name, kind) VALUES ('feed', 'rss')")
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    store.finish_run(store.start_run("feed"), status="ok", items_seen=1, items_new=1)
    store._close_interrupted_runs()                  # what every open does
    store.conn.set_trace_callback(None)
    reads = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT") and "FROM runs" in sql]
    assert len(reads) >= 3, statements
    for sql in reads:
        plan = " | ".join(row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SEARCH runs USING" in plan or "SCAN runs USING INDEX idx_runs_running" in plan, (sql, plan)
        assert "TEMP B-TREE" not in plan, (sql, plan)


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


def test_plain_sqlite_reads_every_table_and_searches_the_index(store, tmp_path):
    save(store, item("脫貧攻堅", "http://a.example/1"))
    plain = sqlite3.connect(tmp_path / "news.db")
    for table in ("items", "sightings", "runs", "sources", "item_topics", "links", "stories", "items_fts"):
        plain.execute(f"SELECT * FROM {table}").fetchall()
    # the index holds folded characters between spaces: a plain query in that form finds either script
    assert plain.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH '\"脱 贫\"'").fetchall() == [(1,)]
    plain.close()
    store.rebuild_search_index()
    assert store.conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH '\"脱 贫\"'").fetchone()[0] == 1


# --- recurring titles: one site's two pages of two days are two items (identity.recurring) -----------------------

NYT = "New York Times"
CORRECTIONS_17 = "http://www.nytimes.com/2011/04/17/pageoneplus/corrections.html"
CORRECTIONS_18 = "http://www.nytimes.com/2011/04/18/pageoneplus/corrections.html"


def stories_of(store):
    return [row[0] for row in store.conn.execute("SELECT story_id FROM items ORDER BY id")]


def rules_of(store):
    return [tuple(row) for row in store.conn.execute("SELECT item_id, matched_by FROM sightings ORDER BY id")]


def test_a_recurring_title_of_one_site_is_an_item_and_a_story_per_day(store):
    """The NYT sitemap's "Corrections" of 17 and 18 April: same title, same publisher, within three days, but two
    pages of nytimes.com on two days: two articles (rule 2 used to make them one row)."""
    (first,) = save(store, item("Corrections", CORRECTIONS_17, NYT, "2011-04-16T21:12:07Z")).item_ids
    (second,) = save(store, item("Corrections", CORRECTIONS_18, NYT, "2011-04-17T21:39:52Z")).item_ids
    assert first != second and count(store) == 2
    assert len(set(stories_of(store))) == 2               # another issue of a column is not the same story either
    assert rules_of(store) == [(first, "new"), (second, "new")]
    # Saved again from another source (the sitemap read a second time): each page is its own row (rule 1).
    assert save(store, item("Corrections", CORRECTIONS_18, NYT, "2011-04-17T21:39:52Z")).item_ids == [second]


def test_the_same_headline_on_another_site_still_merges_with_the_nearest_issue(store):
    """Syndication: another site's page with the same headline (publisher unknown) is the same item as before
    (rule 2); of the two issues it may be, the one published nearest to it."""
    (first,) = save(store, item("Corrections", CORRECTIONS_17, NYT, "2011-04-16T21:12:07Z")).item_ids
    (second,) = save(store, item("Corrections", CORRECTIONS_18, NYT, "2011-04-17T21:39:52Z")).item_ids
    copy = item("Corrections", "https://www.example-syndicator.com/nyt/corrections-0418.html",
                published="2011-04-17T22:30:00Z")
    assert save(store, copy).item_ids == [second]
    earlier = item("Corrections", "https://www.example-syndicator.com/nyt/corrections-0417.html",
                   published="2011-04-16T22:00:00Z")
    assert save(store, earlier).item_ids == [first]
    assert count(store) == 2
    assert rules_of(store)[2:] == [(second, "title"), (first, "title")]


def test_one_sites_two_pages_of_one_day_with_one_headline_stay_one_item(store):
    """The same sitemap files one brief in two sections on one day: one article, merged by rule 2 as before."""
    first = item("McIlroy Rebounds to Lead a Rainy Malaysian Open",
                 "http://www.nytimes.com/2011/04/17/sports/golf/17sportsbriefs-ART-Malaysian.html", NYT,
                 "2011-04-16T18:10:52Z")
    second = item("McIlroy Rebounds to Lead a Rainy Malaysian Open",
                  "http://www.nytimes.com/2011/04/17/sports/17sportsbriefs-Malaysian.html", NYT, "2011-04-16T15:17:11Z")
    assert save(store, first).item_ids == save(store, second).item_ids
    assert rules_of(store)[1][1] == "title"


def test_a_mobile_page_of_the_same_day_merges_and_of_another_day_does_not(store):
    (day_one,) = save(store, item("每日财经", "https://www.yicai.com/news/100876543.html", "第一财经",
                                  "2020-12-15 07:30")).item_ids
    assert save(store, item("每日财经", "https://m.yicai.com/news/100876543.html", "第一财经",
                            "2020-12-15 07:30")).item_ids == [day_one]          # one path on two hosts
    assert save(store, item("每日财经", "https://m.yicai.com/news/a/100876543.html", "第一财经",
                            "2020-12-15 07:31")).item_ids == [day_one]          # another path, the same day
    (day_two,) = save(store, item("每日財經 - 第一財經", "https://m.yicai.com/news/100877012.html", "第一财经",
                                  "2020-12-16 07:30")).item_ids
    assert day_two != day_one and count(store) == 2


def test_a_seed_row_without_url_still_takes_a_recurring_titles_first_page(store):
    (seed,) = save(store, item("新聞聯播", origin="seed", publisher="央視網"), source="seed").item_ids
    first = item("新闻联播", "https://tv.cctv.com/2020/12/15/VIDEqKJbDIfVhURm4ZFv1oQH201215.shtml", "央视网",
                 "2020-12-15 19:00")
    assert save(store, first).item_ids == [seed]                                  # rule 3: the seed gains the URL
    second = item("新闻联播", "https://tv.cctv.com/2020/12/16/VIDEhG7cSa8wBRt6Rpxk0Ytj201216.shtml", "央视网",
                  "2020-12-16 19:00")
    (other,) = save(store, second).item_ids
    assert other != seed and count(store) == 2
    assert rules_of(store) == [(seed, "new"), (seed, "seed"), (other, "new")]


def test_a_cut_short_title_of_another_days_page_is_not_that_days_item(store):
    full = "国务院常务会议部署进一步做好稳就业工作"
    (first,) = save(store, item(full, "http://www.gov.cn/xinwen/2020-12/15/content_1.htm", "中国政府网",
                                "2020-12-15 18:00")).item_ids
    cut_same_day = item("国务院常务会议部署进一步做好...", "http://www.gov.cn/zhengce/2020-12/15/content_2.htm",
                        "中国政府网", "2020-12-15 19:00")
    assert save(store, cut_same_day).item_ids == [first]                       # rule 4, as before
    cut_next_day = item("国务院常务会议部署进一步做好...", "http://www.gov.cn/xinwen/2020-12/16/content_3.htm",
                        "中国政府网", "2020-12-16 18:00")
    (other,) = save(store, cut_next_day).item_ids
    assert other != first
    assert rules_of(store) == [(first, "new"), (first, "truncated"), (other, "new")]


def test_a_store_left_open_at_exit_does_not_crash_the_process(tmp_path):
    """The search tokenizer is Python code: a connection closed only at module teardown used to segfault."""
    import subprocess
    import sys

    from tests.conftest import PROJECT_DIR

    script = (
        "from db.store import Store\n"
        "from monitor.core import dates\n"
        "from monitor.seeding import import_seed\n"
        f"store = Store({str(tmp_path / 'news.db')!r}, dates.zone('Asia/Shanghai'))\n"
        "print(import_seed(store, 'data/seed-headlines.json', store.zone).items_new)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "21"), done.stderr


def test_conditional_get_state_is_kept_per_source(store):
    store.remember_http_cache("a", "http://x.example/feed.xml", '"v1"', None, ["http://x.example/1.xml"])
    assert store.http_cache("a", "http://x.example/feed.xml") == ('"v1"', None, ["http://x.example/1.xml"])
    assert store.http_cache("b", "http://x.example/feed.xml") == (None, None, [])
    store.remember_http_cache("b", "http://x.example/feed.xml", None, "Wed, 16 Dec 2020 09:30:00 GMT")
    assert store.http_cache("a", "http://x.example/feed.xml")[0] == '"v1"'     # b's answer does not replace a's
    assert store.http_cache("b", "http://x.example/feed.xml")[:2] == (None, "Wed, 16 Dec 2020 09:30:00 GMT")


def test_a_schema_4_file_loses_its_url_only_cache_rows_and_keeps_everything_else(tmp_path):
    """The url-only rows cannot say which source stored them: dropped (each source's next run is a full GET)."""
    from tests.helpers import old_database

    path = tmp_path / "old.db"
    db = old_database(path, 4)
    conn = db.conn
    db["http_cache"].insert({"url": "http://x.example/feed.xml", "etag": '"v1"', "updated_at": "2020-12-16"})
    db["runs"].insert({"source": "feed", "started_at": "2020-12-16T09:00:00+08:00", "status": "ok"})
    conn.commit()
    conn.close()
    store = Store(path, ZONE)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert count(store, "http_cache") == 0 and count(store, "runs") == 1
        columns = [row[1] for row in store.conn.execute("PRAGMA table_info(http_cache)")]
        assert columns[:2] == ["source", "url"] and "discovered" in columns
        store.remember_http_cache("feed", "http://x.example/feed.xml", '"v2"', None)
        assert store.http_cache("feed", "http://x.example/feed.xml")[0] == '"v2"'
    finally:
        store.close()
