"""Search on the items table: ``?_search=`` through ``db.search.fts_query``, so 脫貧 finds 脱贫.

The metadata names no ``fts_table`` for items, and Datasette does not find the contentless ``items_fts`` by itself:
its own search filter (``escape_fts``, one token per quoted word) stays out, and this one, a ``filters_from_request``
hook that runs after Datasette's, adds the condition and shows the search box. The URL keeps what the user typed,
so the box, the "search matches" line and every link (next page, facets, CSV, JSON) show and carry it as typed.
``_searchmode=raw`` is not offered: what the user types is always read as words and "quoted phrases".
"""

from __future__ import annotations

from datasette.filters import FilterArguments

from db.search import fts_query

SEARCH_TABLE = "items_fts"
SEARCHED_TABLE = "items"


async def search_filter(request, database: str, table: str, datasette) -> FilterArguments | None:
    if table != SEARCHED_TABLE or database not in datasette.databases:
        return None
    if not await datasette.get_database(database).table_exists(SEARCH_TABLE):
        return None
    typed = request.args.get("_search", "")
    context = {"supports_search": True, "search": typed}
    if not typed.strip():
        return FilterArguments([], extra_context=context)
    return FilterArguments(
        [f"id IN (SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :news_search)"],
        params={"news_search": fts_query(typed)},
        human_descriptions=[f'search matches "{typed}"'],
        extra_context=context,
    )
