"""Search on the items table: ``?_search=`` (and ``?_search_title=``...) through ``db.search.fts_query``, so 脫貧
finds 脱贫.

The metadata names no ``fts_table`` for items, and Datasette does not find the contentless ``items_fts`` by itself:
its own search filter (``escape_fts``, one token per quoted word) stays out, and this one, a ``filters_from_request``
hook that runs after Datasette's, adds the condition and shows the search box. The URL keeps what the user typed,
so the box, the "search matches" line and every link (next page, facets, CSV, JSON) show and carry it as typed.
``_searchmode=raw`` is not offered: what the user types is always read as words and "quoted phrases".
"""

from __future__ import annotations

from datasette.filters import FilterArguments
from datasette.utils.asgi import BadRequest

from db.search import COLUMNS, fts_query

SEARCH_TABLE = "items_fts"
SEARCHED_TABLE = "items"
_MATCH = f"id IN (SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :{{param}})"


async def search_filter(request, database: str, table: str, datasette) -> FilterArguments | None:
    if table != SEARCHED_TABLE or database not in datasette.databases:
        return None
    if not await datasette.get_database(database).table_exists(SEARCH_TABLE):
        return None
    where, params, described = [], {}, []
    typed = request.args.get("_search", "")
    if typed.strip():
        where.append(_MATCH.format(param="news_search"))
        params["news_search"] = fts_query(typed)
        described.append(f'search matches "{typed}"')
    for key in request.args:
        column = key[len("_search_"):] if key.startswith("_search_") else None
        if column is None or not request.args[key].strip():
            continue
        if column not in COLUMNS:
            raise BadRequest(f"Cannot search by that column (one of {', '.join(COLUMNS)})")
        param = f"news_search_{column}"
        where.append(_MATCH.format(param=param))
        params[param] = f"{{{column}}} : ({fts_query(request.args[key])})"
        described.append(f'search column "{column}" matches "{request.args[key]}"')
        typed = typed or request.args[key]
    return FilterArguments(where, params=params, human_descriptions=described,
                           extra_context={"supports_search": True, "search": typed})
