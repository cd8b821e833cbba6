"""The README documents every command, config key, scraper kind and table (it fails when one is added silently)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from db.store import Store
from monitor.cli import COMMANDS
from monitor.config import _HTTP_KEYS, _SOURCE_KEYS, _TOP_KEYS
from monitor.core import dates
from monitor.fetch.settings import HttpSettings
from scrapers import get_kind, registered_kinds
from tests.conftest import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented(command):
    assert f"| `{command}" in README


@pytest.mark.parametrize("key", _TOP_KEYS)
def test_every_top_level_key_is_documented(key):
    assert f"| `{key}" in README


NESTED_KEYS = [f"http.{name}" for name in _HTTP_KEYS] + [f"sources[].{name}" for name in _SOURCE_KEYS]


@pytest.mark.parametrize("key", NESTED_KEYS)
def test_every_nested_key_is_documented(key):
    assert f"| `{key}`" in README


def test_http_keys_are_the_settings_fields():
    assert [f.name for f in fields(HttpSettings)] == _HTTP_KEYS


@pytest.mark.parametrize("kind", registered_kinds())
def test_every_scraper_kind_and_its_selectors_are_documented(kind):
    assert f"- **`{kind}`**" in README
    for field in get_kind(kind).select_fields:
        assert f"`{field}`" in README


def test_every_table_is_documented(tmp_path):
    store = Store(tmp_path / "news.db", dates.zone("UTC"))
    try:
        tables = [t for t in store.db.table_names() if not t.startswith("items_fts_")]
    finally:
        store.close()
    for table in tables:
        assert f"| `{table}` |" in README, table
