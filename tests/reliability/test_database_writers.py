"""Two writers on one database (issue 14, point 3): two ``once`` processes at the same time, or ``once`` beside the
service, never fail as ``internal`` and never store an item twice.

Every write takes the write lock first (``BEGIN IMMEDIATE``) and decides identity inside that transaction, so the
second writer's batch waits for the first and then finds its rows. The in-memory story index of a process is dropped
when another process has written (``PRAGMA data_version``), so its items are never missed by near-duplicate
matching either.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from db.store import Store
from monitor.core import dates
from monitor.core.model import Item
from monitor.identity.headlines import headline
from tests.conftest import PROJECT_DIR
from tests.fetch_server import answer
from tests.helpers import write_config
from tests.reliability.dbcheck import database_state
from tests.reliability.feeds import feed

ZONE = dates.zone("Asia/Shanghai")


def once(config: Path, *sources: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once",
                             *sources], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=config.parent)


def test_two_once_processes_storing_overlapping_items_at_once(tmp_path, server):
    """Two processes, each 1,500 items of which 1,000 the other also stores, three rounds at the same moment."""
    server.routes["/a.xml"] = answer(200, feed(range(0, 1500)), {"Content-Type": "application/rss+xml"})
    server.routes["/b.xml"] = answer(200, feed(range(500, 2000)), {"Content-Type": "application/rss+xml"})
    sources = [{"name": name, "kind": "rss", "url": server.url(f"/{name}.xml"), "every": "1h", "max_items": 5000}
               for name in ("a", "b")]
    config = write_config(tmp_path, sources)
    for round_sources in ((("a",), ("b",)), ((), ()), (("b",), ("a",))):
        processes = [once(config, *names) for names in round_sources]
        for process in processes:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0, err
            assert "internal" not in out + err and "Traceback" not in err
            assert ": ok, 1500 items seen" in out
    state = database_state(tmp_path / "news.db")
    assert state["integrity"] == "ok" and state["search"] == "ok"
    assert state["duplicate_url_keys"] == 0
    assert state["counts"]["items"] == 2000          # every item stored, each once
    assert state["counts"]["sightings"] == 8 * 1500   # eight runs of 1,500 items, every sighting kept


def _item(title: str, url: str) -> Item:
    from monitor.core import outlets, urls

    return Item(title=title, seen_title=title, url=url, url_key=urls.canonical_url(url),
                title_key=outlets.title_key(title, None), published_at="2024-05-15T08:00:00+08:00")


def test_a_near_duplicate_stored_by_another_process_is_found(tmp_path):
    """The first store's in-memory story window is loaded; another connection (another process) stores a headline;
    a near-duplicate of it then comes to the first store: it joins that story instead of founding its own."""
    path = tmp_path / "news.db"
    first, other = Store(path, ZONE), Store(path, ZONE)
    try:
        first.save_items([_item("國務院召開常務會議 部署推進鄉村振興重點工作", "http://a.example/1")], source="a",
                         run_id=None)
        assert first.story_index._cache is not None    # the window is in memory from now on
        stored = other.save_items([_item("多地出台新措施 鞏固拓展脫貧攻堅成果同鄉村振興有效銜接",
                                         "http://b.example/1")], source="b", run_id=None)
        near = "多地出台新措施鞏固拓展脫貧攻堅成果 同鄉村振興有效銜接工作"
        assert headline(near).key != headline("多地出台新措施 鞏固拓展脫貧攻堅成果同鄉村振興有效銜接").key
        joined = first.save_items([_item(near, "http://c.example/1")], source="c", run_id=None)
        rows = first.conn.execute("SELECT id, story_id, story_matched_by FROM items ORDER BY id").fetchall()
    finally:
        first.close()
        other.close()
    assert joined.new == 1
    story_of = {row["id"]: row["story_id"] for row in rows}
    assert story_of[joined.item_ids[0]] == story_of[stored.item_ids[0]]
