"""The story index: how the stored items an incoming headline may match are found, whatever the corpus size.

DESIGN rule 4: the same story from different publishers is several items sharing ``items.story_id``. Whether two
headlines are one story is decided by ``monitor.identity.compare`` (same core title, a cut-short title and the
title it was cut from, or a near-duplicate that no templated-headline guard vetoes). This module keeps that
decision incremental and bounded, so a new item costs a few indexed look-ups whatever the size of the corpus:

* ``story_keys (day, key, item_id)``: for every item, its candidate keys (``identity.band_keys``: MinHash bands
  and least-hash tokens) at its *day* (the publication date, else the day it was first seen), and, while its
  title is cut short, its cut keys at day 0 (a cut title waits for its full title whatever the day).
* A new item looks up its core key in ``items.core_key`` (and its folded title in ``items.title_key``); when no
  such row is within ``STORY_WINDOW_DAYS`` of its day, its band keys within the window (the ``MAX_CANDIDATES``
  items sharing the most keys); and the cut keys a full title may complete.
* The keys of the most recent ``WINDOW_CACHE_DAYS`` are also kept in memory (``_WindowCache``), read from
  story_keys and items the first time an item of those days arrives and kept up to date by every write: a live
  monitor's items then cost no band look-up in SQLite. Older items (a backfill) use ``story_keys``. The cache is a
  hint: every candidate is read back from ``items`` before it is compared, and a failed batch drops the cache.
* A candidate's headline is built and compared only when its stored core key may match
  (``identity.quick_score``). The candidates are ranked (``Candidate.rank``) for ``monitor.identity.rules`` (the
  same item?) and ``monitor.identity.stories`` (which story it joins: the best match within the window; with none
  it founds a story). Stories are never re-clustered.
"""

from __future__ import annotations

import logging
import mmap
import sqlite3
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from datetime import date
from operator import itemgetter

from monitor.core import fold, outlets
from monitor.identity.candidates import Candidate, event_day
from monitor.identity.headlines import Headline, bigrams, headline
from monitor.identity.keys import band_keys, cut_keys, cut_lookup_keys
from monitor.identity.matching import compare, quick_score
from monitor.identity.stories import STORY_WINDOW_DAYS
from monitor.identity.thresholds import MIN_FRAGMENT

log = logging.getLogger(__name__)

MAX_CANDIDATES = 6         # band candidates per item (those sharing the most keys first)
MAX_POSTINGS = 50          # items of one window sharing one key, beyond which the key is not used
MAX_COMPARED = 2           # of the in-memory ones, compared in full (the closest on character bigrams)
MAX_EXACT = 50             # rows with the same core title looked at per item (most recent first)
MAX_CUT = 100              # cut-short titles looked at per full title (most recent first)
WINDOW_CACHE_DAYS = 14     # recent days whose keys are kept in memory (at least 2 * STORY_WINDOW_DAYS + 1)
# The store connection's page cache: SQLite's default size. 8 MiB filled in the soak's first 8 minutes and was a
# third of the service's growth (bench/soak.py --probe); 64 MiB grew it by ~50 MB.
SQLITE_CACHE_KIB = 2 * 1024
WINDOW_CACHE_MAX_ITEMS = 60_000    # a denser stream than this uses story_keys only (bounds the cache: ~2 KB/item)

_COLUMNS = "id, title, title_key, core_key, title_cut, url_key, publisher, publisher_key, published_at, " \
           "first_seen_at, origin, story_id"


def _quick_score(h: Headline, row: sqlite3.Row) -> float | None:
    """``identity.quick_score`` of a stored row; its bigrams are not built when its cut mark or its core key (the
    same as ``h``'s: the same bigrams) already gives the score."""
    cut = row["title_cut"]
    if h.cut or cut:
        return 1.0
    key = row["core_key"] or ""
    return 1.0 if key == h.key else quick_score(h, bigrams(key), cut)


def _closest_first(pair: tuple[float | None, sqlite3.Row]) -> float:
    """Sort key: the highest quick score first (a row scored None is never compared; it sorts with the first)."""
    return -1.0 if pair[0] is None else -pair[0]


