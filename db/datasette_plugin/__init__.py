"""Datasette plug-in (entry point ``news_monitor``): what a reader sees when Datasette publishes the monitor's file.

Installed with the package, so ``datasette data/news.db`` gets all of it too:

* search on the items table in either script (``search_filter.py``, ``db/search.py``): the file itself needs
  nothing of ours (plain Datasette opens it), only the folding of the query does;
* the news desk on the database page (``desk.py``, ``templates/database.html``), ``/`` leading to it; story pages
  (the ``story`` canned query, ``templates/query.html``);
* cells shown for reading (``cells.py``): titles linked to their URL, times in the configured zone; the items
  table without its internal key columns unless asked, column descriptions folded away (``templates/table.html``);
* facets of a whole table from the counts the store keeps (``facets.py``, ``db/facet_counts.py``);
* the dashboard at ``/-/dashboards/news`` (``dashboard.py``), the ``.atom`` format (``atom.py``), CSV with the
  spreadsheet-formula guard (``csv_guard.py``), the ``health`` report as JSON at ``/-/news-health.json`` (503 when
  a source needs attention, for monitoring), and ``/robots.txt`` disallowing crawling.

Settings come from the metadata's ``plugins.news-monitor`` block (``db.metadata.datasette_metadata``): the
timezone times are shown in.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils.asgi import Response

from db.datasette_plugin import cells
from db.datasette_plugin.atom import atom_document, can_render_atom
from db.datasette_plugin.csv_guard import guard_csv
from db.datasette_plugin.dashboard import DEFAULT_DAYS, dashboard
from db.datasette_plugin.desk import news_desk, read_values
from db.datasette_plugin.facets import with_kept_counts
from db.datasette_plugin.search_filter import search_filter
from db.datasette_plugin.table_defaults import table_page_defaults
from db.health_report import health_report
from db.search import register_search_tokenizer, uses_legacy_tokenizer

PLUGIN = "news-monitor"
ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


# Datasette's connections read the file through a memory mapping (SQLite's mmap_size; its builds cap it at 2 GiB):
# a search or a filtered facet reads tens of thousands of rows scattered over the file, and a mapped page costs no
# system call and no copy (a search page at 1,000,000 items: 375 -> 267 ms). The pages are the operating system's
# file cache, counted in Datasette's resident memory as shared, not its own.
READ_MMAP_BYTES = 2 * 1024 ** 3


@hookimpl
def prepare_connection(conn):
    conn.execute(f"PRAGMA mmap_size = {READ_MMAP_BYTES}")
    if uses_legacy_tokenizer(conn):      # a file from before schema 8, not yet upgraded by the monitor
        register_search_tokenizer(conn)


@hookimpl(trylast=True)     # after Datasette's own search filter: its extra context is overridden by ours
def filters_from_request(request, database, table, datasette):
    return search_filter(request, database, table, datasette)


@hookimpl(hookwrapper=True)
def register_facet_classes():
    """Datasette's column and array facets answer a whole table from the kept counts (``facets.py``)."""
    outcome = yield
    outcome.force_result(with_kept_counts(outcome.get_result()))


@hookimpl
def register_routes():
    return [
        (r"^/$", index_to_news_desk),
        (r"^/robots\.txt$", robots_txt),
        (r"^/-/dashboards/news$", dashboard_page),
        (r"^/-/news-health\.json$", health_page),
    ]


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: guard_csv(table_page_defaults(datasette)(app))


@hookimpl
def register_output_renderer(datasette):
    return {"extension": "atom", "render": render_atom, "can_render": can_render_atom}


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins("news_monitor", "news.css")]


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    return cells.render(row, value, column, table, database, datasette, _zone(datasette))


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def extra():
        zone = _zone(datasette)
        found = {"news_time": lambda text: cells.local_time(text, zone), "news_list": cells.json_list,
                 "news_dashboard_url": datasette.urls.path("-/dashboards/news")}
        if view_name == "database" and request is not None and await _is_news(datasette, database):
            values = read_values(request.args)
            before = request.args.get("before")
            found["news_desk"] = await datasette.get_database(database).execute_fn(
                lambda conn: news_desk(conn, values, before, zone))
            found["news_atom_url"] = datasette.urls.database(database) + "/new_items.atom"
        if view_name == "table" and table:
            found.update(await cells.folded_column_descriptions(datasette, database, table))
        return found

    return extra


async def index_to_news_desk(datasette, request):
    name = await _news_database(datasette)
    if name is None:
        return Response.text("No news-monitor database is served here (see /-/databases)", status=404)
    return Response.redirect(datasette.urls.database(name))


async def robots_txt():
    return Response.text(ROBOTS_TXT)


async def dashboard_page(datasette, request):
    name = await _news_database(datasette)
    if name is None:
        return Response.text("No news-monitor database is served here", status=404)
    await datasette.ensure_permissions(request.actor, [("view-database", name), "view-instance"])
    days = request.args.get("days", "")
    zone = _zone(datasette)
    board = await datasette.get_database(name).execute_fn(
        lambda conn: dashboard(conn, zone, int(days) if days.isdigit() else DEFAULT_DAYS))
    return Response.html(await datasette.render_template(
        "news_dashboard.html", {"board": board, "database": name}, request=request))


async def health_page(datasette, request):
    """The ``health`` command's report as JSON (``db.health_report``): the sources the service last synced."""
    name = await _news_database(datasette)
    if name is None:
        return Response.json({"error": "no news-monitor database is served here"}, status=404)
    await datasette.ensure_permissions(request.actor, [("view-database", name), "view-instance"])
    db = datasette.get_database(name)
    report = await db.execute_fn(lambda conn: health_report(conn, db.path).as_dict())
    return Response.json(report, status=200 if report["healthy"] else 503)


async def render_atom(datasette, request, database, rows, columns, query_name):
    title = "news-monitor"
    if query_name:
        query = await datasette.get_canned_query(database, query_name, request.actor)
        title = (query or {}).get("title") or query_name
    topic = request.args.get("topic")
    if topic:
        title += f": {topic}"
    self_url = datasette.absolute_url(request, request.full_path)
    body = atom_document(feed_id=self_url, title=title, self_url=self_url,
                         alternate_url=datasette.absolute_url(request, datasette.urls.database(database)),
                         rows=[dict(zip(columns, row, strict=True)) for row in rows])
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def _zone(datasette):
    return cells.zone_of(datasette.plugin_config(PLUGIN) or {})


async def _is_news(datasette, database: str | None) -> bool:
    if not database:
        return False
    try:
        db = datasette.get_database(database)
    except KeyError:
        return False
    return await db.table_exists("items") and await db.table_exists("stories")


async def _news_database(datasette) -> str | None:
    """The first database served that is a news-monitor one (items and stories tables)."""
    for name in datasette.databases:
        if not name.startswith("_") and await _is_news(datasette, name):
            return name
    return None
