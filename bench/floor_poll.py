"""The floor of a poll: a bare process that fetches a feed, parses it with lxml and ``executemany``s its items.

No folding, no identity, no search index: the least any tool can do with the same bytes. ``bench/run.py`` runs it
as a whole process beside ``run_monitor.py once``; given ``--etag`` it sends ``If-None-Match`` and stops at a 304.

    python bench/floor_poll.py DATABASE URL [--etag ETAG]
"""

import sqlite3
import sys
import urllib.error
import urllib.request

from lxml import etree


def main(database: str, url: str, etag: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return 0
        raise
    root = etree.fromstring(body)
    rows = [(item.findtext("link"), item.findtext("title"), item.findtext("description"), item.findtext("pubDate"))
            for item in root.iterfind("channel/item")]
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items "
                     "(link TEXT PRIMARY KEY, title TEXT, summary TEXT, published TEXT)")
        conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?) ON CONFLICT (link) DO UPDATE SET "
                         "title = excluded.title, summary = excluded.summary, published = excluded.published", rows)
    conn.close()
    return 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    etag = None
    if "--etag" in arguments:
        at = arguments.index("--etag")
        etag = arguments[at + 1]
        del arguments[at:at + 2]
    sys.exit(main(*arguments, etag=etag))
