"""DESIGN.md's identity rules, decided over the candidate rows the store found: which stored row an item is.

The store looks the candidates up (SQL), stage by stage, and asks these functions after each stage; it writes what
they decide. In the order they are tried (the rule that decided is kept on the sighting as ``matched_by``):

1. ``url``   - same canonical URL (``items.url_key``): the store's look-up decides it alone.
2. ``title`` - same folded title (``items.title_key``) and compatible publishers, published within
   ``TITLE_MATCH_WINDOW`` of each other (or either date unknown).
3. ``seed``  - a seed row (no URL) and another row whose folded title equals it, or, where the seed title was cut
   short with "...", begins with (trailing "...") or contains (leading "...") the seed's folded fragment.
   The seed row gains the URL, the full title and the dates; it never becomes a second row.
4. ``truncated`` - a title cut short with "..." (at least ``thresholds.MIN_FRAGMENT`` folded characters, never cut
   inside a number) and the full title it begins (or, cut at the start, is part of), compatible publishers, within
   ``TITLE_MATCH_WINDOW``. The row keeps (or gains) the full title.
5. ``near``  - a near-duplicate headline (``matching.compare``: close, no templated-headline guard) from the
   same known publisher within ``TITLE_MATCH_WINDOW``, when the two do not carry two different URLs.

Rules 2 and 4 never join a recurring title (``pages.recurring``): two different pages of one site (the same
registrable domain; an AMP, print or ``/BIG5/`` copy of a page is the page) on two different days (the dates in
their URLs, else their publication dates) are two articles however alike their headlines (``Corrections``,
``Lottery Numbers``, 新闻联播 of 15 and 16 December), and two stories. Different sites with one headline
(syndication), an item without a URL (a seed) and one site's two pages of one day (a mobile page, a brief filed in
two sections) merge as before.

Rule 2 compares ``items.core_key`` too: the folded title without a leading tag that is not the headline
(``【決戰決勝脫貧攻堅】``, ``视频：``). A title edited after publication keeps its row (rule 1: same URL); when the
source that showed the row's title now shows another one, the row takes the new title and the old one goes to
``title_history`` (``title_edited``: a title the row had before is never taken back, so two sources cannot make it
flip).

Every new item then joins a story or founds one (``monitor.identity.stories``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core import outlets
from monitor.core.model import Item
from monitor.identity.candidates import Candidate, Row
from monitor.identity.headlines import Headline
from monitor.identity.pages import recurring

TITLE_MATCH_WINDOW = timedelta(days=3)
MIN_SEED_FRAGMENT = 6   # folded characters a cut-short seed title needs before a prefix match is trusted


@dataclass
class Decision:
    """What identity decided for an incoming item (``Store.identify``; ``Store.save_items`` acts on it)."""

    item_id: int | None                # the stored row it is the same as; None: a new item
    rule: str | None                   # url, title, seed, truncated, near (sightings.matched_by)
    headline: Headline | None = None   # (not needed, so not made, for a URL match)
    day: int | None = None             # candidates.event_day of the item
    story: Candidate | None = None     # for a new item: the stored item whose story it joins (None: a new story)

    @property
    def story_id(self) -> int | None:
        return self.story.row["story_id"] if self.story else None

    @property
    def story_rule(self) -> str | None:
        return self.story.match.rule if self.story else None


def by_title(item: Item, exact: Sequence[Row]) -> tuple[int, str] | None:
    """Rules 3 and 2 over the rows with the item's folded title or core title (oldest first): (row id, rule)."""
    for index, row in enumerate(exact):
        if row["origin"] == "seed" and row["url_key"] is None or item.origin == "seed" and item.url_key is None:
            return row["id"], "seed"
        if same_title(row, item):
            # Of the rows this one may be (a syndicated copy of a recurring title: one per day), the nearest.
            same = [row] + [other for other in exact[index + 1:] if same_title(other, item)]
            return nearest(same, item.published_at)["id"], "title"
    return None


