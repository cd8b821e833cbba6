"""Small helpers shared by the tests: writing config files, fetching a page with the real client."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.core.page import Page
from monitor.fetch import Fetcher
from monitor.fetch.settings import HttpSettings


def write_config(directory: Path, sources: list[dict], **overrides) -> Path:
    """A config.yaml in ``directory`` with a fast HTTP profile for local servers; returns its path."""
    data = {
        "database": "news.db",
        "timezone": "Asia/Shanghai",
        "topics": {"poverty": {"any": ["脫貧攻堅", "精準扶貧", "鄉村振興"]}},
        "http": {"timeout": "5s", "retries": 0, "per_host_delay": 0, "allow_private_networks": True},
        "sources": sources,
    }
    data.update(overrides)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def fetch_page(url: str) -> Page:
    """Fetch with the project's own client, as the pipeline does (private addresses allowed for 127.0.0.1)."""
    settings = HttpSettings(timeout=5.0, retries=0, per_host_delay=0.0, allow_private_networks=True)
    with Fetcher(settings) as fetcher:
        return fetcher.fetch(url).page


def old_database(path: Path, version: int):
    """A database file as release ``version`` of the schema made it (its first ``version`` migrations); returns
    the sqlite_utils Database on it, to add rows before a test opens it with today's code."""
    import sqlite3

    import sqlite_utils

    from db.schema import MIGRATIONS
    from db.search import register_search_tokenizer

    conn = sqlite3.connect(path)
    register_search_tokenizer(conn)
    db = sqlite_utils.Database(conn)
    with conn:
        for migration in MIGRATIONS[:version]:
            migration(db)
        conn.execute(f"PRAGMA user_version = {int(version)}")
    return db
