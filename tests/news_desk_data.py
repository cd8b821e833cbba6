"""A database filled through the real pipeline for the Datasette tests: two local feeds (traditional and simplified
script, one story reported by both, hostile titles, a formula title) and a source that fails, read by `once`."""

from __future__ import annotations

from pathlib import Path

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
