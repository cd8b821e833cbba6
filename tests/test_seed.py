"""The seed: the text form read from ../shared, the shipped data file, and their import into SQLite."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from db.store import Store
from monitor.cli import main
from monitor.core import dates
from monitor.seeding import import_seed, read_seed_file
from scrapers.seed import parse_seed_text, seed_to_data

PROJECT = Path(__file__).resolve().parent.parent
SHIPPED_DATA = PROJECT / "data" / "seed-headlines.json"
ZONE = dates.zone("Asia/Shanghai")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    yield store
    store.close()


def items_by_title(store: Store) -> dict[str, sqlite3.Row]:
    return {row["title"]: row for row in store.conn.execute("SELECT * FROM items")}


def test_text_form_is_parsed(seed_document):
    seed = parse_seed_text(seed_document.read_text(encoding="utf-8"))
    assert seed.article.title == "決戰決勝脫貧攻堅要抓好三個重點"
    assert seed.article.publisher == "人民網"
    assert seed.article.published == "2020-12-15"
    assert seed.heading == "相關焦點"
    assert len(seed.related) == 20
    by_listed = {h.listed_title: h for h in seed.related}
    yujing = by_listed["【決戰決勝脫貧攻堅】玉井鎮召開領導班子中央脫貧攻堅專項巡視..."]
    assert yujing.title == "【決戰決勝脫貧攻堅】玉井鎮召開領導班子中央脫貧攻堅專項巡視「回頭看」問題整改專題民主生活會"
    assert yujing.published == "2020-05-21 03:24"
    assert yujing.publisher == "澎湃新聞·澎湃號·政務"
    pingliang = by_listed["...脫貧攻堅」「決勝全面小康 決戰脫貧攻堅」系列新聞發布會平涼..."]
    assert pingliang.title == (
        "【走向我們的小康生活·決戰決勝脫貧攻堅】「決勝全面小康 決戰脫貧攻堅」系列新聞發布會平涼專場舉行"
    )
    hunan = by_listed["「決戰決勝脫貧攻堅」湖南60餘萬名黨員幹部與貧困戶結對促脫貧"]
    assert hunan.published == "12月8日"          # the dateline 華聲在線12月8日訊
    gansu = next(h for h in seed.related if h.listed_title.startswith("甘肅省殘聯"))
    assert gansu.publisher == "華夏時報"           # '來源:華夏時報華夏時報記者' reads as the outlet once
    assert gansu.title == gansu.listed_title       # the snippet does not repeat this title: left cut short
    nanzhao = by_listed["南召縣召開決戰決勝脫貧攻堅誓師大會"]
    assert nanzhao.publisher is None and nanzhao.published is None


def test_import_text_form_gives_21_items_and_20_links_and_is_idempotent(store, seed_document):
    first = import_seed(store, seed_document, ZONE)
    assert (first.items_seen, first.items_new, first.links_new) == (21, 21, 20)
    rows = items_by_title(store)
    assert len(rows) == 21
    article = rows["決戰決勝脫貧攻堅要抓好三個重點"]
    assert article["publisher"] == "人民網"
    assert article["published_at"] == "2020-12-15T00:00:00+08:00"
    yujing = rows["【決戰決勝脫貧攻堅】玉井鎮召開領導班子中央脫貧攻堅專項巡視「回頭看」問題整改專題民主生活會"]
    assert yujing["published_at"] == "2020-05-21T03:24:00+08:00"
    assert yujing["title_cut"] == ""
    assert yujing["summary"].startswith("【決戰決勝脫貧攻堅】玉井鎮")
    hunan = rows["「決戰決勝脫貧攻堅」湖南60餘萬名黨員幹部與貧困戶結對促脫貧"]
    assert hunan["published_at"] == "2020-12-08T00:00:00+08:00"
    assert rows["甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝..."]["title_cut"] == "end"
    links = store.conn.execute("SELECT from_item_id, to_item_id, depth FROM links").fetchall()
    assert len(links) == 20
    assert {link["from_item_id"] for link in links} == {article["id"]}
    assert {link["depth"] for link in links} == {1}

    tables = ("items", "links", "sightings", "runs")
    counts = [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
    again = import_seed(store, seed_document, ZONE)
    assert again.already_imported
    assert counts == [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]


def test_data_file_round_trip_gives_the_same_rows(tmp_path, seed_document):
    seed, _, _ = read_seed_file(seed_document)
    data = seed_to_data(seed, source_document=seed_document.name, timezone="Asia/Shanghai")
    assert "summary" not in json.dumps(data)      # facts only: no snippets
    data_file = tmp_path / "seed.json"
    data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    from_text = Store(tmp_path / "a.db", ZONE)
    from_data = Store(tmp_path / "b.db", ZONE)
    try:
        import_seed(from_text, seed_document, ZONE)
        result = import_seed(from_data, data_file, ZONE)
        assert (result.items_new, result.links_new) == (21, 20)
        columns = "title, publisher, published_at, title_cut, title_key"
        query = f"SELECT {columns} FROM items ORDER BY id"
        assert [tuple(r) for r in from_text.conn.execute(query)] == [tuple(r) for r in from_data.conn.execute(query)]
    finally:
        from_text.close()
        from_data.close()


def test_shipped_data_file_is_what_the_importer_makes_from_the_document(tmp_path, seed_document):
    """data/seed-headlines.json is made by `seed --write-data`; regenerate it if this fails."""
    out = tmp_path / "made.json"
    config = tmp_path / "config.yaml"
    config.write_text("database: news.db\ntimezone: Asia/Shanghai\n", encoding="utf-8")
    assert main(["--config", str(config), "seed", "--write-data", str(out), str(seed_document)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(SHIPPED_DATA.read_text(encoding="utf-8"))


def test_seed_command_imports_shipped_data_and_is_idempotent(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("database: news.db\n", encoding="utf-8")
    assert main(["--config", str(config), "seed", str(SHIPPED_DATA)]) == 0
    assert "21 items (21 new), 20 new links" in capsys.readouterr().out
    assert main(["--config", str(config), "seed", str(SHIPPED_DATA)]) == 0
    assert "already imported" in capsys.readouterr().out
    conn = sqlite3.connect(tmp_path / "news.db")
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 21
    assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 20


def test_bad_seed_file_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("database: news.db\n", encoding="utf-8")
    bad = tmp_path / "notes.txt"
    bad.write_text("just a line\n\nand another\n", encoding="utf-8")
    assert main(["--config", str(config), "seed", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "related-headlines heading" in err
