"""`export` (CSV and JSON lines with filters) and `status`, run as commands over a database the pipeline filled."""

from __future__ import annotations

import csv
import json

import pytest

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
