"""What Datasette hands out and to whom (issue 13): the Atom feed, CSV with the formula guard, and a published
corpus that is safe to expose (read-only, local by default, time-limited, no SQL box unless enabled, a password)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import sqlite3
from urllib.parse import quote

import feedparser
import pytest
from datasette.app import Datasette

from db.datasette_plugin.csv_guard import CsvRewriter
from db.export import neutralise_formula
from db.metadata import datasette_metadata
from db.publish import PASSWORD_HASH_ENV, SETTINGS, datasette_command, write_metadata
from monitor.config import load_config
from tests.helpers import write_config
from tests.news_desk_data import SCRIPT_TITLE, get, hostile_db_fixture, news_db_fixture  # noqa: F401 (fixtures)


def atom(path, url):
    response = get(path, url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    return feedparser.parse(response.content)


def test_atom_feed_of_new_items_is_valid_newest_first(news_db):
    feed = atom(news_db, "/news/new_items.atom")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title == "New items"
    assert len(feed.entries) == 9
    for entry in feed.entries:
        assert entry.title and entry.updated and entry.id.startswith("urn:")
        # a link only to a web address: the item whose feed gave javascript:alert(3) has none
        assert entry.link.startswith("http") or (entry.title == "精準扶貧觀察" and entry.link == entry.id)
    assert b"javascript:" not in get(news_db, "/news/new_items.atom").content
    ids = [int(e.id.rsplit(":", 1)[1]) for e in feed.entries]
    assert ids == sorted(ids, reverse=True)                # found last, shown first (same second here: by id)
    assert len({e.id for e in feed.entries}) == 9
    by_title = {e.title: e for e in feed.entries}
    assert by_title["决战决胜脱贫攻坚要抓好三个重点"].link == "http://cn.example.org/n1/2020/1215/c1001-1.html"
    assert by_title["决战决胜脱贫攻坚要抓好三个重点"].author == "人民网"


def test_atom_feed_by_topic_and_an_empty_one(news_db):
    sports = atom(news_db, "/news/new_items.atom?topic=sports")
    assert not sports.bozo and [e.title for e in sports.entries] == ["體育新聞：足球聯賽開幕"]
    assert sports.feed.title == "New items: sports"
    nothing = atom(news_db, "/news/new_items.atom?topic=no-such-topic")
    assert not nothing.bozo and nothing.entries == [] and nothing.feed.updated


def test_atom_titles_are_escaped(hostile_db):
    response = get(hostile_db, "/news/new_items.atom")
    assert b"<script>" not in response.content and b"&lt;script&gt;" in response.content
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert SCRIPT_TITLE in [e.title for e in feed.entries] or \
        any("alert" in e.title and "脫貧攻堅快訊" in e.title for e in feed.entries)


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("query", ["_size=max", "_stream=on", "_size=max&_dl=1"])
def test_datasette_csv_neutralises_formulas_and_round_trips(news_db, query):
    response = get(news_db, f"/news/items.csv?{query}")
    assert response.status_code == 200
    rows = csv_rows(response.text)
    assert len(rows) == 9
    by_url = {row["url"]: row for row in rows}
    formula = by_url["http://cn.example.org/n1/2020/1217/c1001-3.html"]
    assert formula["title"] == '\'=HYPERLINK("http://evil.example","脱贫攻坚")'
    assert formula["summary"] == "'-2+3 a summary that starts like a formula"
    assert by_url["http://tw.example.org/news/1001.html"]["title"] == "決戰決勝脫貧攻堅要抓好三個重點"
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row.values())
    # the rest reads back as stored
    stored = sqlite3.connect(news_db).execute("SELECT extra FROM items WHERE id = 1").fetchone()[0]
    assert json.loads(next(r for r in rows if r["id"] == "1")["extra"]) == json.loads(stored)


def test_a_long_streamed_csv_is_guarded_across_its_chunks(news_db, tmp_path):
    """A streamed export is guarded and sent in chunks (``csv_guard.FLUSH_BYTES``): formulas anywhere in a long
    export are neutralised, multi-line cells survive the chunk boundaries, and every row comes once."""
    path = tmp_path / "news.db"
    with sqlite3.connect(news_db) as source, sqlite3.connect(path) as target:
        source.backup(target)
        target.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
            "INSERT INTO items (title, url, summary, publisher, first_seen_at, last_seen_at, origin, sources, topics, "
            "title_key) "
            "SELECT CASE WHEN i % 97 = 0 THEN '=HYPERLINK(' || i || ')' ELSE '第' || i || '条新闻：乡村振兴' END, "
            "'http://bulk.example.org/' || i, CASE WHEN i % 5 = 0 THEN 'line one' || char(10) || '+line two' "
            "ELSE '摘要' END, '新华网', '2020-12-18T08:00:00+08:00', '2020-12-18T08:00:00+08:00', 'feed', "
            "'[\"bulk\"]', '[]', 'bulk' || i FROM n")
    response = get(path, "/news/items.csv?_stream=on")
    assert response.status_code == 200
    assert len(response.content) > 4 * 64 * 1024
    rows = csv_rows(response.text)
    assert len(rows) == 4009 and len({row["id"] for row in rows}) == 4009
    bulk = {row["url"]: row for row in rows if row["url"].startswith("http://bulk.")}
    assert bulk["http://bulk.example.org/97"]["title"] == "'=HYPERLINK(97)"
    assert bulk["http://bulk.example.org/3880"]["title"] == "'=HYPERLINK(3880)"
    assert bulk["http://bulk.example.org/3995"]["summary"] == "line one\n+line two"
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row.values())


def test_query_csv_is_guarded_too_and_json_is_not_touched(news_db):
    rows = csv_rows(get(news_db, "/news/new_items.csv").text)
    assert any(row["atom_title"].startswith("'=HYPERLINK") for row in rows)
    data = get(news_db, "/news/items.json?_shape=array&_size=max").json()
    assert any(row["title"].startswith("=HYPERLINK") for row in data)


def test_one_rule_for_export_and_datasette():
    assert [neutralise_formula(v) for v in ("=1+1", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "-5", "+1.5e3",
                                            "a=b", "", None, 7)] == \
        ["'=1+1", "'+A1", "'-A1", "'@SUM(A1)", "'\tx", "'\rx", "-5", "+1.5e3", "a=b", "", None, 7]


def test_the_csv_rewriter_reads_records_split_anywhere():
    rows = [["id", "title"], ["1", "=cmd|' /C calc'!A0"], ["2", 'a "quoted"\nline, with comma'], ["3", "-x"],
            ["4", "脫貧攻堅"]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    body = out.getvalue().encode("utf-8")
    expected = [[neutralise_formula(cell) for cell in row] for row in rows]
    generator = random.Random(13)
    for _ in range(200):
        cuts = sorted(generator.sample(range(1, len(body)), 5))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        rewriter = CsvRewriter()
        result = b"".join(rewriter.feed(piece, final=i == len(pieces) - 1) for i, piece in enumerate(pieces))
        assert list(csv.reader(io.StringIO(result.decode("utf-8"), newline=""))) == expected


def test_csv_records_no_spreadsheet_would_run_pass_through_unchanged():
    rows = [["id", "title", "summary", "extra"], ["1", "脫貧攻堅", "a, b", ""], ["2", "x", 'say "-1"', ""],
            ["3", "2020-12-15", "5", "1e3"]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    body = out.getvalue().encode("utf-8")
    assert CsvRewriter().feed(body, final=True) == body
    tab_and_cr = io.StringIO()
    csv.writer(tab_and_cr).writerows([["1", "\tx", ""], ["2", "\rx", ""], ["3", "@x", "+1"]])
    rewritten = CsvRewriter().feed(tab_and_cr.getvalue().encode("utf-8"), final=True).decode("utf-8")
    assert list(csv.reader(io.StringIO(rewritten, newline=""))) == [["1", "'\tx", ""], ["2", "'\rx", ""],
                                                                    ["3", "'@x", "+1"]]


def test_sql_box_and_arbitrary_sql_are_off_unless_enabled(news_db):
    assert get(news_db, "/news?sql=select+1").status_code == 403
    assert get(news_db, "/news.json?sql=select+1").status_code == 403
    assert get(news_db, "/news/sources_needing_attention.json").status_code == 200   # canned queries still run
    assert get(news_db, "/news/items.json?_search=脫貧").status_code == 200           # and search
    opened = get(news_db, "/news", allow_sql=True).text
    assert "<textarea" in opened
    assert get(news_db, "/news.json?sql=select+1&_shape=array", allow_sql=True).json() == [{"1": 1}]


def test_datasette_opens_the_file_read_only(news_db):
    async def write():
        ds = Datasette([str(news_db)], metadata=datasette_metadata("news"))
        db = ds.get_database("news")
        assert db.is_mutable
        return await db.execute_fn(lambda conn: conn.execute("DELETE FROM items"))

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(write())
    assert sqlite3.connect(news_db).execute("SELECT count(*) FROM items").fetchone()[0] == 9


def test_served_locally_with_a_time_limit_by_default(tmp_path):
    config = load_config(write_config(tmp_path, []))
    assert config.datasette.host == "127.0.0.1" and config.datasette.allow_sql is False
    command = datasette_command(config.database, tmp_path / "m.json", config.datasette.host, config.datasette.port)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    settings = dict(zip(command[1::2], command[2::2], strict=False))
    assert "--setting" in command and int(SETTINGS["sql_time_limit_ms"]) <= 5000
    assert "sql_time_limit_ms" in command and settings
    enabled = load_config(write_config(tmp_path, [], datasette={"allow_sql": True}))
    assert enabled.datasette.allow_sql is True


def test_the_sql_time_limit_stops_a_runaway_query(news_db):
    async def run():
        ds = Datasette([str(news_db)], metadata=datasette_metadata("news", allow_sql=True),
                       settings={"sql_time_limit_ms": 50})
        sql = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
        return await ds.client.get("/news.json?sql=" + quote(sql))

    response = asyncio.run(run())
    assert response.status_code == 400 and "interrupted" in response.text.lower()


def test_a_password_from_the_environment_guards_every_page(news_db, tmp_path):
    from datasette_auth_passwords.utils import hash_password

    hashed = hash_password("open sesame", iterations=1000)
    path = write_metadata(news_db, tmp_path, environ={PASSWORD_HASH_ENV: hashed})
    written = path.read_text(encoding="utf-8")
    assert hashed not in written                            # the file names the variable, not the hash
    metadata = json.loads(written)

    async def fetch(url, auth=None):
        import os

        old = os.environ.get(PASSWORD_HASH_ENV)
        os.environ[PASSWORD_HASH_ENV] = hashed
        try:
            ds = Datasette([str(news_db)], metadata=metadata)
            return await ds.client.get(url, auth=auth)
        finally:
            if old is None:
                del os.environ[PASSWORD_HASH_ENV]
            else:
                os.environ[PASSWORD_HASH_ENV] = old

    assert asyncio.run(fetch("/news")).status_code == 401
    assert asyncio.run(fetch("/news/new_items.atom")).status_code == 401
    assert asyncio.run(fetch("/news", auth=("reader", "wrong"))).status_code == 401
    assert asyncio.run(fetch("/news", auth=("reader", "open sesame"))).status_code == 200
    assert asyncio.run(fetch("/news/new_items.atom", auth=("reader", "open sesame"))).status_code == 200
    unguarded = json.loads(write_metadata(news_db, tmp_path, environ={}).read_text(encoding="utf-8"))
    assert "allow" not in unguarded and "datasette-auth-passwords" not in unguarded["plugins"]
