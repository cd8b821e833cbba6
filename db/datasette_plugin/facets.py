"""Facets of a whole table read from the counts the store keeps (``db/facet_counts.py``), not from every row.

Datasette's column and array facets are replaced (``register_facet_classes`` wrapper in the plug-in) by subclasses
that answer a facet of an unfiltered table page from ``facet_counts`` when the column is one of
``db.facet_counts.COUNTED``: at a million items that is a read of a few dozen rows instead of a scan of every row,
which timed out. Any filter, search or page after the first (Datasette facets the rows its query selects), any other
column, or a file without ``facet_counts`` is faceted by Datasette itself, as before, except the kept array columns:
their filtered facet counts each row's values without Datasette's deduplication of whole rows (the same counts,
several times faster on a search's thousands of rows). The answer has the form Datasette's own facets give (values,
counts, toggle links), so pages, JSON and templates see no difference.
"""

from __future__ import annotations

from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from db.facet_counts import counted


class KeptCounts:
    """The shared part: which configs the kept counts answer, and the answer."""

    _only = None      # the configs Datasette's own facet_results is to answer (None: all of them)

    async def facet_results(self):
        whole = await self._counts_apply()
        ours, theirs = [], []
        for source_and_config in super().get_configs():
            entry = counted(self.table, _column(source_and_config))
            mine = entry is not None and entry.kind == self._kind and (whole or self._kind == "array")
            (ours if mine else theirs).append(source_and_config)
        results, timed_out = [], []
        if theirs:
            self._only = theirs
            try:
                results, timed_out = await super().facet_results()
            finally:
                self._only = None
        size = self.get_facet_size()
        for source_and_config in ours:
            column = _column(source_and_config)
            try:
                rows = await (self._kept_rows(column, size) if whole else self._array_rows(column, size))
            except QueryInterrupted:
                timed_out.append(column)
                continue
            results.append(self._facet(source_and_config, rows, size))
        return results, timed_out

    def get_configs(self):
        return self._only if self._only is not None else super().get_configs()

    async def _counts_apply(self) -> bool:
        """An unfiltered table page (no WHERE, no parameters) of a file that keeps the counts."""
        if not self.table or self.params:
            return False
        tail = self.sql.rsplit(" from ", 1)[-1].strip()
        if tail != escape_sqlite(self.table):
            return False
        return await self.ds.get_database(self.database).table_exists("facet_counts")

    async def _kept_rows(self, column: str, size: int) -> list:
        return (await self.ds.execute(
            self.database,
            "SELECT value, rows AS count FROM facet_counts WHERE table_name = :table AND column_name = :column "
            "AND rows > 0 ORDER BY rows DESC, value LIMIT :limit",
            {"table": self.table, "column": column, "limit": size + 1},
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )).rows

    async def _array_rows(self, column: str, size: int) -> list:
        """A filtered page's array facet: each row's values once, as Datasette's, without deduplicating whole rows
        (Datasette's ``SELECT DISTINCT value, inner.*`` sorts every selected row with all its columns); the kept
        tables' rows are told apart by ``id``."""
        values = escape_sqlite(column)
        sql = (f"SELECT value, count(*) AS count FROM (SELECT DISTINCT selected.id, j.value FROM "
               f"({self.sql}) AS selected, "
               f"json_each(CASE WHEN json_valid(selected.{values}) THEN selected.{values} ELSE '[]' END) AS j) "
               f"GROUP BY value ORDER BY count DESC, value LIMIT {size + 1}")
        return (await self.ds.execute(self.database, sql, self.params, truncate=False,
                                      custom_time_limit=self.ds.setting("facet_time_limit_ms"))).rows

    def _facet(self, source_and_config, rows, size: int) -> dict:
        """Datasette's form of a facet: its values with counts and the links that add or remove each as a filter."""
        column = _column(source_and_config)
        values = []
        pairs = self.get_querystring_pairs()
        argument = self._argument(column)
        for row in rows[:size]:
            value = str(row["value"])
            selected = (argument, value) in pairs
            toggle = (path_with_removed_args(self.request, {argument: value}) if selected
                      else path_with_added_args(self.request, {argument: value}))
            values.append({"value": row["value"] if self._kind == "column" else value, "label": value,
                           "count": row["count"], "toggle_url": self.ds.absolute_url(self.request, toggle),
                           "selected": selected})
        facet_argument = "_facet" if self._kind == "column" else "_facet_array"
        return {"name": column, "type": self.type, "hideable": source_and_config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {facet_argument: column})),
                "results": values, "truncated": len(rows) > size}


def _column(source_and_config) -> str:
    config = source_and_config["config"]
    return config.get("column") or config["simple"]


class KeptColumnFacet(KeptCounts, ColumnFacet):
    _kind = "column"

    @staticmethod
    def _argument(column: str) -> str:
        return f"{column}__exact" if column.startswith("_") else column


class KeptArrayFacet(KeptCounts, ArrayFacet):
    _kind = "array"

    @staticmethod
    def _argument(column: str) -> str:
        return f"{column}__arraycontains"


REPLACEMENTS = {ColumnFacet: KeptColumnFacet, ArrayFacet: KeptArrayFacet}


def with_kept_counts(facet_classes: list[list[type]]) -> list[list[type]]:
    """The facet classes the plug-ins registered, Datasette's column and array facets replaced by ours."""
    return [[REPLACEMENTS.get(klass, klass) for klass in classes] for classes in facet_classes]
