"""Whether two headlines report one story (``compare``), and a cheap look before building a stored row's headline
(``quick_score``).

Why not MinHash or SimHash alone: measured on this project's labelled pairs (``bench/identity_eval.py``, figures
in ``bench/README.md``), a similarity threshold alone cannot tell a reworded headline (``印媒称中印第五轮军长级会谈
开始`` / ``印媒：中印第五轮军长级会谈举行``) from a templated sibling that shares all but two characters
(``南召县召开决战决胜脱贫攻坚誓师大会`` / ``西峡县召开...``), nor one subject with two events (``南阳市出台乡村振兴
战略实施方案`` / ``南阳市召开乡村振兴战略工作会议``). MinHash LSH at 0.8 over character 3-grams merged such
siblings and missed most cut-short titles (FACTS.md). So the evidence is: the same core (``headlines``); a
cut-short title that is the beginning (or, cut at the start, a part) of the other one; or a near-duplicate:
character-bigram Dice or containment over a threshold (Latin words count as tokens), which the guards
(``guards``) may veto.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.identity.guards import another_event, numbers_conflict, swapped_name, templated
from monitor.identity.headlines import Headline
from monitor.identity.thresholds import (
    CLOSE_DICE,
    CLOSE_EXTRA_CHARS,
    MIN_FRAGMENT,
    NEAR_CONTAINMENT,
    NEAR_DICE,
    NEAR_MIN_CHARS,
    QUICK_CONTAINMENT,
    QUICK_DICE,
    SPECIFIC_CHARS,
)


@dataclass(frozen=True, slots=True)
class Match:
    """Why two headlines are one story: the rule, a score in [0, 1], and whether it is close enough for one item."""

    rule: str                     # 'title' (same core), 'truncated' (a cut-short title), 'near' (near-duplicate)
    score: float
    close: bool


def _fragment_fits(fragment: Headline, full: Headline) -> bool:
    """A cut-short title and a title it may have been cut from (the cut never splits a number or a word)."""
    if full.cut:
        return False
    for frag, whole in ((fragment.key, full.key), (fragment.plain, full.plain)):
        if len(frag) < MIN_FRAGMENT or len(whole) <= len(frag):
            continue
        if fragment.cut == "end":
            if whole.startswith(frag) and (len(frag) >= SPECIFIC_CHARS or not _splits_token(whole, len(frag))):
                return True
        elif frag in whole:
            return True
    return False


def _splits_token(whole: str, at: int) -> bool:
    """True when position ``at`` falls inside a number or a Latin word (``确诊3`` is not the start of ``确诊35例``;
    a fragment of ``SPECIFIC_CHARS`` or more may end inside one: list pages cut at a fixed length)."""
    before, after = whole[at - 1], whole[at]
    return before.isascii() and after.isascii() and before.isalnum() and after.isalnum()



def quick_score(h: Headline, other: frozenset[str], cut: str | None) -> float | None:
    """How close a stored row (the bigrams of its folded core key, its cut mark) looks to ``h`` on character
    bigrams, or None when it cannot be a match: a cheap filter before building the row's headline, with thresholds
    well below ``compare``'s. A cut-short title on either side, or the same bigrams, is always worth a look
    (score 1)."""
    if h.cut or cut:
        return 1.0
    mine = h.bigrams
    shared, ours, theirs = len(mine & other), len(mine), len(other)
    if shared == ours == theirs:
        return 1.0
    dice = 2 * shared / (ours + theirs)
    containment = shared / min(ours, theirs)
    return dice if dice >= QUICK_DICE or containment >= QUICK_CONTAINMENT else None


def compare(a: Headline, b: Headline) -> Match | None:
    """Whether two headlines report one story, and how (``None``: not shown to be one story)."""
    if a.key == b.key or a.plain == b.plain:
        return Match("title", 1.0, True)
    if a.cut and _fragment_fits(a, b):
        return Match("truncated", len(a.key) / max(len(b.key), 1), True)
    if b.cut and _fragment_fits(b, a):
        return Match("truncated", len(b.key) / max(len(a.key), 1), True)
    shorter = min(len(a.key), len(b.key))
    if shorter < NEAR_MIN_CHARS or not a.tokens or not b.tokens:
        return None
    shared = len(a.tokens & b.tokens)
    dice = 2 * shared / (len(a.tokens) + len(b.tokens))
    containment = shared / min(len(a.tokens), len(b.tokens))
    near = dice >= NEAR_DICE or (containment >= NEAR_CONTAINMENT and shorter >= SPECIFIC_CHARS)
    if not near or numbers_conflict(a.numbers, b.numbers) or templated(a.key, b.key) or another_event(a.key, b.key):
        return None
    if a._words and b._words and swapped_name(a.core, b.core):
        return None
    extra = abs(len(a.key) - len(b.key))
    close = dice >= CLOSE_DICE or (containment == 1.0 and shorter >= SPECIFIC_CHARS and extra <= CLOSE_EXTRA_CHARS)
    return Match("near", round(max(dice, containment * 0.99), 4), close)
