"""Hostile content through the real pipeline (local server -> fetcher -> kind -> prepare -> store): entity bombs and
external entities, text SQLite cannot store, impossible dates, pathological JSON, and URL tricks that hide a local
address. Each run ends as a recorded run (never ``internal``), nothing secret or huge is stored, and nothing stored
is lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db.search import register_search_tokenizer
from monitor.core.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.settings import HttpSettings
from tests.fetch_server import answer, serve
from tests.helpers import write_config

RSS = {"Content-Type": "application/rss+xml"}
JSON = {"Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parents[2]


def feed(title_xml: str, *, doctype: str = "", published: str = "Tue, 15 Dec 2020 10:00:00 +0800",
         tag: str = "x") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel><title>t</title>'
            f"<link>http://{tag}.example/</link>"
            f"<item><title>{title_xml}</title><link>http://{tag}.example/1</link><pubDate>{published}</pubDate></item>"
            f"<item><title>second item</title><link>http://{tag}.example/2</link></item></channel></rss>").encode()


def run(monitor_for, server, routes: dict[str, tuple[bytes, dict]], **select):
    sources = []
    for path, (body, headers) in routes.items():
        server.routes[path] = answer(200, body, headers)
        kind = "json" if path.endswith(".json") else "rss"
        source = {"name": path.strip("/").split(".")[0], "kind": kind, "url": server.url(path), "every": "1h"}
        if kind == "json":
            source["select"] = {"item": "list", "title": "title", "link": "url", "published": "time", **select}
        sources.append(source)
    monitor = monitor_for(sources)
    results = {result.source: result for result in monitor.run_once()}
    conn = sqlite3.connect(monitor.config.database)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running' OR error_class = 'internal'"
                        ).fetchone()[0] == 0
    return results, conn


def everything_stored(conn: sqlite3.Connection) -> str:
    register_search_tokenizer(conn)
    return "\n".join(conn.iterdump())


def test_entity_bombs_and_external_entities_expand_nothing_and_reach_nothing(monitor_for, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711", encoding="utf-8")
    lol = '<!ENTITY lol0 "lol">' + "".join(
        '<!ENTITY lol{} "{}">'.format(i, f"&lol{i - 1};" * 10) for i in range(1, 10))
    with serve() as server:
        server.routes["/leak"] = answer(200, b"LEAKED-BY-URL")
        results, conn = run(monitor_for, server, {
            "/laughs.xml": (feed("&lol9;", doctype=f"<!DOCTYPE rss [{lol}]>", tag="a"), RSS),
            "/xxefile.xml": (feed("a &xxe; b", doctype=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>',
                                  tag="b"), RSS),
            "/xxeurl.xml": (feed("c &xxe; d", doctype=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{server.url("/leak")}">]>',
                                 tag="c"), RSS),
            "/xxeparam.xml": (feed("e", doctype=f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{server.url("/leak")}"> %p;]>',
                                   tag="d"), RSS),
        })
        paths = server.paths()
    assert "/leak" not in paths, "an external entity made a request"
    stored = everything_stored(conn)
    assert "TOPSECRET" not in stored and "LEAKED" not in stored
    assert "lol" * 1000 not in stored
    assert max(length for (length,) in conn.execute("SELECT length(title) FROM items")) <= 500
    assert all(result.status in ("ok", "error") for result in results.values())


def test_text_sqlite_cannot_store_is_cleaned_not_a_crash(monitor_for):
    with serve() as server:
        results, conn = run(monitor_for, server, {
            "/refs.xml": (feed("bad &#xD800; ref and a control\x01character", tag="e"), RSS),
            "/manyrefs.xml": (feed("&#xD800;&#0;&#x110000;&#xDFFF;", tag="e2"), RSS),
            "/lone.json": (b'{"list": [{"title": "lone \\ud800 surrogate \\u0001 ctrl", "url": "http://f.example/1"},'
                           b' {"title": "fine", "url": "http://f.example/2"}]}', JSON),
        })
    assert results["refs"].status == "ok" and results["lone"].status == "ok", results
    # A title of nothing but bad references is garbled text: refused as such (recorded), never a crash.
    assert results["manyrefs"].status == "ok" or results["manyrefs"].error_class == "encoding"
    titles = {title for (title,) in conn.execute("SELECT title FROM items")}
    assert "lone \ufffd surrogate ctrl" in titles
    assert any(title.startswith("bad \ufffd ref") for title in titles), titles
    assert not any(ch < " " for title in titles for ch in title)


@pytest.mark.parametrize("published", ["Fri, 31 Dec 9999 23:59:59 +0000", "Thu, 01 Jan 1970 00:00:00 +0000",
                                       "Tue, 15 Dec 2099 10:00:00 +0800", "Mon, 01 Jan 0001 00:00:00 +0000"])
def test_impossible_or_far_dates_store_the_item(monitor_for, published):
    with serve() as server:
        results, conn = run(monitor_for, server, {"/dated.xml": (feed("a dated headline", published=published,
                                                                      tag="g"), RSS)})
    assert results["dated"].status == "ok", results["dated"].line()
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 2
    # A second run of the same feed finds the same rows (identity and its window cope with the date).
    assert conn.execute("SELECT count(DISTINCT url_key) FROM items").fetchone()[0] == 2


def test_pathological_json_is_a_recorded_run(monitor_for):
    deep = b'{"list": [{"title": "x", "url": "http://h.example/1", "n": ' + b"[" * 10000 + b"]" * 10000 + b"}]}"
    with serve() as server:
        results, conn = run(monitor_for, server, {"/deep.json": (deep, JSON)})
    assert results["deep"].status == "error" and results["deep"].error_class == "not_json"


HUGE_NUMBERS = (b'{"list": [{"title": "huge time", "url": "http://h.example/2", "time": 1e400},'
                b' {"title": 1e400, "url": "http://h.example/3", "time": -1e400}]}')
PARSE_TIMEOUT_S = 30   # about a second is enough; a reading that never ends is killed here and fails the test


def test_json_numbers_beyond_a_float_are_read_in_bounded_time(tmp_path):
    """1e400 is infinity to the JSON reader; a timestamp loop that divides it never ends. Run by ``once`` in a
    child process with a timeout, so a regression fails this test instead of hanging the suite."""
    with serve() as server:
        server.routes["/huge.json"] = answer(200, HUGE_NUMBERS, JSON)
        select = {"item": "list", "title": "title", "link": "url", "published": "time"}
        config = write_config(tmp_path, [{"name": "huge", "kind": "json", "url": server.url("/huge.json"),
                                          "every": "1h", "select": select}])
        command = [sys.executable, str(ROOT / "run_monitor.py"), "--config", str(config), "once"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PARSE_TIMEOUT_S, cwd=ROOT)
        except subprocess.TimeoutExpired:   # subprocess.run has killed the child
            pytest.fail(f"once did not finish reading numbers beyond a float within {PARSE_TIMEOUT_S} s")
    assert done.returncode == 0 and "huge: ok, 2 items seen" in done.stdout, done.stdout + done.stderr
    conn = sqlite3.connect(tmp_path / "news.db")
    assert conn.execute("SELECT count(*) FROM items WHERE published_at IS NULL").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running' OR error_class = 'internal'"
                        ).fetchone()[0] == 0


@pytest.mark.parametrize("trick", ["http://{local}\\@example.com/feed.xml", "http://example.com@{local}/feed.xml",
                                   "http://{local}#@example.com/feed.xml", "http://{local}?@example.com/",
                                   "http://example.com:80@{local}/feed.xml"])
def test_a_link_hiding_a_local_address_is_refused_before_any_request(trick):
    with serve() as server:
        server.routes["/feed.xml"] = answer(200, b"<rss/>", RSS)
        url = trick.format(local=f"127.0.0.1:{server.server_port}")
        settings = HttpSettings(timeout=3.0, retries=0, per_host_delay=0.0, allow_private_networks=False)
        with Fetcher(settings) as fetcher, pytest.raises(FetchError) as refused:
            fetcher.fetch(url, configured=False)      # a link found on a page, or a redirect target
        assert refused.value.error_class == "blocked_address"
        assert server.paths() == []