_DAY_SHIFT = 40                   # a posting is one int: day << _DAY_SHIFT | item id (ids stay below 2**40)
_ID_MASK = (1 << _DAY_SHIFT) - 1
MERGE_EVERY = 256                 # items added to the window before their keys join its sorted arrays
_FENCE = 32                       # keys of the sorted arrays between two entries of the list bisected first


def _int64s(values: array | int) -> memoryview:
    """64-bit ints (a copy of ``values``, or that many zeros) in an anonymous memory mapping of their own.

    The window's pair arrays are rebuilt at every merge, a few MB at a time, by whichever worker thread stores: from
    the heap, each copy left a hole in that thread's malloc arena (the 1,000-cycle soak's heap kept ~20 MB free in
    15 arenas). A mapping goes back to the system as soon as the array is let go.
    """
    count = values if isinstance(values, int) else len(values)
    if count == 0:
        return memoryview(array("q"))
    mapped = memoryview(mmap.mmap(-1, count * 8)).cast("q")
    if not isinstance(values, int):
        mapped[:] = values
    return mapped


class _WindowItems:
    """The window's items in parallel arrays sorted by id: id, day, whether its title is cut short (all
    ``quick_score`` reads of the cut mark) and its core key as stored (the quick score's view of it), UTF-8 in one
    bytearray: a str an item would cost ~170 bytes, the UTF-8 copy SQLite's parameter binding leaves on it included.
    A removed item's bytes stay in the bytearray until it is rebuilt (``compacted``)."""

    def __init__(self, rows=()):
        self.ids, self.days, self.cut = array("q"), array("i"), bytearray()
        self.core_at, self.core_len, self.blob = array("q"), array("I"), bytearray()
        self.garbage = 0
        for row in rows:
            self.insert(*row)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, item_id: int) -> int | None:
        ids = self.ids
        at = bisect_left(ids, item_id)
        return at if at < len(ids) and ids[at] == item_id else None

    def insert(self, item_id: int, day: int, core_key: str, cut) -> None:
        """Add an item (rows arrive in id order, so this is mostly an append)."""
        ids = self.ids
        at = len(ids) if not ids or ids[-1] < item_id else bisect_left(ids, item_id)
        encoded = core_key.encode("utf-8")
        ids.insert(at, item_id)
        self.days.insert(at, day)
        self.cut.insert(at, 1 if cut else 0)
        self.core_at.insert(at, len(self.blob))
        self.core_len.insert(at, len(encoded))
        self.blob += encoded

    def remove_at(self, at: int) -> None:
        self.garbage += self.core_len[at]
        del self.ids[at], self.days[at], self.cut[at], self.core_at[at], self.core_len[at]

    def core(self, at: int) -> str:
        start = self.core_at[at]
        return self.blob[start:start + self.core_len[at]].decode("utf-8")

    def rows(self):
        """(id, day, core key, cut) of every item, by id."""
        return ((self.ids[at], self.days[at], self.core(at), self.cut[at]) for at in range(len(self.ids)))

    def compacted(self, first_day: int = 0) -> _WindowItems:
        """The items of ``first_day`` or later, their core keys without the bytes of removed items."""
        return _WindowItems(row for row in self.rows() if row[1] >= first_day)


