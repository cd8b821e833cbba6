"""The file the monitor writes opens everywhere: Datasette without our plug-in and the sqlite3 module browse every
table, the search index included, and can search it; our code is needed only to fold a query (db/search.py).

Plus what proves the new index gives the same results as the old Python tokenizer: the same tokens for every
headline of the seed document, and a file from before schema 8 converted by its migration.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from db import search
from db.schema import SCHEMA_VERSION
from db.store import Store
from monitor.core import dates
from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import old_database, write_config

ZONE = dates.zone("Asia/Shanghai")
FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()

# Datasette reads its plug-ins' entry points at import unless ``sys._called_from_test`` is set (datasette/plugins.py,
# 0.65): set first, the child process is Datasette as a colleague has it, with only its own default plug-ins.
PLAIN_DATASETTE = """
import asyncio, json, sys
sys._called_from_test = True
from datasette.app import Datasette

async def main(path, paths):
    ds = Datasette([path])
    await ds.invoke_startup()
    await ds.refresh_schemas()
    answers = {}
    for url in paths:
        response = await ds.client.get(url)
        answers[url] = [response.status_code, response.text]
    return answers

print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2:]))))
"""


def plain_datasette(path, *urls: str) -> dict[str, tuple[int, str]]:
    done = subprocess.run([sys.executable, "-c", PLAIN_DATASETTE, str(path), *urls], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {url: (status, text) for url, (status, text) in json.loads(done.stdout).items()}


@pytest.fixture
def monitored(tmp_path, httpserver):
    """A database written by the real command line: `once` over a local RSS feed."""
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "every": "1h",
                                       "url": httpserver.url_for("/feed.xml")}])
    done = subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tmp_path / "news.db"


def test_datasette_without_our_plugin_opens_browses_and_searches_the_file(monitored):
    match = "select rowid from items_fts where items_fts match '\"脱 贫\"'"
    answers = plain_datasette(monitored, "/-/plugins.json", "/news", "/news/items", "/news/items_fts",
                              "/news/items_fts.json?_shape=array", f"/news.json?_shape=array&sql={match}")
    assert all(status == 200 for status, _ in answers.values()), {url: a[0] for url, a in answers.items()}
    assert "news_monitor" not in answers["/-/plugins.json"][1]
    assert "决战决胜脱贫攻坚" in answers["/news/items"][1]
    conn = sqlite3.connect(monitored)
    items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    wanted = {row_id for (row_id,) in conn.execute("SELECT id FROM items WHERE title LIKE '%脱贫%' "
                                                   "OR summary LIKE '%脱贫%'")}
    conn.close()
    assert len(json.loads(answers["/news/items_fts.json?_shape=array"][1])) == items
    found = {row["rowid"] for row in json.loads(answers[f"/news.json?_shape=array&sql={match}"][1])}
    assert found == wanted and len(found) >= 2


def test_plain_sqlite3_reads_and_searches_the_file(monitored):
    conn = sqlite3.connect(monitored)       # nothing registered on it
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        rows = conn.execute("SELECT rowid, * FROM items_fts").fetchall()
        assert len(rows) == conn.execute("SELECT count(*) FROM items").fetchone()[0] > 0
        found = conn.execute("SELECT items.title FROM items_fts JOIN items ON items.id = items_fts.rowid "
                             "WHERE items_fts MATCH ?", (search.fts_query("鄉村振興"),)).fetchall()
        assert found == [("乡村振兴：村里来了新产业",)]
        assert conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')") is not None
    finally:
        conn.close()


def test_the_index_holds_the_tokens_of_the_python_tokenizer(seed_document):
    """Token for token, position for position, what the old ``news_fold`` tokenizer made of each headline."""
    conn = sqlite3.connect(":memory:")
    conn.execute(search.CREATE_SEARCH_TABLE)
    conn.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(items_fts, instance)")
    titles = [line for line in seed_document.read_text(encoding="utf-8").splitlines() if line.strip()]
    titles += ["【決戰決勝 脫貧攻堅】ＡＢＣ 2020年", "Tik Tok美國業務，此前", "ﬁnance㍿ café 5G網絡",
               "台製機具逾12國搶著要", "かな カナ 한국어 ①②", "", "！？…"]
    search.index_rows(conn, [(n, title, None, None) for n, title in enumerate(titles, 1)])
    for n, title in enumerate(titles, 1):
        indexed = [term for (term,) in conn.execute(
            "SELECT term FROM terms WHERE doc = ? ORDER BY \"offset\"", (n,))]
        assert indexed == [token for token, _, _ in search.FoldingTokenizer().tokenize(title, 0)], title
    conn.close()


def test_query_forms():
    assert search.fts_query("脫貧") == '"脱 贫"'
    assert search.fts_query(" 脫貧  攻堅 ") == '"脱 贫" "攻 坚"'
    assert search.fts_query('"脫貧 攻堅" AI') == '"脱 贫 攻 坚" "ai"'
    assert search.fts_query('"unbalanced') == '"unbalanced"'
    assert search.fts_query("！") == '""'
    assert search.fts_query('a"b') == '"a" "b"'


def test_migration_8_converts_the_index_of_an_older_file(tmp_path):
    path = tmp_path / "news.db"
    db = old_database(path, 7)          # the news_fold table, its tokenizer registered by the helper
    with db.conn:
        db["items"].insert_all([
            {"id": 1, "title": "鄉村振興：村裡來了新產業", "summary": "鞏固拓展脫貧攻堅成果", "publisher": "新華網",
             "title_key": "a", "first_seen_at": "2020-12-16T09:00:00+08:00",
             "last_seen_at": "2020-12-16T09:00:00+08:00", "origin": "scraped"},
            {"id": 2, "title": "AI监管 新规出台", "title_key": "b", "first_seen_at": "2020-12-16T09:00:00+08:00",
             "last_seen_at": "2020-12-16T09:00:00+08:00", "origin": "scraped"},
        ])
        db.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
    db.conn.close()
    plain = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="news_fold"):     # what a colleague met before
        plain.execute("SELECT * FROM items_fts").fetchall()
    plain.close()
    store = Store(path, ZONE)
    try:
        def found(query: str) -> list[int]:
            return [row_id for (row_id,) in store.conn.execute(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid", (search.fts_query(query),))]

        assert found("乡村振兴") == found("鄉村振興") == [1]
        assert found("脱贫") == found("新华网") == [1]
        assert found("ai") == found("AI") == [2]
        assert found("振乡") == []
        store.rebuild_search_index()
        assert found("脫貧") == [1] and found("监管 新规") == [2]
    finally:
        store.close()
    plain = sqlite3.connect(path)
    assert plain.execute("SELECT count(*) FROM items_fts").fetchone()[0] == 2
    assert "news_fold" not in plain.execute("SELECT sql FROM sqlite_master WHERE name = 'items_fts'").fetchone()[0]
    plain.close()


def test_datasette_search_box_shows_what_was_typed_and_columns_can_be_searched(tmp_path, seed_document):
    from monitor.seeding import import_seed
    from tests.test_datasette import get

    path = tmp_path / "news.db"
    store = Store(path, ZONE)
    import_seed(store, seed_document, ZONE)
    store.close()
    html = get(None, path, "/news/items?_search=脫貧").text
    assert '<input id="_search" type="search" name="_search" value="脫貧">' in html
    assert "where search matches &#34;脫貧&#34;" in html

    def titles(query: str) -> list[str]:
        response = get(None, path, f"/news/items.json?{query}&_shape=array&_col=title&_size=max")
        assert response.status_code == 200, response.text
        return [row["title"] for row in response.json()]

    in_titles = titles("_search_title=脱贫")
    assert in_titles and all("脫貧" in title for title in in_titles)
    assert set(in_titles) <= set(titles("_search=脱贫"))
    by_publisher = titles("_search_publisher=人民網")
    assert by_publisher and titles("_search_publisher=人民网") == by_publisher
    assert get(None, path, "/news/items.json?_search_url=x").status_code == 400
