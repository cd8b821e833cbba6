"""The story index's in-memory window (db/story_index.py) in flat arrays finds what a plain dict of keys to sorted
postings finds (how it was kept before: ~2 KB an item), through adds, removals, re-adds, merges, bulk loads and
days dropped; and its memory per item is small."""

from __future__ import annotations

import random
import tracemalloc
from bisect import bisect_left, insort
from collections import Counter
from operator import itemgetter

import pytest

from db import story_index
from db.story_index import _DAY_SHIFT, _ID_MASK, MAX_CANDIDATES, MAX_COMPARED, MAX_POSTINGS, _WindowCache
from monitor.identity import band_keys, headline
from monitor.identity.headlines import bigrams, make_headline
from monitor.identity.matching import quick_score

CHARS = "南召西峡内乡方城镇平县召开举行决战决胜脱贫攻坚誓师大会印媒称中印第轮军长级会谈开始增兵"


class Model:
    """The window as it was kept before the arrays: a dict of keys to sorted postings, and a record per item."""

    def __init__(self):
        self.postings: dict[int, list[int]] = {}
        self.entries: dict[int, tuple[int, str, str, tuple[int, ...]]] = {}

    def add(self, item_id, day, keys, core, cut):
        if item_id in self.entries:
            return
        self.entries[item_id] = (day, core, cut, keys)
        for k in keys:
            insort(self.postings.setdefault(k, []), day << _DAY_SHIFT | item_id)

    def remove(self, item_id):
        day, _, _, keys = self.entries.pop(item_id)
        for k in keys:
            self.postings[k].remove(day << _DAY_SHIFT | item_id)
            if not self.postings[k]:
                del self.postings[k]

    def drop_before(self, day):
        for item_id in [i for i, e in self.entries.items() if e[0] < day]:
            self.remove(item_id)

    def candidates(self, h, keys, lo, hi):
        found, start, stop = [], lo << _DAY_SHIFT, (hi + 1) << _DAY_SHIFT
        for key in keys:
            held = self.postings.get(key)
            if held is not None:
                i, j = bisect_left(held, start), bisect_left(held, stop)
                if j - i <= MAX_POSTINGS:
                    found += held[i:j]
        scored = []
        for posting, _ in sorted(Counter(found).items(), key=itemgetter(1), reverse=True)[:MAX_CANDIDATES]:
            _, core, cut, _ = self.entries[posting & _ID_MASK]
            score = quick_score(h, bigrams(core), cut)
            if score is not None:
                scored.append((score, posting & _ID_MASK))
        scored.sort(reverse=True)
        return scored[:MAX_COMPARED]


BASES = [("".join(random.Random(n).choice(CHARS) for _ in range(random.Random(n).randint(10, 18)))) for n in range(12)]


def random_title(rnd: random.Random) -> str:
    """One of a few headlines with a character or two changed: their keys and bigrams overlap (near-duplicates and
    templated siblings), so candidates are found and pass the quick score."""
    title = list(rnd.choice(BASES))
    for _ in range(rnd.randint(0, 2)):
        title[rnd.randrange(len(title))] = rnd.choice(CHARS)
    return "".join(title)


def keys_of(title: str, rnd: random.Random) -> tuple[int, ...]:
    """A title's band keys, and now and then one key many items share (a templated family: over MAX_POSTINGS)."""
    keys = band_keys(headline(title).tokens)
    return (*keys, 7) if rnd.random() < 0.3 else keys


