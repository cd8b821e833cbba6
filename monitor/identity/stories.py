"""DESIGN rule 4: which story a new item joins, decided over its ranked candidates.

An item joins the story of the best match within ``STORY_WINDOW_DAYS`` (same title before a cut-short title before a
near-duplicate, then the higher score, then the nearer day: ``Candidate.rank``); with none it founds a story. A
candidate that is another day's issue of the same site's recurring title (``pages.recurring``) is passed over.
Stories are never re-clustered: a story that two later items could bridge stays two stories (rare within three
days).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.core import outlets
from monitor.core.model import Item
from monitor.identity.candidates import Candidate
from monitor.identity.rules import one_site_two_days

STORY_WINDOW_DAYS = 3      # an item joins a story only if their days are at most this far apart


def story_to_join(item: Item, candidates: Sequence[Candidate], day: int) -> Candidate | None:
    """The candidate whose story an item of ``day`` joins (``candidates`` best first), or None: a new story."""
    for candidate in candidates:
        if candidate.match is None:
            break
        if another_issue(item, candidate):
            continue
        if candidate.row["story_id"] is not None and abs(candidate.day - day) <= STORY_WINDOW_DAYS:
            return candidate
    return None


def another_issue(item: Item, candidate: Candidate) -> bool:
    """A candidate with the item's headline (or its cut-short form) that is the same outlet's recurring title on
    another day: another issue of a column, so neither the same item nor the same story."""
    match, row = candidate.match, candidate.row
    return match is not None and match.rule in ("title", "truncated") and outlets.publishers_compatible(
        row["publisher"], item.publisher) and one_site_two_days(row, item)