class _WindowCache:
    """The band keys of the items of days ``first``..``last``, in memory (see the module docstring).

    Flat, for memory: the window's (key, posting) pairs are two sorted arrays of 64-bit ints (a posting is the day
    and the item id packed in one int), and its items four parallel arrays sorted by id (id, day, whether the title
    is cut, the core key): about 300 bytes an item and a handful of Python objects in all, where a dict of keys to
    lists of postings and a record per item took about 2 KB an item and gave the garbage collector hundreds of
    thousands of objects to walk. Items added since the arrays were last rebuilt wait in ``_fresh`` (a key's
    postings), merged in every ``MERGE_EVERY`` items; an item removed from the arrays is in ``_gone`` (its posting,
    and the keys to drop at the next merge) until then.
    """

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self._keys = _int64s(0)                      # the pairs, sorted by key then posting: their keys
        self._fence: list[int] = []                  # every _FENCE-th of them: a first bisect without boxing ints
        self._postings = _int64s(0)                  # and their postings
        self._fresh: dict[int, list[int]] = {}       # key -> sorted postings of the items added since the merge
        self._fresh_keys: dict[int, tuple[int, ...]] = {}   # posting -> its keys, for those items
        self._gone: dict[int, tuple[int, ...]] = {}  # posting -> keys of an item removed from the arrays
        self._items = _WindowItems()

    def __len__(self) -> int:
        return len(self._items)

    def covers(self, lo: int, hi: int) -> bool:
        return self.first <= lo and hi <= self.last

    def add(self, item_id: int, day: int, keys: tuple[int, ...], core_key: str, cut: str) -> None:
        if not self.first <= day <= self.last or self._items.index(item_id) is not None:
            return
        self._items.insert(item_id, day, core_key, cut)
        posting = day << _DAY_SHIFT | item_id
        fresh = self._fresh
        for k in keys:
            held = fresh.get(k)
            if held is None:
                fresh[k] = [posting]
            else:
                insort(held, posting)
        self._fresh_keys[posting] = keys
        if len(self._fresh_keys) >= MERGE_EVERY:
            self._merge()

    def remove(self, item_id: int, keys: tuple[int, ...]) -> None:
        """Forget an item (its title or date changed); ``keys`` are the band keys it was added with."""
        items = self._items
        at = items.index(item_id)
        if at is None:
            return
        posting = items.days[at] << _DAY_SHIFT | item_id
        items.remove_at(at)
        if items.garbage > len(items.blob) // 2:
            self._items = items.compacted()
        added = self._fresh_keys.pop(posting, None)
        if added is not None:                        # not merged yet: out of the fresh lists
            for k in added:
                held = self._fresh[k]
                held.remove(posting)
                if not held:
                    del self._fresh[k]
            return
        found = tuple(k for k in keys if self._pair_at(k, posting) is not None)
        if len(found) != len(keys):                  # keys other than those it was added with: look at every pair
            found = tuple(k for k, p in zip(self._keys, self._postings, strict=True) if p == posting)
        self._gone[posting] = found

    def _pair_at(self, key: int, posting: int) -> int | None:
        """The index of the (key, posting) pair in the arrays, or None."""
        keys, postings = self._keys, self._postings
        i = bisect_left(keys, key)
        j = bisect_right(keys, key, i)
        at = bisect_left(postings, posting, i, j)
        return at if at < j and postings[at] == posting else None

    def _merge(self, added_keys: array | None = None, added_postings: array | None = None) -> None:
        """Rebuild the sorted arrays with the fresh pairs (or the sorted pairs given) in, and the gone ones out."""
        if added_keys is None:
            if not self._fresh and not self._gone:
                return
            pairs = sorted((k, p) for k, held in self._fresh.items() for p in held)
            added_keys = array("q", [k for k, _ in pairs])
            added_postings = array("q", [p for _, p in pairs])
        keys, postings = self._keys, self._postings
        # (position in the old arrays, 0: insert the pair before it / 1: drop the pair there, key, posting)
        edits = [(self._insertion(k, p), 0, k, p) for k, p in zip(added_keys, added_postings, strict=True)] \
            if len(keys) else []
        for posting, gone in self._gone.items():
            edits += [(self._pair_at(k, posting), 1, k, posting) for k in gone]
        if not len(keys):
            self._keys, self._postings = _int64s(added_keys), _int64s(added_postings)
        else:
            edits.sort()
            total = len(keys) + sum(1 if drop == 0 else -1 for _, drop, _, _ in edits)
            new_keys, new_postings = _int64s(total), _int64s(total)
            done = written = 0
            for at, drop, k, p in edits:
                size = at - done
                if size > 0:
                    new_keys[written:written + size] = keys[done:at]
                    new_postings[written:written + size] = postings[done:at]
                    written += size
                if drop:
                    done = at + 1
                else:
                    new_keys[written], new_postings[written] = k, p
                    written += 1
                    done = at
            new_keys[written:] = keys[done:]
            new_postings[written:] = postings[done:]
            self._keys, self._postings = new_keys, new_postings
        self._fence = self._keys[::_FENCE].tolist()
        self._fresh, self._fresh_keys, self._gone = {}, {}, {}

    def _insertion(self, key: int, posting: int) -> int:
        keys = self._keys
        i = bisect_left(keys, key)
        return bisect_left(self._postings, posting, i, bisect_right(keys, key, i))

    def drop_before(self, day: int) -> None:
        self._merge()
        self._items = self._items.compacted(day)
        bound = day << _DAY_SHIFT
        keep = [i for i, p in enumerate(self._postings) if p >= bound]
        self._keys = _int64s(array("q", [self._keys[i] for i in keep]))
        self._postings = _int64s(array("q", [self._postings[i] for i in keep]))
        self._fence = self._keys[::_FENCE].tolist()
        self.first = day

    def candidates(self, h: Headline, keys: tuple[int, ...], lo: int, hi: int) -> list[tuple[float, int]]:
        """Of the ``MAX_CANDIDATES`` items of days lo..hi sharing the most keys with ``h`` (as ``story_keys``
        would rank them; ties in the order the keys found them), the ``MAX_COMPARED`` closest on character bigrams
        (``identity.quick_score``, item id).

        A key held by more than ``MAX_POSTINGS`` items of the window tells nothing, as a stop word would not (dense
        templated families share such keys): it is not used. The hot path of a live monitor, so written flat.
        """
        all_keys, postings, fresh, gone, fence = self._keys, self._postings, self._fresh, self._gone, self._fence
        n, found = len(all_keys), []
        start, stop = lo << _DAY_SHIFT, (hi + 1) << _DAY_SHIFT
        for key in keys:
            # A bisect of an array makes an int at every step: the fence list narrows it to _FENCE entries first.
            f = bisect_left(fence, key)
            i = bisect_left(all_keys, key, f * _FENCE - _FENCE + 1 if f else 0, min(f * _FENCE, n))
            if i < n and all_keys[i] == key:
                j = i + 1
                if j < n and all_keys[j] == key:
                    j = bisect_right(all_keys, key, j, min(bisect_right(fence, key) * _FENCE, n))
                    a = bisect_left(postings, start, i, j)
                    held = postings[a:bisect_left(postings, stop, a, j)].tolist()
                    if gone and held:
                        held = [p for p in held if p not in gone]
                else:                                    # most keys: one item
                    p = postings[i]
                    held = [p] if start <= p < stop and p not in gone else None
            else:
                held = None
            if fresh:
                more = fresh.get(key)
                if more is not None:
                    a = bisect_left(more, start)
                    b = bisect_left(more, stop, a)
                    if b > a:
                        held = sorted(held + more[a:b]) if held else more[a:b]
            if held and len(held) <= MAX_POSTINGS:
                found += held
        if not found:
            return []
        items, scored = self._items, []
        ids = items.ids
        count, first_id, last_id = len(ids), ids[0], ids[-1]
        for posting, _ in sorted(Counter(found).items(), key=itemgetter(1), reverse=True)[:MAX_CANDIDATES]:
            item_id = posting & _ID_MASK
            # Ids are unique and sorted: item_id is within these bounds (one step when the ids are consecutive).
            at = bisect_left(ids, item_id, max(0, count - 1 - (last_id - item_id)), min(count, item_id - first_id + 1))
            if at >= count or ids[at] != item_id:
                continue
            score = quick_score(h, bigrams(items.core(at)), "cut" if items.cut[at] else "")
            if score is not None:
                scored.append((score, item_id))
        scored.sort(reverse=True)
        return scored[:MAX_COMPARED]

    def load(self, key_rows, item_rows) -> None:
        """Fill days in bulk: story_keys rows (key, day, item_id) sorted by key, day and item id, and items rows
        (id, day, core key, cut) of those days."""
        self._merge()
        known = set(self._items.ids)
        added_keys, added_postings, loaded = array("q"), array("q"), set()
        for key, day, item_id in key_rows:
            if item_id not in known:
                added_keys.append(key)
                added_postings.append(day << _DAY_SHIFT | item_id)
                loaded.add(item_id)
        rows = sorted(row for row in item_rows if row[0] in loaded)
        items = self._items
        if items.ids and rows and rows[0][0] < items.ids[-1]:      # not all newer: the arrays are rebuilt
            self._items = _WindowItems(sorted([*rows, *items.rows()]))
        else:
            for row in rows:
                items.insert(*row)
        if added_keys:
            self._merge(added_keys, added_postings)

    def mapped_bytes(self) -> int:
        """The pair arrays' size: memory mapped apart (``_int64s``), so not seen by ``tracemalloc``."""
        return self._keys.nbytes + self._postings.nbytes

    def describe(self) -> dict[str, int]:
        """What it holds (for ``bench/memory_probe.py``)."""
        return {"items": len(self._items), "mapped_kib": self.mapped_bytes() // 1024, "pairs": len(self._keys),
                "fresh_items": len(self._fresh_keys),
                "gone_items": len(self._gone)}


