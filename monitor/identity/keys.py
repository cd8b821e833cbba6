"""Index keys: how a stored headline is found again without a scan (the index is ``db/story_index.py``).

``band_keys()`` gives MinHash band keys over a headline's tokens (10 bands of 2 rows: a pair at Dice 0.6, Jaccard
0.43, shares a band with probability about 0.87; every near-duplicate pair of the labelled set shares one), and
``cut_keys()`` / ``cut_lookup_keys()`` pair a cut-short title with the titles it may be the beginning of. Stored keys
are read by later processes: they never depend on Python's per-process ``hash()``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from monitor.identity.headlines import Headline
from monitor.identity.thresholds import CUT_PREFIX

BANDS, ROWS = 10, 2
KEYS_VERSION = 2         # of band_keys and cut_keys: stored keys made by another version are not comparable
_BINS = BANDS * ROWS
_OFFSET = 0x9E3779B97F4A7C15   # added per bin of distance when an empty bin borrows a neighbour's minimum
_M64 = (1 << 64) - 1
_SHIFTS = tuple(d * _OFFSET for d in range(_BINS + 1))   # what an empty bin adds per bin of distance
_BAND_TAGS = tuple(band << 58 for band in range(BANDS))
_MIX_A, _MIX_B = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9


# Bounded (a live service asks for new tokens with every new headline), and small: what a bigger cache saves is a
# hash of a few characters (4,096 tokens: 62% of look-ups hit at 1,000,000 stored items, 32,768: 70%), and each entry
# is ~300 bytes. A key set's entry holds its token set (~3 KB): the cache only spares ``save_items`` computing an
# item's keys again right after identity did.
TOKEN_CACHE_SIZE = 4096
LABEL_CACHE_SIZE = 1024
BAND_KEYS_CACHE_SIZE = 128


@lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _token_slot(token: str) -> tuple[int, int]:
    """A token's bin and value in the bin (one 64-bit hash, explicit: stored keys must not depend on ``hash()``)."""
    h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
    return h % _BINS, h // _BINS


@lru_cache(maxsize=LABEL_CACHE_SIZE)
def _key(label: str) -> int:
    """A stable signed 63-bit key for a label (SQLite integers are signed 64-bit); cached: the cut keys of
    templated titles repeat."""
    return int.from_bytes(hashlib.blake2b(label.encode("utf-8"), digest_size=8).digest(), "little") >> 1


@lru_cache(maxsize=BAND_KEYS_CACHE_SIZE)
def band_keys(tokens: frozenset[str]) -> tuple[int, ...]:
    """Candidate keys of a token set: two sets sharing a key are compared with ``compare``.

    ``BANDS`` bands of ``ROWS`` MinHash values find pairs by Jaccard similarity. The values come from one hash per
    token (one-permutation hashing: a token's hash picks its bin, the least hash in each bin is that bin's value;
    an empty bin borrows from the next filled one, "densified by rotation", Shrivastava & Li 2014): 20 values for
    the price of one hash per token. Every near-duplicate pair of the labelled set shares a band, the short-in-long
    ones included (an attribution prefix, an added clause: a band matches when both its bins' least tokens are
    shared, likely when most of the long one's tokens are the short one's). ``KEYS_VERSION`` changes with them.
    Written for speed (it runs for every new headline): the values and the mixing are flat list operations.
    """
    if not tokens:
        return ()
    least: dict[int, int] = {}                          # the least value of each filled bin
    for i, value in map(_token_slot, tokens):
        if value < least.get(i, _M64):
            least[i] = value
    if len(least) == _BINS:
        values = [least[i] for i in range(_BINS)]
    else:                          # rotation: an empty bin takes the next filled one's value, offset by distance
        values = [0] * _BINS
        filled = min(least) + _BINS
        value = least[filled - _BINS]
        for i in range(_BINS - 1, -1, -1):
            if i in least:
                filled = i
                values[i] = value = least[i]
            else:
                values[i] = (value + _SHIFTS[filled - i]) & _M64
    m64, mix_a, mix_b = _M64, _MIX_A, _MIX_B      # two 64-bit values into one 58-bit key body per band
    mixed = [((a ^ ((b * mix_a) & m64)) * mix_b) & m64 for a, b in zip(values[0::2], values[1::2], strict=True)]
    return tuple([tag | ((x ^ (x >> 31)) >> 6) for tag, x in zip(_BAND_TAGS, mixed, strict=True)])


CUT_START_KEY = _key("cut:start")


def cut_keys(h: Headline) -> tuple[int, ...]:
    """Keys under which a cut-short title waits for the full title it was cut from."""
    if not h.cut:
        return ()
    if h.cut == "end":
        return tuple({_key("cut:" + k[:CUT_PREFIX]) for k in (h.key, h.plain) if len(k) >= CUT_PREFIX})
    return (CUT_START_KEY,)


def cut_lookup_keys(h: Headline) -> tuple[int, ...]:
    """Keys a full title looks up to find the cut-short titles that may be its beginning (or a part of it)."""
    if h.cut:
        return ()
    keys = {_key("cut:" + k[:CUT_PREFIX]) for k in (h.key, h.plain) if len(k) >= CUT_PREFIX}
    return (*sorted(keys), CUT_START_KEY)
