"""How values read in Datasette's tables: linked titles, local times, lists; column descriptions folded away.

Everything that comes from the web is escaped here (``markupsafe``) before it is wrapped in markup, and a link is
made only to an ``http(s)`` URL: a title holding ``<script>`` shows as text, a ``javascript:`` URL as text.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from markupsafe import Markup, escape

from db.datasette_plugin.desk import json_list, local_time
from monitor.core import dates

__all__ = ["json_list", "local_time", "render", "zone_of", "folded_column_descriptions"]

DEFAULT_ZONE = "Asia/Shanghai"
KEY_COLUMNS = ("url_key", "title_key", "publisher_key", "core_key")   # identity machinery, not news: hidden
LIST_COLUMNS = ("topics", "sources")
_STORED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)")


def zone_of(config: dict) -> tzinfo:
    try:
        return dates.zone(config.get("timezone") or DEFAULT_ZONE)
    except ValueError:
        return dates.zone(DEFAULT_ZONE)


def is_web_url(value) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def render(row, value, column, table, database, datasette, zone: tzinfo):
    """The cell's HTML, or None to let Datasette show it as it would."""
    keys = set(row.keys()) if hasattr(row, "keys") else set()
    if column == "title" and "url" in keys and isinstance(value, str):
        url = row["url"]
        if is_web_url(url):
            return Markup('<a class="news-title" href="{}">{}</a>').format(url, value)
        return None
    if isinstance(value, str) and _STORED_TIME.fullmatch(value):
        return Markup('<time datetime="{}" title="{}">{}</time>').format(value, value, local_time(value, zone))
    if column in LIST_COLUMNS and table == "items" and isinstance(value, str) and value.startswith("["):
        return Markup(", ").join(escape(name) for name in json_list(value))
    if column == "story_id" and table == "items" and isinstance(value, int):
        href = datasette.urls.database(database) + f"/story?story_id={value}"
        return Markup('<a href="{}">{}</a>').format(href, value)
    return None


async def folded_column_descriptions(datasette, database: str, table: str) -> dict:
    """Template variables that move the column descriptions out of the way: Datasette prints ``metadata.columns``
    above the rows, so the page gets the metadata without them and ``templates/table.html`` shows them in a
    closed ``<details>``; on the items table, with a link to every column, the keys included."""
    metadata = datasette.table_metadata(database, table) or {}
    found: dict = {}
    if metadata.get("columns"):
        found["metadata"] = {k: v for k, v in metadata.items() if k != "columns"}
        found["news_column_descriptions"] = metadata["columns"]
    if table == "items":
        columns = await datasette.get_database(database).table_columns(table)
        found["news_all_columns_query"] = "&".join(f"_col={name}" for name in columns if name != "id")
        found["news_hidden_columns"] = [name for name in KEY_COLUMNS if name in columns]
    return found