class StoryIndex:
    """Candidate look-ups on the store's connection, and the keys they use (the caller holds the write lock)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._cache: _WindowCache | None = None
        self._too_dense: int | None = None          # the last day of a window found over WINDOW_CACHE_MAX_ITEMS
        self._cut_keys: set[int] | None = None     # every day-0 (cut-title) key, so most titles skip that look-up
        conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    # --- the key index -------------------------------------------------------------------------------------

    def _rows(self, item_id: int, h: Headline, day: int) -> tuple[tuple[int, ...], list[tuple[int, int, int]]]:
        """The item's band keys, and its story_keys rows: band keys at its day, cut keys at day 0 (any day)."""
        bands = band_keys(h.tokens)
        return bands, [(day, k, item_id) for k in bands] + [(0, k, item_id) for k in cut_keys(h)]

    def add(self, item_id: int, h: Headline, day: int) -> None:
        """Index a stored item (call it once its row is complete: its story assigned)."""
        bands, rows = self._rows(item_id, h, day)
        self.conn.executemany("INSERT OR IGNORE INTO story_keys (day, key, item_id) VALUES (?, ?, ?)", rows)
        cache = self._cache
        if cache is not None and cache.first <= day <= cache.last:
            cache.add(item_id, day, bands, h.key, h.cut)
            if len(cache) > WINDOW_CACHE_MAX_ITEMS:
                self._give_up_window(cache)
        if self._cut_keys is not None:
            self._cut_keys.update(cut_keys(h))

    def remove(self, item_id: int, h: Headline, day: int) -> None:
        bands, rows = self._rows(item_id, h, day)
        self.conn.executemany("DELETE FROM story_keys WHERE day = ? AND key = ? AND item_id = ?", rows)
        if self._cache is not None:
            self._cache.remove(item_id, bands)

    def _give_up_window(self, cache: _WindowCache) -> None:
        """The window holds more items than the memory bound allows: story_keys answers until the days move on."""
        log.info("story index: more than %d items within %d days; candidates come from story_keys",
                 WINDOW_CACHE_MAX_ITEMS, WINDOW_CACHE_DAYS)
        self._too_dense = cache.last
        self._cache = None

    def invalidate(self) -> None:
        """Forget the in-memory keys (after a rolled-back batch); they are loaded again when needed."""
        self._cache = None
        self._cut_keys = None

    def _may_complete(self, lookups: tuple[int, ...]) -> bool:
        """Whether any stored cut-short title has one of these keys (a superset is kept: removals stay in it)."""
        if self._cut_keys is None:
            self._cut_keys = {key for (key,) in self.conn.execute("SELECT key FROM story_keys WHERE day = 0")}
        return any(key in self._cut_keys for key in lookups)

    def _window(self, day: int) -> _WindowCache | None:
        """The cache covering ``day``'s story window, loading newer days as items arrive; None for older items."""
        lo, hi = day - STORY_WINDOW_DAYS, day + STORY_WINDOW_DAYS
        cache = self._cache
        if cache is not None and cache.covers(lo, hi):
            return cache
        if cache is not None and hi <= cache.last:
            return None                                   # older than the cache: story_keys
        if hi > date.today().toordinal() + 2 * STORY_WINDOW_DAYS or lo < 1:
            return None                                   # dated in the future or year 1 (a wrong date): story_keys
        if cache is None and self._too_dense is not None and hi <= self._too_dense:
            return None                                   # found too dense: not loaded again for every item
        first = hi - WINDOW_CACHE_DAYS + 1
        if cache is None or first > cache.last:
            cache = _WindowCache(first, hi)
            self._load(cache, first, hi)
        else:
            self._load(cache, cache.last + 1, hi)
            cache.drop_before(first)
        self._cache = cache
        if len(cache) > WINDOW_CACHE_MAX_ITEMS:
            self._give_up_window(cache)
        return self._cache

    def _load(self, cache: _WindowCache, first: int, last: int) -> None:
        """Read days first..last from story_keys (their keys) and items (their core keys): nothing is recomputed."""
        cache.last = max(cache.last, last)
        key_rows = self.conn.execute("SELECT key, day, item_id FROM story_keys WHERE day BETWEEN ? AND ? "
                                     "ORDER BY key, day, item_id", (first, last))
        start, end = date.fromordinal(first).isoformat(), date.fromordinal(last + 1).isoformat()
        item_rows = [
            (row["id"], event_day(row["published_at"], row["first_seen_at"]), row["core_key"] or "",
             row["title_cut"] or "")
            for row in self.conn.execute(
                f"SELECT {_COLUMNS} FROM items WHERE published_at >= ? AND published_at < ? UNION ALL "
                f"SELECT {_COLUMNS} FROM items WHERE first_seen_at >= ? AND first_seen_at < ? "
                f"AND published_at IS NULL",
                (start, end, start, end),
            )
        ]
        cache.load(key_rows, item_rows)

    # --- candidates ----------------------------------------------------------------------------------------

    def exact_rows(self, h: Headline, title_key: str) -> list[sqlite3.Row]:
        """Rows with the same folded title or the same core title, oldest first (the most recent ``MAX_EXACT``)."""
        # Newest first in SQL: a recurring daily title has more rows than are read, and the recent ones matter.
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM items WHERE core_key = ? OR title_key = ? ORDER BY id DESC LIMIT {MAX_EXACT}",
            (h.key, title_key),
        ).fetchall()
        rows.reverse()
        return rows

    def candidates(self, h: Headline, day: int, exact: list[sqlite3.Row]) -> list[Candidate]:
        """Stored items an incoming headline may match, best match first (those with no match last).

        ``exact`` are the rows with the same core title (``exact_rows``); only when none is within the story window
        are the band keys looked up. A candidate's headline is built (and compared) only when a quick look at its
        stored core key (``identity.quick_score``) says it may match: most band candidates share a template,
        not a story.
        """
        rows: dict[int, sqlite3.Row] = {row["id"]: row for row in exact}
        scores: dict[int, float | None] = {}     # quick scores the in-memory window already computed
        ids: list[int] = []
        if not any(abs(event_day(r["published_at"], r["first_seen_at"]) - day) <= STORY_WINDOW_DAYS for r in exact):
            for candidate in self._band_candidates(h, day):
                if isinstance(candidate, int):
                    ids.append(candidate)
                else:
                    score, item_id = candidate
                    if item_id not in rows:
                        scores[item_id] = score
        lookups = cut_lookup_keys(h)
        if lookups and self._may_complete(lookups):   # cut-short titles this one may complete, whatever their day
            ids += [item_id for (item_id,) in self.conn.execute(
                f"SELECT item_id FROM story_keys WHERE day = 0 AND key IN ({','.join('?' * len(lookups))}) "
                f"ORDER BY item_id DESC LIMIT {MAX_CUT}", lookups)]
        if h.cut == "end":   # the full titles this fragment may be the beginning of
            for column, fragment in (("core_key", h.key), ("title_key", h.plain)):
                if len(fragment) >= MIN_FRAGMENT:
                    ids += [item_id for (item_id,) in self.conn.execute(
                        f"SELECT id FROM items WHERE {column} > ? AND {column} < ? AND title_cut = '' "
                        f"LIMIT {MAX_EXACT}", (fragment, fragment + "\U0010ffff"))]
        ids = [item_id for item_id in dict.fromkeys([*scores, *ids]) if item_id not in rows]
        if ids:
            placeholders = ",".join("?" * len(ids))
            fetched = {row["id"]: row for row in
                       self.conn.execute(f"SELECT {_COLUMNS} FROM items WHERE id IN ({placeholders})", ids)}
            for item_id in scores:        # the window's candidates first, in its order, as they always were
                if item_id in fetched:
                    rows[item_id] = fetched.pop(item_id)
            rows.update(fetched)
        if not rows:
            return []
        # The closest on character bigrams first; once one is a near-duplicate, the less close ones are not compared
        # (rows with the same core title or a cut title score 1 and always are).
        scored = sorted(((scores[item_id] if item_id in scores else _quick_score(h, row), row)
                         for item_id, row in rows.items()), key=_closest_first)
        found, near = [], False
        for score, row in scored:
            other = match = None
            if score is not None and (score >= 1.0 or not near):
                other = headline(row["title"])
                match = compare(h, other)
                near = near or (match is not None and match.rule == "near")
            found.append(Candidate(row, other, event_day(row["published_at"], row["first_seen_at"]), match))
        found.sort(key=lambda candidate: candidate.rank(day))
        return found

    def _band_candidates(self, h: Headline, day: int) -> list[int] | list[tuple[float, int]]:
        """Items within the story window sharing band keys with ``h``, the most shared first: (quick score, id)
        from the in-memory window (only those whose core key may match), else their ids from story_keys."""
        keys = band_keys(h.tokens)
        if not keys:
            return []
        lo, hi = day - STORY_WINDOW_DAYS, day + STORY_WINDOW_DAYS
        cache = self._window(day)
        if cache is not None:
            return cache.candidates(h, keys, lo, hi)
        days = list(range(lo, hi + 1))
        return [item_id for (item_id,) in self.conn.execute(
            f"SELECT item_id FROM story_keys WHERE day IN ({','.join('?' * len(days))}) "
            f"AND key IN ({','.join('?' * len(keys))}) "
            f"GROUP BY item_id ORDER BY count(*) DESC, item_id DESC LIMIT {MAX_CANDIDATES}", (*days, *keys))]


