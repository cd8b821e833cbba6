"""What a table page opens with, set where Datasette takes it: the URL's query string (ASGI middleware).

* The items table opens without the identity key columns (``cells.KEY_COLUMNS``, as ``_nocol``), unless the URL
  chooses columns itself (``_col`` or ``_nocol``; the page's column notes link to every column).
* A streamed CSV (``?_stream=on``) of a table the metadata sorts (newest first) comes in ``id`` order unless the URL
  sorts it: Datasette reads each 1,000-row page after the last by its sort column, and with a filter on that column
  (the news desk's date range) SQLite answers that by sorting every remaining row, 0.3 s a page at a million items;
  by ``id`` each page is a range of the primary key. Every row comes once either way (the sort indexes, schema 9).
* A streamed CSV reads ``max_returned_rows`` rows at a time (``_size=max``) unless the URL sets ``_size``: Datasette
  0.65 means to, but reads pages of ``default_page_size`` rows (50 here), so a million rows took 20,000 queries and
  permission checks.
* ``_facet=publisher`` on a table whose metadata already facets by publisher would show that facet twice
  (Datasette 0.65 lists the metadata's facets and the URL's side by side): the repeat is dropped.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from db.datasette_plugin.cells import KEY_COLUMNS

_TABLE_PAGE = re.compile(r"^/(?P<database>[^/.]+)/(?P<table>[^/.]+)(?P<format>\.json|\.csv)?$")


def table_page_defaults(datasette):
    def wrap(app):
        async def wrapped(scope, receive, send):
            match = _TABLE_PAGE.match(scope.get("path", "")) if scope.get("type") == "http" else None
            if match:
                query = scope.get("query_string", b"").decode("latin-1")
                rewritten = rewrite_query(query, match["table"], match["format"] is None,
                                          datasette.table_metadata(match["database"], match["table"]) or {},
                                          csv=match["format"] == ".csv")
                if rewritten != query:
                    scope = dict(scope, query_string=rewritten.encode("latin-1"))
            await app(scope, receive, send)

        return wrapped

    return wrap


def rewrite_query(query: str, table: str, is_html: bool, table_metadata: dict, *, csv: bool = False) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    keep = [(key, value) for key, value in pairs if not _repeats_a_default_facet(key, value, table_metadata)]
    chosen = {key for key, _ in keep}
    streamed = csv and ("_stream", "on") in keep
    if streamed and not chosen & {"_sort", "_sort_desc"} \
            and table_metadata.get("sort_desc") and "id" in table_metadata.get("columns", {}):
        keep.append(("_sort", "id"))
    if streamed and "_size" not in chosen:
        keep.append(("_size", "max"))
    if table == "items" and is_html and "_col" not in chosen and "_nocol" not in chosen:
        keep += [("_nocol", name) for name in KEY_COLUMNS]
    if keep == pairs:
        return query
    return urlencode(keep)


def _repeats_a_default_facet(key: str, value: str, table_metadata: dict) -> bool:
    if key == "_facet":
        kind = "column"
    elif key.startswith("_facet_"):
        kind = key[len("_facet_"):]
    else:
        return False
    for facet in table_metadata.get("facets", []):
        if isinstance(facet, str) and kind == "column" and facet == value:
            return True
        if isinstance(facet, dict) and facet.get(kind) == value:
            return True
    return False
