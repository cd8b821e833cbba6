"""The README documents every command, config key (with its real default), scraper kind and table, and nothing
that does not exist: each check reads the README's own table or list and compares it with the code's."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from db.store import Store
from monitor.cli import COMMANDS
from monitor.config import (
    Config,
    DatasetteSettings,
    NotifySettings,
    SourceConfig,
    config_keys,
    parse_duration,
    parse_size,
)
from monitor.core import dates
from monitor.fetch.settings import HttpSettings
from scrapers import get_kind, registered_kinds
from tests.conftest import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The README's text under ``heading`` (a whole line such as ``## Commands``), up to the next heading."""
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^#)", README + "\n#", re.M | re.S)
    assert match, f"the README has no section {heading!r}"
    return match.group(1)


def table_rows(text: str) -> dict[str, list[str]]:
    """The rows of the Markdown tables in ``text`` whose first cell starts with a `code` name: name -> cells."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\| `([^`]+)`[^|]*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in re.split(r"(?<!\\)\|", match.group(2))]
    return rows


def test_the_commands_table_lists_exactly_the_commands():
    documented = {name.split()[0] for name in table_rows(section("## Commands"))}
    assert documented == set(COMMANDS)


CONFIG_TABLE = table_rows(section("## Configuration reference"))


def test_the_config_reference_lists_exactly_the_keys_config_yaml_takes():
    assert list(CONFIG_TABLE) == config_keys()


def _real_default(key: str):
    """The default the code applies when config.yaml leaves ``key`` out."""
    group, _, name = key.replace("[]", "").partition(".")
    if group == "http":
        return getattr(HttpSettings(), name)
    if group == "sources":
        return getattr(SourceConfig(name="", kind="", url=None), name)
    if group == "datasette":
        return getattr(DatasetteSettings(), name)
    if group == "notify":
        return getattr(NotifySettings(), name)
    return next(f.default for f in fields(Config) if f.name == key)


def _read_documented(text: str, real):
    """A documented default read the way config.yaml's value would be, as the type of the real default."""
    if isinstance(real, tuple):
        return tuple(re.findall(r"[^\[\],\s]+", text))
    if isinstance(real, bool):
        return {"true": True, "false": False}[text]
    if isinstance(real, int):
        return parse_size(text)
    if isinstance(real, float):
        return parse_duration(text)
    return text


DEFAULTED = [key for key, cells in CONFIG_TABLE.items()
             if re.fullmatch(r"`[^`]+`", cells[1]) and "..." not in cells[1]
             and not key.startswith("topics.")]


def test_the_defaults_checked_cover_the_settings():
    assert {"timezone", "http.timeout", "http.max_bytes", "http.retries", "http.respect_robots",
            "sources[].max_items", "sources[].max_depth", "sources[].max_pages", "sources[].revisit_after",
            "datasette.port", "workers"} <= set(DEFAULTED)


@pytest.mark.parametrize("key", DEFAULTED)
def test_documented_defaults_are_the_real_ones(key):
    real = _real_default(key)
    assert _read_documented(CONFIG_TABLE[key][1].strip("`"), real) == real


KINDS_SECTION = section("### Scraper kinds")
KIND_ENTRIES = dict(re.findall(r"^- \*\*`([^`]+)`\*\*(.*?)(?=^- \*\*`|\Z)", KINDS_SECTION, re.M | re.S))


def test_the_kinds_list_holds_exactly_the_registered_kinds():
    assert sorted(KIND_ENTRIES) == registered_kinds()


@pytest.mark.parametrize("kind", registered_kinds())
def test_each_kind_documents_its_own_selectors(kind):
    entry = KIND_ENTRIES.get(kind, "")
    missing = [name for name in sorted(get_kind(kind).select_fields) if f"`{name}`" not in entry]
    assert missing == [], f"the README's entry for {kind} does not name these select fields"


def test_the_database_table_lists_exactly_the_tables(tmp_path):
    store = Store(tmp_path / "news.db", dates.zone("UTC"))
    try:
        tables = {t for t in store.db.table_names() if not t.startswith("items_fts_")}
    finally:
        store.close()
    assert set(table_rows(section("## The database"))) == tables