def backfill_story_keys(conn: sqlite3.Connection) -> None:
    """Migration to schema 3: core keys, band keys and story rules for the items a database already holds.

    Titles holding a character ``fold.FOLD_VARIANTS`` now folds (著 -> 着) get their title key again, and the
    search index is rebuilt so it folds them the same way.
    """
    index = StoryIndex(conn)
    rows = conn.execute(
        "SELECT id, title, publisher, published_at, first_seen_at, story_id FROM items ORDER BY id"
    ).fetchall()
    founders: set[int] = set()
    refolded = 0
    for item_id, title, publisher, published_at, first_seen_at, story_id in rows:
        h = headline(title)
        rule = "title" if story_id in founders else "new"
        founders.add(story_id)
        conn.execute("UPDATE items SET core_key = ?, story_matched_by = ? WHERE id = ?", (h.key, rule, item_id))
        if any(ch in title for ch in fold.FOLD_VARIANTS):
            conn.execute("UPDATE items SET title_key = ? WHERE id = ?", (outlets.title_key(title, publisher), item_id))
            refolded += 1
        index.add(item_id, h, event_day(published_at, first_seen_at))
    if refolded:
        try:
            conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
        except sqlite3.OperationalError as error:   # opened without the news_fold tokenizer
            log.warning("schema 3: rebuild the search index (Store.rebuild_search_index): %s", error)
    if rows:
        log.info("schema 3: indexed %d stored items for near-duplicate stories", len(rows))
