"""`export` (CSV and JSON lines with filters) and `status`, run as commands over a database the pipeline filled;
the exit codes both share with `check`, `once` and `run` (1: no database yet, 2: invalid config)."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3

import pytest
import yaml

from monitor.cli import main
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
FORMULA_FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>=HYPERLINK("http://evil.example","click")</title><link>http://evil.example/1</link></item>
</channel></rss>"""


@pytest.fixture
def filled(httpserver, tmp_path, seed_document):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    httpserver.expect_request("/formula.xml").respond_with_data(FORMULA_FEED, content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("", status=404)
    config = write_config(tmp_path, [
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"},
        {"name": "formula", "kind": "rss", "url": httpserver.url_for("/formula.xml"), "every": "1h"},
        {"name": "gone", "kind": "rss", "url": httpserver.url_for("/gone.xml"), "cron": "0 * * * *"},
    ], seeds=[str(seed_document)])
    assert main(["--config", str(config), "once"]) == 1      # 'gone' fails; the others are stored
    return config


def export_csv(config, tmp_path, *options) -> list[dict]:
    out = tmp_path / "out.csv"
    assert main(["--config", str(config), "export", "-o", str(out), *options]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")            # UTF-8 with BOM, so spreadsheets read Chinese correctly
    with open(out, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_csv_all_and_filtered(filled, tmp_path):
    everything = export_csv(filled, tmp_path)
    assert len(everything) == 21 + 2 + 1          # seed rows, two new feed items, the formula item
    assert list(everything[0]) == ["id", "title", "url", "publisher", "published_at", "first_seen_at",
                                   "last_seen_at", "story_id", "topics", "sources", "summary"]
    by_source = export_csv(filled, tmp_path, "--source", "feed")
    assert len(by_source) == 4
    topic = export_csv(filled, tmp_path, "--topic", "poverty")
    assert len(topic) == 22 and not any("HYPERLINK" in row["title"] for row in topic)
    december = export_csv(filled, tmp_path, "--since", "2020-12-01", "--until", "2020-12-15")
    assert {row["published_at"][:10] for row in december} <= {f"2020-12-{d:02d}" for d in range(1, 16)}
    assert "決戰決勝脫貧攻堅要抓好三個重點" in {row["title"] for row in december}
    assert not any(row["published_at"].startswith("2020-12-16") for row in december)
    searched = export_csv(filled, tmp_path, "--search", "衙下集镇")       # simplified query, traditional seed row
    assert [row["title"] for row in searched] == ["【決戰決勝脫貧攻堅】衙下集鎮:做大做強生豬產業,決戰決勝脫貧攻堅"]
    assert searched[0]["url"].startswith("https://www.thepaper.cn/")


def test_export_guards_against_spreadsheet_formulas(filled, tmp_path):
    rows = export_csv(filled, tmp_path, "--source", "formula")
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example","click")'


def test_export_raw_keeps_cells_as_stored_and_bom_marks_standard_output(filled, tmp_path, capsys):
    rows = export_csv(filled, tmp_path, "--source", "formula", "--raw")
    assert rows[0]["title"] == '=HYPERLINK("http://evil.example","click")'
    capsys.readouterr()
    assert main(["--config", str(filled), "export", "--source", "formula", "--bom"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\ufeff") and "'=HYPERLINK" in out          # guarded unless --raw
    assert main(["--config", str(filled), "export", "--source", "formula"]) == 0
    assert not capsys.readouterr().out.startswith("\ufeff")           # no BOM on standard output by default


def test_export_jsonl_to_stdout(filled, capsys):
    capsys.readouterr()
    assert main(["--config", str(filled), "export", "--format", "jsonl", "--source", "feed"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and all(isinstance(line["topics"], list) for line in lines)
    assert all("feed" in line["sources"] for line in lines)


def test_status_shows_every_source_with_its_health(filled, capsys):
    capsys.readouterr()
    assert main(["--config", str(filled), "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["source", "kind", "schedule"]
    lines = {line.split()[0]: line for line in out[1:]}
    assert set(lines) == {"feed", "formula", "gone"}
    assert " ok " in lines["feed"] and "every 15m" in lines["feed"]
    assert " error " in lines["gone"] and "cron 0 * * * *" in lines["gone"] and "not found (404)" in lines["gone"]


def test_status_prints_the_whole_last_error(httpserver, tmp_path, capsys):
    """The advice at the end of a long error message is printed, not cut off."""
    path = "/feeds/" + "politics-and-rural-revitalisation/" * 4 + "forbidden.xml"
    httpserver.expect_request(path).respond_with_data("no", status=403)
    config = write_config(tmp_path, [{"name": "forbidden", "kind": "rss", "url": httpserver.url_for(path),
                                      "every": "1h"}])
    assert main(["--config", str(config), "once"]) == 1
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    error = sqlite3.connect(tmp_path / "news.db").execute("SELECT last_error FROM sources").fetchone()[0]
    assert len(error) > 160 and error in line
    assert "http.user_agent" in line        # the advice of a 403 comes last


@pytest.mark.parametrize("command", [["status"], ["export"], ["export", "--format", "jsonl"]])
def test_without_a_database_status_and_export_say_so_exit_1_and_create_nothing(command, tmp_path, capsys):
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml",
                                      "every": "1h"}], database="data/news.db")
    assert main(["--config", str(config), *command]) == 1
    assert f"no database at {tmp_path / 'data' / 'news.db'} yet" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_status_is_read_only(filled, tmp_path, capsys):
    """status neither writes the database nor syncs the config into it; a source added since shows as never run."""
    database = tmp_path / "news.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    config = yaml.safe_load(filled.read_text(encoding="utf-8"))
    config["sources"].append({"name": "added", "kind": "rss", "url": "http://127.0.0.1:9/new.xml", "every": "1h"})
    filled.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(filled), "status"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(lines) == {"added", "feed", "formula", "gone"} and "never run" in lines["added"]
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert not sqlite3.connect(database).execute("SELECT 1 FROM sources WHERE name = 'added'").fetchall()


@pytest.mark.parametrize("command", [["check"], ["once"], ["run", "--no-datasette"]])
def test_a_missing_seed_file_is_a_config_error_everywhere(command, tmp_path, capsys):
    """Exit 2, as for any invalid config, before a database is created or a source is run."""
    config = write_config(tmp_path, [{"name": "feed", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml",
                                      "every": "1h"}], seeds=["no-such-seed.json"])
    assert main(["--config", str(config), *command]) == 2
    message = f"config error: {config}: seeds[0]: no such file {tmp_path / 'no-such-seed.json'}"
    assert message in capsys.readouterr().err
    assert not (tmp_path / "news.db").exists()


@pytest.mark.parametrize(("option", "value"), [
    ("--since", "yesterday"), ("--until", "2020-13-01"), ("--since", "2020-02-30"), ("--until", "2020-12-01T25:00"),
    ("--since", "12/01/2020"),
])
def test_export_refuses_a_time_it_cannot_read(filled, tmp_path, capsys, option, value):
    """Exit 2 naming the option and the value, before anything is written (they used to select nothing or all)."""
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["--config", str(filled), "export", "-o", str(out), option, value]) == 2
    err = capsys.readouterr().err
    assert f"error: {option} {value!r}: " in err and "2020-12-01" in err and "Traceback" not in err
    assert not out.exists()


def test_export_reads_dates_in_chinese_and_slash_forms_and_times_with_or_without_offset(filled, tmp_path):
    iso = export_csv(filled, tmp_path, "--since", "2020-12-01", "--until", "2020-12-15")
    assert iso
    assert export_csv(filled, tmp_path, "--since", "2020年12月1日", "--until", "2020/12/15") == iso
    assert export_csv(filled, tmp_path, "--since", "2020-12-1", "--until", "2020-12-15") == iso
    local = export_csv(filled, tmp_path, "--since", "2020-12-11T18:00", "--until", "2020-12-16T00:00")
    assert local and all("2020-12-11T18:00" <= row["published_at"] < "2020-12-16" for row in local)
    # The same instants written in UTC: read in config.yaml's timezone (Asia/Shanghai, +08:00) before comparing.
    assert export_csv(filled, tmp_path, "--since", "2020-12-11T10:00Z", "--until", "2020-12-15T16:00:00+00:00") == local


@pytest.mark.parametrize(("option", "message"), [
    ("--topic", "unknown topic 'nope' (configured: poverty)"),
    ("--source", "unknown source 'nope' (configured: feed, formula, gone; also in the database: seed)"),
])
def test_export_names_an_unknown_topic_or_source(filled, tmp_path, capsys, option, message):
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["--config", str(filled), "export", "-o", str(out), option, "nope"]) == 2
    assert f"error: {message}" in capsys.readouterr().err
    assert not out.exists()


def test_export_knows_the_sources_and_topics_the_database_has_seen(filled, tmp_path):
    """Seed imports are source 'seed'; a source or topic taken out of config.yaml keeps its stored rows."""
    assert len(export_csv(filled, tmp_path, "--source", "seed")) >= 20
    config = yaml.safe_load(filled.read_text(encoding="utf-8"))
    config["sources"] = [s for s in config["sources"] if s["name"] != "formula"]
    config["topics"] = {"other": {"any": ["其他"]}}
    filled.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert len(export_csv(filled, tmp_path, "--source", "formula")) == 1
    assert len(export_csv(filled, tmp_path, "--topic", "poverty")) == 22
