"""Datasette plug-in (entry point ``news_monitor``): registers the search tokenizer on every connection.

Installed with the package, so ``datasette data/news.db`` searches items in either script too.
"""

from datasette import hookimpl

from db.search import register_search_tokenizer


@hookimpl
def prepare_connection(conn):
    register_search_tokenizer(conn)