@pytest.mark.parametrize("seed", range(4))
def test_the_window_in_arrays_finds_what_a_dict_of_postings_finds(monkeypatch, seed):
    monkeypatch.setattr(story_index, "MERGE_EVERY", 5)       # many merges, with removals pending at some
    rnd = random.Random(seed)
    window, model = _WindowCache(100, 113), Model()
    live: dict[int, tuple[int, tuple[int, ...]]] = {}           # item id -> (day, keys)
    next_id = 1

    def add(item_id, day):
        if item_id in live:                # an id the window holds: ignored by both
            return
        title = random_title(rnd)
        keys, h = keys_of(title, rnd), headline(title)
        window.add(item_id, day, keys, h.key, h.cut)
        model.add(item_id, day, keys, h.key, h.cut)
        live[item_id] = (day, keys)

    for step in range(600):
        action = rnd.random()
        if action < 0.6 or not live:
            add(next_id + (rnd.randint(-30, -1) if rnd.random() < 0.05 and next_id > 40 else 0),
                rnd.randint(window.first, window.last))
            next_id += 1
        elif action < 0.8:                 # a title changed: removed with the keys it was added with, added again
            item_id = rnd.choice(sorted(live))
            window.remove(item_id, live[item_id][1])
            model.remove(item_id)
            day = live.pop(item_id)[0]
            if rnd.random() < 0.7:
                add(item_id, day if rnd.random() < 0.5 else rnd.randint(window.first, window.last))
        elif action < 0.82:                # the days move on
            window.drop_before(window.first + 1)
            model.drop_before(window.first)
            live = {i: v for i, v in live.items() if v[0] >= window.first}
            window.last += 1
        for _ in range(3):
            title = random_title(rnd)
            h = headline(title)
            keys = keys_of(title, rnd)
            lo = rnd.randint(window.first, window.last)
            hi = min(window.last, lo + 6)
            assert window.candidates(h, keys, lo, hi) == model.candidates(h, keys, lo, hi), f"step {step}"
        assert len(window) == len(model.entries)


def test_a_bulk_load_finds_what_adding_one_by_one_finds():
    rnd = random.Random(9)
    rows, items, one_by_one = [], [], _WindowCache(100, 113)
    for item_id in range(1, 400):
        title, day = random_title(rnd), rnd.randint(100, 113)
        h = headline(title)
        keys = keys_of(title, rnd)
        one_by_one.add(item_id, day, keys, h.key, h.cut)
        rows += [(k, day, item_id) for k in keys]
        items.append((item_id, day, h.key, h.cut))
    loaded = _WindowCache(100, 113)
    loaded.load(sorted(rows), items)
    for _ in range(200):
        title = random_title(rnd)
        h, keys = headline(title), keys_of(title, rnd)
        assert loaded.candidates(h, keys, 103, 109) == one_by_one.candidates(h, keys, 103, 109)


def test_what_the_window_holds_per_item_is_small():
    """About 300 bytes an item (it was ~2 KB: a record and a tuple of keys per item, a list per key)."""
    rnd = random.Random(3)
    made = []
    for item_id in range(1, 5001):
        title = random_title(rnd) + str(item_id)
        h = make_headline(title)
        made.append((item_id, rnd.randint(100, 113), band_keys.__wrapped__(h.tokens), h.key, h.cut))
    tracemalloc.start()
    try:
        window = _WindowCache(100, 113)
        for row in made:
            window.add(*row)
        window._merge()
        held = tracemalloc.get_traced_memory()[0] + window.mapped_bytes()
    finally:
        tracemalloc.stop()
    assert len(window) == 5000 and window.mapped_bytes() >= 5000 * 10 * 16    # ten keys an item, 16 bytes a pair
    assert held / 5000 < 400, f"{held / 5000:.0f} bytes per item"


def test_an_item_removed_with_other_keys_than_it_was_added_with_is_gone_all_the_same():
    """The store passes the keys of the row's stored title; should they differ, every pair of the item is found."""
    window, title = _WindowCache(100, 113), BASES[0]
    h = headline(title)
    keys = band_keys(h.tokens)
    for item_id in (1, 2):
        window.add(item_id, 105, keys, h.key, h.cut)
    window._merge()                                   # in the sorted arrays, not the fresh ones
    assert [item_id for _, item_id in window.candidates(h, keys, 102, 108)] == [2, 1]
    window.remove(1, keys[:3] + (12345,))
    assert [item_id for _, item_id in window.candidates(h, keys, 102, 108)] == [2]
    window._merge()
    assert [item_id for _, item_id in window.candidates(h, keys, 102, 108)] == [2]
    assert len(window) == 1 and len(window._keys) == len(keys)
