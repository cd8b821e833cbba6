"""Memory does not grow with every new item: the service's caches have bounds (identity's in-memory window, the
headline and key caches), and what the window keeps per item is small. ``bench/soak.py`` shows the flat curve."""

from __future__ import annotations

import gc
import random
import tracemalloc
from datetime import datetime

import pytest

from db import story_index
from db.store import Store
from monitor.core import dates
from monitor.core.model import RawItem
from monitor.identity import headlines, keys
from monitor.prepare.normalise import normalise

ZONE = dates.zone("Asia/Shanghai")
CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
         "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
         "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
         "或但质气第向道命此变条只没结解问意建月公无")


def titles(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(CHARS) for _ in range(rnd.randint(14, 26))) for _ in range(count)]


def batch(store: Store, texts: list[str], first: int) -> None:
    now = datetime.now(ZONE)
    items = [normalise(RawItem(title=t, url=f"http://example.com/{first + i}", published=now), ZONE)
             for i, t in enumerate(texts)]
    store.save_items(items, source="test", run_id=None)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "news.db", ZONE)
    yield store
    store.close()


def test_the_identity_caches_have_bounds(store):
    for text in titles(headlines.HEADLINE_CACHE_SIZE + 500, seed=1):
        keys.band_keys(headlines.headline(text).tokens)
    assert headlines.headline.cache_info().currsize <= headlines.HEADLINE_CACHE_SIZE <= 4096
    assert keys.band_keys.cache_info().currsize <= keys.BAND_KEYS_CACHE_SIZE <= 4096
    assert keys._token_slot.cache_info().maxsize <= 1 << 15


def test_the_window_never_holds_more_items_than_its_bound_and_is_not_reloaded_for_every_item(store, monkeypatch):
    monkeypatch.setattr(story_index, "WINDOW_CACHE_MAX_ITEMS", 40)
    loads = []
    original = story_index.StoryIndex._load
    monkeypatch.setattr(story_index.StoryIndex, "_load", lambda self, *a: (loads.append(a), original(self, *a)))
    texts = titles(120, seed=2)
    for start in range(0, 100, 10):
        batch(store, texts[start:start + 10], start)
        cache = store.story_index._cache
        assert cache is None or len(cache) <= 40
    assert store.story_index._cache is None, "over its bound, the window is given up (story_keys answers)"
    assert len(loads) <= 2, f"the window was loaded {len(loads)} times"
    # Identity still finds a stored item's near-duplicate, through story_keys.
    reworded = normalise(RawItem(title=texts[5] + "发布会", url="http://other.example/1",
                                 published=datetime.now(ZONE)), ZONE)
    decided = store.identify([reworded])[0]
    first = store.conn.execute("SELECT story_id FROM items WHERE url = 'http://example.com/5'").fetchone()[0]
    assert decided.story_id == first


def test_what_a_stored_item_keeps_in_memory_is_small(store):
    """Python memory held after storing 1,500 new items, the identity caches already full: under 3 KB an item (it
    was about 16 KB: each item's row and bigram set in the window, and caches of 50,000 headlines)."""
    tracemalloc.start()       # from the start: what the caches drop must be counted as freed
    try:
        for text in titles(headlines.HEADLINE_CACHE_SIZE + 100, seed=3):
            keys.band_keys(headlines.headline(text).tokens)
        texts = titles(1700, seed=4)
        batch(store, texts[:200], 0)            # the window is loaded, the statements prepared
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        mapped = store.story_index._cache.mapped_bytes()
        for start in range(200, 1700, 50):
            batch(store, texts[start:start + 50], start)
        gc.collect()
        # The window's pair arrays are memory mapped apart, out of tracemalloc's sight: counted here.
        held = tracemalloc.get_traced_memory()[0] - before + store.story_index._cache.mapped_bytes() - mapped
    finally:
        tracemalloc.stop()
    assert held / 1500 < 3000, f"{held / 1500:.0f} bytes held per stored item"


def test_a_page_of_many_items_is_stored_batch_by_batch_and_keeps_its_cap(monitor_for):
    """A huge page is prepared and stored ``STORE_BATCH`` items at a time (its parsed tree and body let go): the
    figures are in ``bench/bench_big_feed.py``. Here: the batches add up, and ``max_items`` holds across them."""
    from monitor.pipeline import STORE_BATCH
    from tests.fetch_server import answer, serve

    count = 2 * STORE_BATCH + 500
    entries = "".join(f"<item><title>{text} {i}</title><link>http://many.example/{i}</link></item>"
                      for i, text in enumerate(titles(count, seed=5)))
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>many</title>'
            f"<link>http://many.example/</link>{entries}</channel></rss>").encode()
    with serve() as server:
        server.routes["/many.xml"] = answer(200, body, {"Content-Type": "application/rss+xml"})
        monitor = monitor_for([{"name": "many", "kind": "rss", "url": server.url("/many.xml"), "every": "1h",
                                "max_items": count - 300}])
        result = monitor.run_once()[0]
    assert (result.status, result.items_seen, result.items_new) == ("ok", count - 300, count - 300)
    assert "300 more items were not stored" in result.note
    stored = monitor.store.conn.execute("SELECT count(*), count(DISTINCT url_key) FROM items").fetchone()
    assert tuple(stored) == (count - 300, count - 300)