def seeks_full_title(item: Item) -> bool:
    """Rule 3 for a seed title cut short: whether to look up the full title it was cut from (one that begins with
    its fragment for a trailing "...", contains it for a leading one). The other direction, a full title meeting a
    stored fragment, goes by cut keys (``by_candidate``)."""
    return item.origin == "seed" and bool(item.title_cut) and len(item.title_key) >= MIN_SEED_FRAGMENT


def by_candidate(item: Item, h: Headline, candidates: Sequence[Candidate]) -> tuple[int, str] | None:
    """Rules 3 (a seed fragment found by its cut key), 4 and 5 over the ranked candidates: (row id, rule)."""
    for candidate in candidates:
        rule = same_item_rule(item, h, candidate)
        if rule:
            return candidate.item_id, rule
    return None


def same_item_rule(item: Item, h: Headline, candidate: Candidate) -> str | None:
    """Rules 3 (a seed fragment found by its cut key), 4 and 5 for one candidate row; None if not the same item."""
    row = candidate.row
    if row["origin"] == "seed" and row["url_key"] is None and row["title_cut"] and item.origin != "seed" and (
        fragment_matches(row["title_key"], row["title_cut"], item.title_key)
        or fragment_matches(row["core_key"] or "", row["title_cut"], h.key)
    ):
        return "seed"
    match = candidate.match
    if match is None or not match.close or match.rule == "title":
        return None
    if not outlets.publishers_compatible(row["publisher"], item.publisher) or not close_in_time(
        row["published_at"], item.published_at
    ):
        return None
    if match.rule == "truncated":
        return None if one_site_two_days(row, item) else "truncated"
    if row["publisher_key"] and item.publisher_key and not (
        row["url_key"] and item.url_key and row["url_key"] != item.url_key
    ):
        return "near"
    return None


def title_edited(row: Row, item: Item, last_shown: Callable[[], str | None],
                 held_before: Callable[[str], bool]) -> bool:
    """Rule 1's edited title: the source that last showed this row's title now shows another (full) one the row never
    had before. ``last_shown()`` is the title that source showed last (None: it never showed the row) and
    ``held_before(title_key)`` whether the row had that title once; both are asked only when needed."""
    if item.title_cut or item.title_key == row["title_key"]:
        return False
    last = last_shown()
    if last is None or outlets.title_key(last or "", item.publisher or row["publisher"]) != row["title_key"]:
        return False
    return not held_before(item.title_key)


def same_title(row: Row, item: Item) -> bool:
    """Rule 2 for a row with the item's folded title: compatible publishers, close in time, not a recurring title."""
    return outlets.publishers_compatible(row["publisher"], item.publisher) and close_in_time(
        row["published_at"], item.published_at) and not one_site_two_days(row, item)


def close_in_time(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True
    return abs(datetime.fromisoformat(a) - datetime.fromisoformat(b)) <= TITLE_MATCH_WINDOW


def nearest(rows: Sequence[Row], published_at: str | None) -> Row:
    """The row published nearest to ``published_at`` (the first of ``rows`` when that, or theirs, is unknown)."""
    if not published_at or len(rows) == 1:
        return rows[0]
    when = datetime.fromisoformat(published_at)
    dated = [row for row in rows if row["published_at"]]
    if not dated:
        return rows[0]
    return min(dated, key=lambda row: abs(datetime.fromisoformat(row["published_at"]) - when))


def one_site_two_days(row: Row, item: Item) -> bool:
    """The stored row and the item are one site's two pages of two days (``pages.recurring``)."""
    return recurring(row["url_key"], row["published_at"], item.url_key, item.published_at)


def fragment_matches(fragment: str, cut: str, title_key: str) -> bool:
    """A seed's cut-short folded title and a full folded title it was cut from (``MIN_SEED_FRAGMENT`` at least)."""
    if len(fragment) < MIN_SEED_FRAGMENT or fragment == title_key:
        return False
    if cut == "end":
        return title_key.startswith(fragment)
    return fragment in title_key
