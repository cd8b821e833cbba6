"""A database filled through the real pipeline for the Datasette tests: two local feeds (traditional and simplified
script, one story reported by both, hostile titles, a formula title) and a source that fails, read by `once`; the
fixtures ``news_db`` and ``hostile_db`` on it, and ``get`` from an in-process Datasette configured as `serve` does."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette
from pytest_httpserver import HTTPServer

from db.metadata import datasette_metadata
from db.publish import SETTINGS
from monitor.cli import main
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

FEEDS = OWN_FIXTURES / "news_desk"
TOPICS = {"poverty": {"any": ["脫貧攻堅", "精準扶貧", "鄉村振興"]}, "sports": {"any": ["足球"]}}


def fill_news_database(httpserver, directory: Path) -> Path:
    """Serve the feeds from ``httpserver``, run ``once`` over them; returns the config.yaml (database news.db)."""
    for name in ("outlet_traditional", "outlet_simplified"):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            (FEEDS / f"{name}.xml").read_bytes(), content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("", status=404)
    config = write_config(directory, [
        {"name": "tw-feed", "kind": "rss", "url": httpserver.url_for("/outlet_traditional.xml"), "every": "15m"},
        {"name": "cn-feed", "kind": "rss", "url": httpserver.url_for("/outlet_simplified.xml"), "every": "15m"},
        {"name": "gone-feed", "kind": "rss", "url": httpserver.url_for("/gone.xml"), "every": "1h"},
    ], topics=TOPICS)
    assert main(["--config", str(config), "once"]) == 1      # gone-feed fails; the others are stored
    return config


SCRIPT_TITLE = '<script>alert("desk")</script>脫貧攻堅快訊'
IMG_PUBLISHER = "<img src=x onerror=alert(2)>通訊社"


@pytest.fixture(scope="module", name="news_db")
def news_db_fixture(tmp_path_factory):
    """news.db after `once` over the two local feeds (and a source that fails)."""
    directory = tmp_path_factory.mktemp("desk")
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        fill_news_database(server, directory)
    finally:
        server.stop()
    return directory / "news.db"


@pytest.fixture(scope="module", name="hostile_db")
def hostile_db_fixture(news_db, tmp_path_factory):
    """The same database where one title holds a script element and one publisher an img with onerror (the kinds
    strip markup from what feeds send; an older row, another tool or a future kind may still store it)."""
    path = tmp_path_factory.mktemp("hostile") / "news.db"
    source = sqlite3.connect(news_db)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    make_hostile(path)
    return path


def datasette_for(path, **metadata_options) -> Datasette:
    """Datasette configured as `serve` configures it (metadata, settings, mutable file, the plug-in installed)."""
    return Datasette([str(path)], metadata=datasette_metadata(path.stem, **metadata_options),
                     settings={k: int(v) if v.isdigit() else v for k, v in SETTINGS.items()})


def get(path, url: str, **metadata_options):
    async def fetch():
        return await datasette_for(path, **metadata_options).client.get(url)

    return asyncio.run(fetch())


def make_hostile(path: Path) -> None:
    """One title with a script element, one publisher with an img onerror, written into ``path``."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE items SET title = ? WHERE url = 'http://tw.example.org/news/1003.html'", (SCRIPT_TITLE,))
        conn.execute("UPDATE items SET publisher = ? WHERE url = 'http://tw.example.org/news/1002.html'",
                     (IMG_PUBLISHER,))
        conn.execute("UPDATE stories SET title = ? WHERE id = "
                     "(SELECT story_id FROM items WHERE url = 'http://tw.example.org/news/1003.html')", (SCRIPT_TITLE,))
    conn.close()
