"""Stories in the store and in Datasette: counts, windows, the migration of an older file, the audit views."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from datasette.app import Datasette

from db.metadata import QUERIES, datasette_metadata
from db.publish import SETTINGS
from db.store import Store
from monitor import identity
from monitor.core import dates
from monitor.core.model import RawItem
from monitor.prepare.normalise import normalise
from tests.helpers import old_database

ZONE = dates.zone("Asia/Shanghai")


def item(title, url=None, publisher=None, published="2020-12-16 09:00", origin="scraped"):
    return normalise(RawItem(title=title, url=url, publisher=publisher, published=published), ZONE, origin=origin)


def save(store, *items, source="test"):
    return store.save_items(list(items), source=source, run_id=None)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    yield store
    store.close()


def story_of(store, item_id):
    return store.conn.execute("SELECT story_id FROM items WHERE id = ?", (item_id,)).fetchone()[0]


def test_a_story_counts_items_and_publishers_and_keeps_a_full_representative_title(store):
    (cut,) = save(store, item("黄汉标：保持决战之态 凝聚攻坚之力 决战决胜夺取...", "http://a.example/1",
                              "新浪新闻")).item_ids
    (full,) = save(store, item("黄汉标：保持决战之态 凝聚攻坚之力 决战决胜夺取脱贫攻坚战全面胜利", "http://b.example/2",
                               "澎湃新闻", "2020-12-17 11:24")).item_ids
    (near,) = save(store, item("黄汉标：保持决战之态凝聚攻坚之力 决战决胜夺取脱贫攻坚战全面胜利!", "http://c.example/3",
                               "人民网", "2020-12-18 08:00")).item_ids
    assert len({cut, full, near}) == 3 and story_of(store, cut) == story_of(store, full) == story_of(store, near)
    row = store.conn.execute("SELECT * FROM stories").fetchone()
    assert (row["items"], row["publishers"]) == (3, 3)
    assert row["title"] == "黄汉标：保持决战之态 凝聚攻坚之力 决战决胜夺取脱贫攻坚战全面胜利"
    assert (row["first_published_at"], row["last_published_at"]) == ("2020-12-16T09:00:00+08:00",
                                                                      "2020-12-18T08:00:00+08:00")
    rules = [r[0] for r in store.conn.execute("SELECT story_matched_by FROM items ORDER BY id")]
    assert rules == ["new", "truncated", "title"]


def test_stories_are_grouped_within_a_window_only(store):
    first = save(store, item("全国832个贫困县全部脱贫摘帽 脱贫攻坚目标任务完成", "http://a.example/1", "人民网",
                             "2020-11-23 16:00")).item_ids[0]
    within = save(store, item("国务院扶贫办：全国832个贫困县全部脱贫摘帽 脱贫攻坚目标任务完成", "http://b.example/2",
                              "新华网", "2020-11-25 16:00")).item_ids[0]
    later = save(store, item("国务院扶贫办：全国832个贫困县全部脱贫摘帽 脱贫攻坚目标任务完成", "http://c.example/3",
                             "央视网", "2020-12-20 16:00")).item_ids[0]
    assert story_of(store, first) == story_of(store, within) != story_of(store, later)


def test_identify_decides_without_writing(store):
    save(store, item("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵", "http://a.example/1", "网易新闻"))
    before = [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("items", "story_keys")]
    (same_url, reworded, new) = store.identify([
        item("印媒称中印第五轮军长级会谈开始", "http://a.example/1"),
        item("印媒：中印第五轮军长级会谈举行", "http://b.example/2", "环球网"),
        item("体育新闻：足球联赛开幕", "http://c.example/3", "环球网"),
    ])
    assert (same_url.item_id, same_url.rule) == (1, "url")
    assert reworded.item_id is None and reworded.story_rule == "near" and reworded.story_id == story_of(store, 1)
    assert new.item_id is None and new.story is None
    assert before == [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("items", "story_keys")]


def test_the_in_memory_window_decides_as_story_keys_do(store, monkeypatch):
    """Recent days' keys are kept in memory (db/story_index.py); an item decided from them or from the story_keys table
    gets the same answer."""
    places = ["南召县", "西峡县", "内乡县", "方城县", "镇平县"]
    stored = []
    for day, place in enumerate(places, start=10):
        stored.append(item(f"{place}召开决战决胜脱贫攻坚誓师大会", f"http://a.example/{day}", "南阳日报",
                           f"2020-12-{day} 09:00"))
        stored.append(item(f"印媒称中印第{day}轮军长级会谈开始 印军此前曝出增兵", f"http://b.example/{day}", "网易新闻",
                           f"2020-12-{day} 10:00"))
    save(store, *stored)
    incoming = [item("南召县举行决战决胜脱贫攻坚誓师大会", "http://c.example/1", "大河网", "2020-12-11 09:00"),
                item("邓州市召开决战决胜脱贫攻坚誓师大会", "http://c.example/2", "大河网", "2020-12-12 09:00"),
                item("印媒：中印第12轮军长级会谈举行", "http://c.example/3", "环球网", "2020-12-12 12:00"),
                item("印媒称中印第13轮军长级会谈开始...", None, "网易新闻", "2020-12-13 10:00")]

    def decisions():
        return [(d.item_id, d.rule, d.story_id, d.story_rule) for d in store.identify(incoming)]

    from_memory = decisions()
    assert store.story_index._cache is not None and len(store.story_index._cache)
    monkeypatch.setattr(store.story_index, "_window", lambda day: None)
    assert decisions() == from_memory
    assert [d[3] for d in from_memory] == ["near", None, "near", None]
    assert from_memory[3][1] == "truncated"


def test_a_rolled_back_batch_leaves_no_keys_in_memory(store):
    save(store, item("西峡县召开决战决胜脱贫攻坚誓师大会", "http://a.example/1", "南阳日报"))
    good = item("南召县举行决战决胜脱贫攻坚誓师大会暨项目观摩会", "http://a.example/2", "大河网")
    broken = item("第二条", "http://a.example/3")
    broken.title = None
    with pytest.raises((sqlite3.IntegrityError, TypeError)):
        save(store, good, broken)
    again = store.identify([item("南召县举行决战决胜脱贫攻坚誓师大会暨项目观摩会", "http://b.example/9", "环球网")])[0]
    assert again.item_id is None and again.story is None     # the rolled-back row is no candidate


def test_a_near_duplicate_from_the_same_outlet_without_a_second_url_is_the_same_item(store):
    save(store, item("豪华别墅每天大量“女模”进出 警方调查发现大秘密", None, "网易新闻"), source="home")
    result = save(store, item("豪华别墅每天大量年轻女子进出 警方调查发现大秘密", "http://www.163.com/a.html",
                              "网易新闻"))
    assert result.new == 0
    assert store.conn.execute("SELECT matched_by FROM sightings ORDER BY id DESC").fetchone()[0] == "near"
    # the same wording from another outlet is its own item in the same story
    other = save(store, item("豪华别墅每天大量年轻女子进出 警方调查发现大秘密", "http://qq.example/b", "腾讯新闻"))
    assert other.new == 1 and story_of(store, other.item_ids[0]) == story_of(store, 1)


def test_an_older_database_is_migrated_and_indexed(tmp_path):
    """A file made before schema 3: its items get core keys, story keys and story rules at start-up."""
    path = tmp_path / "old.db"
    db = old_database(path, 2)
    conn = db.conn
    db["stories"].insert({"id": 1, "title": "搶著要", "story_key": "抢著要", "items": 1, "publishers": 0,
                          "first_seen_at": "2020-12-16T09:00:00+08:00", "last_seen_at": "2020-12-16T09:00:00+08:00"})
    db["items"].insert({"id": 1, "title": "【决战决胜脱贫攻坚】衙下集镇：做大做强生猪产业", "title_key": "x",
                        "first_seen_at": "2020-12-16T09:00:00+08:00", "last_seen_at": "2020-12-16T09:00:00+08:00",
                        "origin": "scraped", "story_id": 1})
    db["items"].insert({"id": 2, "title": "台製機具逾12國搶著要", "title_key": "台制机具逾12国抢著要",
                        "first_seen_at": "2020-12-16T09:00:00+08:00", "last_seen_at": "2020-12-16T09:00:00+08:00",
                        "origin": "scraped", "story_id": 1})
    conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
    conn.commit()
    conn.close()
    store = Store(path, ZONE)
    try:
        rows = store.conn.execute("SELECT id, core_key, title_key, story_matched_by FROM items ORDER BY id").fetchall()
        assert [tuple(r) for r in rows] == [(1, "衙下集镇做大做强生猪产业", "x", "new"),
                                            (2, "台制机具逾12国抢着要", "台制机具逾12国抢着要", "title")]
        keys = store.conn.execute("SELECT count(*) FROM story_keys WHERE item_id = 1").fetchone()[0]
        assert keys == len(identity.band_keys(identity.headline(rows[0]["core_key"]).tokens))
        # a later item finds the migrated one by its core key
        found = store.identify([item("衙下集镇：做大做强生猪产业", "http://x.example/1", "澎湃新闻")])[0]
        assert found.item_id == 1 and found.rule == "title"
        # and search finds the migrated row written with 著 by the mainland form 着
        assert store.conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH '\"抢 着 要\"'").fetchall()
    finally:
        store.close()
    plain = sqlite3.connect(path)   # the new tables stay readable by plain SQLite tools
    assert plain.execute("SELECT count(*) FROM title_history").fetchone()[0] == 0
    assert plain.execute("SELECT count(*) FROM story_keys").fetchone()[0] > 0
    plain.close()


# --- Datasette ---------------------------------------------------------------------------------------------------


@pytest.fixture
def audited_database(tmp_path):
    """A file with a story of three outlets, a cut-short title completed, a near-duplicate and a title edit."""
    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    save(store, item("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵", "http://a.example/1", "网易新闻"), source="a")
    save(store, item("印媒：中印第五轮军长级会谈举行", "http://b.example/2", "环球网"), source="b")
    save(store, item("印媒称中印第五轮军长级会谈开始 印军此前...", "http://c.example/3", "新浪新闻"), source="c")
    save(store, item("一个月内 91岁的朱镕基第二次给他们写...", None, "新浪新闻"), source="list")
    save(store, item("一个月内 91岁的朱镕基第二次给他们写信(图)", "http://sina.example/9", "新浪新闻"), source="feed")
    save(store, item("全国832个贫困县全部脱贫摘帽", "http://d.example/4", "人民网"), source="a")
    save(store, item("国务院扶贫办：全国832个贫困县全部脱贫摘帽", "http://d.example/4", "人民网"), source="a")
    store.close()
    return path


def get_json(database, url: str) -> list[dict]:
    async def fetch():
        ds = Datasette([str(database)], metadata=datasette_metadata(database.stem),
                       settings={k: int(v) if v.isdigit() else v for k, v in SETTINGS.items()})
        return await ds.client.get(url)

    response = asyncio.run(fetch())
    assert response.status_code == 200, response.text
    return response.json()


def test_the_story_and_audit_views_run_through_datasette(audited_database):
    db = audited_database
    top = get_json(db, "/news/stories_by_publishers.json?_shape=array")
    assert top[0]["title"] == "印媒称中印第五轮军长级会谈开始 印军此前曝出增兵"
    assert (top[0]["publishers"], top[0]["items"]) == (3, 3)
    members = get_json(db, f"/news/story_members.json?story_id={top[0]['story_id']}&_shape=array")
    assert [(m["publisher"], m["story_matched_by"]) for m in members] == [
        ("网易新闻", "new"), ("环球网", "near"), ("新浪新闻", "truncated")]

    rules = {(r["decision"].split(":")[0], r["rule"]): r["count"]
             for r in get_json(db, "/news/identity_rules.json?_shape=array")}
    assert rules[("item", "truncated")] == 1 and rules[("item", "url")] == 1 and rules[("story", "near")] == 1
    truncated = get_json(db, "/news/merges_by_rule.json?rule=truncated&_shape=array")
    assert [(m["title_seen"], m["item_title"]) for m in truncated] == [
        ("一个月内 91岁的朱镕基第二次给他们写信(图)", "一个月内 91岁的朱镕基第二次给他们写信(图)")]
    near = get_json(db, "/news/story_merges_by_rule.json?rule=near&_shape=array")
    assert [n["title"] for n in near] == ["印媒：中印第五轮军长级会谈举行"]
    edits = get_json(db, "/news/title_edits.json?_shape=array")
    assert [(e["old_title"], e["current_title"]) for e in edits] == [
        ("全国832个贫困县全部脱贫摘帽", "国务院扶贫办：全国832个贫困县全部脱贫摘帽")]


@pytest.mark.parametrize("table", ["stories", "title_history"])
def test_story_tables_are_described_in_datasette(audited_database, table):
    data = get_json(audited_database, f"/news/{table}.json?_shape=objects")
    assert data["rows"]


def test_the_identity_views_are_registered():
    assert {"stories_by_publishers", "story_members", "identity_rules", "merges_by_rule", "story_merges_by_rule",
            "title_edits"} <= set(QUERIES)


def test_a_recurring_title_founds_a_story_per_day_and_another_outlets_copy_joins_its_days(store):
    """Two issues of one site's column (two pages, two days) are two stories; another outlet's copy of an issue
    joins the story of the issue of its own day (the nearer one), not the one stored last."""
    issue_16 = item("今日要闻", "http://www.gov.cn/xinwen/2020-12/16/content_5569902.htm", "中国政府网",
                    "2020-12-16 07:00")
    issue_15 = item("今日要闻", "http://www.gov.cn/xinwen/2020-12/15/content_5569691.htm", "中国政府网",
                    "2020-12-15 07:00")
    (fifteenth,) = save(store, issue_15).item_ids
    (sixteenth,) = save(store, issue_16).item_ids
    assert story_of(store, sixteenth) != story_of(store, fifteenth)
    (copy,) = save(store, item("今日要闻", "http://politics.people.com.cn/n1/2020/1215/c1001-1.html", "人民网",
                               "2020-12-15 09:00")).item_ids
    assert copy not in (sixteenth, fifteenth)                  # another publisher: another item (DESIGN rule 4)
    assert story_of(store, copy) == story_of(store, fifteenth)
    rules = [r[0] for r in store.conn.execute("SELECT story_matched_by FROM items ORDER BY id")]
    assert rules == ["new", "new", "title"]
