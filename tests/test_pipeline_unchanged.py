"""The same bytes again from a server that sends no validators (issue 12): not parsed, yet every item is seen
again as a re-read would see it (a sighting per item with the same URL, title and rule, ``last_seen_at`` of the
item and its story moved, the run ``ok`` with its items counted). Changed bytes, a changed way of reading them,
rows removed by hand, a page with items left out and a lower cap are read in full."""

from __future__ import annotations

import sqlite3

import pytest
from werkzeug import Request, Response

from scrapers import Kind, get_kind
from scrapers.registry import _REGISTRY
from tests.conftest import OWN_FIXTURES

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
NEW_ITEM = ("<item><title>新增一条 脱贫攻坚</title><link>http://news.example.cn/new.html</link></item>"
            "</channel>").encode()
UNTITLED = "<item><title>——！</title><link>http://news.example.cn/untitled.html</link></item></channel>".encode()

PARSED: list[str] = []   # the URL of each page the kind below parsed


def _counting_rss(page, options):
    PARSED.append(page.url)
    return get_kind("rss").scrape(page, options)


@pytest.fixture(autouse=True)
def counting_kind(monkeypatch):
    """The rss kind, registered for these tests only as a plug-in that says when it parses."""
    monkeypatch.setitem(_REGISTRY, "test-counting-rss", Kind("test-counting-rss", scrape=_counting_rss))


def serve_without_validators(httpserver, bodies: list[bytes]) -> None:
    """Serve ``bodies[0]`` at /feed.xml with no ETag or Last-Modified (a test may change it between runs)."""
    def handler(request: Request) -> Response:
        return Response(bodies[0], status=200, headers={"Content-Type": "application/rss+xml"})

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)


def source(httpserver, **more) -> dict:
    return {"name": "feed", "kind": "test-counting-rss", "url": httpserver.url_for("/feed.xml"), "every": "15m",
            **more}


def sightings(monitor, run_id: int) -> list[tuple]:
    return [tuple(row) for row in monitor.store.conn.execute(
        "SELECT item_id, url, title, matched_by FROM sightings WHERE run_id = ? ORDER BY id", (run_id,))]


def parses() -> int:
    return len(PARSED)


def test_identical_bytes_are_seen_again_without_a_parse(httpserver, monitor_for):
    serve_without_validators(httpserver, [FEED])
    monitor = monitor_for([source(httpserver)])
    before = parses()
    (first,) = monitor.run_once()
    (second,) = monitor.run_once()
    assert parses() - before == 1, "the same bytes were parsed again"
    assert (first.status, first.items_seen, first.items_new) == ("ok", 4, 4)
    assert (second.status, second.http_status, second.items_seen, second.items_new) == ("ok", 200, 4, 0)
    assert second.line() == "feed: ok, 4 items seen, 0 new"
    # The sightings a re-read records: the same items, URLs and titles, found by their URL.
    again = sightings(monitor, second.run_id)
    assert [(item, url, title) for item, url, title, _ in again] == \
        [(item, url, title) for item, url, title, _ in sightings(monitor, first.run_id)]
    assert {rule for *_, rule in again} == {"url"}
    seen_at = monitor.store.conn.execute("SELECT max(seen_at) FROM sightings WHERE run_id = ?",
                                         (second.run_id,)).fetchone()[0]
    conn = monitor.store.conn
    assert {row[0] for row in conn.execute("SELECT last_seen_at FROM items")} == {seen_at}
    assert {row[0] for row in conn.execute("SELECT last_seen_at FROM stories")} == {seen_at}
    run = conn.execute("SELECT status, items_seen, items_new, encoding FROM runs WHERE id = ?",
                       (second.run_id,)).fetchone()
    assert tuple(run) == ("ok", 4, 0, "utf-8")

    (third,) = monitor.run_once()           # and again: the sightings of the last run are the ones repeated
    assert parses() - before == 1 and third.items_seen == 4
    assert [row[:3] for row in sightings(monitor, third.run_id)] == [row[:3] for row in again]


def test_changed_bytes_are_read_in_full(httpserver, monitor_for):
    bodies = [FEED]
    serve_without_validators(httpserver, bodies)
    monitor = monitor_for([source(httpserver)])
    before = parses()
    monitor.run_once()
    bodies[0] = FEED.replace(b"</channel>", NEW_ITEM)
    (second,) = monitor.run_once()
    assert parses() - before == 2
    assert (second.status, second.items_seen, second.items_new) == ("ok", 5, 1)
    bodies[0] = FEED                         # back to the first version: its digest is no longer the last one
    (third,) = monitor.run_once()
    assert parses() - before == 3 and (third.items_seen, third.items_new) == (4, 0)


def test_an_unchanged_page_is_read_again_when_the_way_of_reading_it_changed(httpserver, monitor_for):
    serve_without_validators(httpserver, [FEED])
    monitor = monitor_for([source(httpserver)])
    before = parses()
    monitor.run_once()
    monitor.close()
    other_topics = {"rural": {"any": ["乡村振兴"]}}
    again = monitor_for([source(httpserver)], topics=other_topics)   # other topic rules: other labels to record
    (second,) = again.run_once()
    assert parses() - before == 2 and second.items_seen == 4
    assert again.store.conn.execute("SELECT count(*) FROM item_topics WHERE topic = 'rural'").fetchone()[0] == 1


def test_rows_removed_by_hand_make_the_page_read_in_full(httpserver, monitor_for, tmp_path):
    serve_without_validators(httpserver, [FEED])
    monitor = monitor_for([source(httpserver)])
    before = parses()
    (first,) = monitor.run_once()
    plain = sqlite3.connect(tmp_path / "news.db")
    with plain:
        plain.execute("DELETE FROM sightings WHERE run_id = ? AND id = (SELECT max(id) FROM sightings)",
                      (first.run_id,))
    plain.close()
    (second,) = monitor.run_once()
    assert parses() - before == 2 and (second.items_seen, second.items_new) == (4, 0)


def test_a_page_with_items_left_out_is_read_every_time(httpserver, monitor_for):
    serve_without_validators(httpserver, [FEED.replace(b"</channel>", UNTITLED)])
    monitor = monitor_for([source(httpserver)])
    before = parses()
    (first,) = monitor.run_once()
    (second,) = monitor.run_once()
    assert parses() - before == 2      # its note (an item without a usable title) is the parse's to make
    assert "no usable title" in (first.note or "") and "no usable title" in (second.note or "")

    capped = monitor_for([source(httpserver, name="capped", max_items=2)])
    capped_before = parses()
    results = [capped.run_once(["capped"])[0] for _ in range(2)]
    assert parses() - capped_before == 2
    assert all(result.items_seen == 2 and "max_items=2 reached" in result.note for result in results)


def test_a_lower_cap_than_the_page_gave_reads_it_in_full(httpserver, monitor_for):
    serve_without_validators(httpserver, [FEED])
    monitor = monitor_for([source(httpserver)])
    before = parses()
    monitor.run_once()
    monitor.close()
    lower = monitor_for([source(httpserver, max_items=3)])
    (second,) = lower.run_once()
    assert parses() - before == 2
    assert second.items_seen == 3 and "max_items=3 reached: 1 more items" in second.note
